import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIPv4, parseIPv6, parseMac, solicitedNodeAddress } from './addresses.js';
import { ARP_REPLY, encodeArp, encodeArpRequest, encodeGratuitousArp, parseArpFrame } from './arp-codec.js';
import { ETHERTYPE_ARP, encodeEthernet } from './ethernet.js';
import { encodeNeighborSolicitation, parseNeighborAdvertisement } from './ndp-codec.js';
import type { Decision, ResponderView } from './replies.js';
import { answerArp, answerNeighborSolicitation } from './replies.js';

const bytes = <T>(result: { ok: true; value: T } | { ok: false; reason: string }): T => {
  assert.ok(result.ok);
  return result.value;
};
const ours = bytes(parseMac('02:00:00:77:00:01'));
const client = bytes(parseMac('02:00:00:77:00:02'));
const other = bytes(parseMac('02:00:00:77:00:03'));
const clientIp = bytes(parseIPv4('192.168.77.2'));
const vip = bytes(parseIPv4('192.168.77.100'));
const notAnnounced = bytes(parseIPv4('192.168.77.101'));
const clientIp6 = bytes(parseIPv6('fd00:77::2'));
const vip6 = bytes(parseIPv6('fd00:77::100'));
const view: ResponderView = { mac: ours, announced: new Set(['192.168.77.100', 'fd00:77::100']) };

function unicastTo(destination: Buffer, frame: Buffer): Buffer {
  const copy = Buffer.from(frame);
  destination.copy(copy, 0);
  return copy;
}

describe('answerArp', () => {
  const cases: [string, Buffer, Decision['kind'], RegExp?][] = [
    ['a broadcast request for an announced address is answered', encodeArpRequest(client, clientIp, vip), 'answer'],
    ['a request unicast to our MAC (cache refresh) is answered', unicastTo(ours, encodeArpRequest(client, clientIp, vip)), 'answer'],
    ['an RFC 5227 probe (sender 0.0.0.0) is answered', encodeArpRequest(client, Buffer.alloc(4), vip), 'answer'],
    ['a request for an address never announced is ignored', encodeArpRequest(client, clientIp, notAnnounced), 'ignore', /not announced/],
    ['a request unicast to another station is ignored', unicastTo(other, encodeArpRequest(client, clientIp, vip)), 'ignore', /another station/],
    ['a gratuitous reply from the previous owner is ignored', encodeGratuitousArp(other, vip, ARP_REPLY), 'ignore', /not a request/],
    ['a reply for our address is ignored', encodeEthernet(ours, client, ETHERTYPE_ARP, encodeArp({ operation: ARP_REPLY, senderMac: client, senderIp: clientIp, targetMac: ours, targetIp: vip })), 'ignore', /not a request/],
    ['a request from a multicast sender MAC is malformed', encodeArpRequest(Buffer.from('333300000001', 'hex'), clientIp, vip), 'malformed', /multicast sender/],
    ['a truncated request is malformed', encodeArpRequest(client, clientIp, vip).subarray(0, 30), 'malformed', /shorter/],
  ];
  for (const [name, frame, kind, reason] of cases) {
    it(name, () => {
      const decision = answerArp(frame, view);
      assert.equal(decision.kind, kind, JSON.stringify(decision));
      if (reason !== undefined && decision.kind !== 'answer') assert.match(decision.reason, reason);
    });
  }
  it('the answer is a unicast reply from our MAC to the requester, saying the address is at our MAC', () => {
    const decision = answerArp(encodeArpRequest(client, clientIp, vip), view);
    assert.equal(decision.kind, 'answer');
    if (decision.kind !== 'answer') return;
    const reply = bytes(parseArpFrame(decision.frame));
    assert.deepEqual([reply.ethernet.destination, reply.ethernet.source], [client, ours]);
    assert.equal(reply.arp.operation, ARP_REPLY);
    assert.deepEqual([reply.arp.senderMac, reply.arp.senderIp, reply.arp.targetMac, reply.arp.targetIp], [ours, vip, client, clientIp]);
    assert.equal(decision.ip, '192.168.77.100');
  });
});

describe('answerNeighborSolicitation', () => {
  const ns = (overrides: Partial<Parameters<typeof encodeNeighborSolicitation>[0]> = {}): Buffer =>
    encodeNeighborSolicitation({ mac: client, source: clientIp6, target: vip6, ...overrides });
  const cases: [string, Buffer, Decision['kind'], RegExp?][] = [
    ['address resolution for an announced address is answered', ns(), 'answer'],
    ['unreachability detection unicast to the address is answered', ns({ destination: vip6, destinationMac: ours }), 'answer'],
    ['duplicate address detection for an announced address is answered (to all nodes)', ns({ source: Buffer.alloc(16), includeSourceLinkLayer: false }), 'answer'],
    ['a solicitation for an address never announced is ignored', ns({ target: bytes(parseIPv6('fd00:77::101')) }), 'ignore', /not announced/],
    ['a solicitation sent to some other unicast address is ignored', ns({ destination: clientIp6 }), 'ignore', /neither the target/],
    ['a solicitation sent to another solicited-node group is ignored', ns({ destination: solicitedNodeAddress(bytes(parseIPv6('fd00:77::1:1'))) }), 'ignore', /neither the target/],
    ['hop limit 64 is malformed, never answered', ns({ hopLimit: 64 }), 'malformed', /hop limit 64/],
    ['hop limit 1 is malformed, never answered', ns({ hopLimit: 1 }), 'malformed', /hop limit 1/],
    ['an ARP request on the IPv6 socket is malformed', encodeArpRequest(client, clientIp, vip), 'malformed', /not IPv6/],
  ];
  for (const [name, frame, kind, reason] of cases) {
    it(name, () => {
      const decision = answerNeighborSolicitation(frame, view);
      assert.equal(decision.kind, kind, JSON.stringify(decision));
      if (reason !== undefined && decision.kind !== 'answer') assert.match(decision.reason, reason);
    });
  }
  it('the answer is a solicited NA from our MAC with Override and the target link-layer option', () => {
    const decision = answerNeighborSolicitation(ns(), view);
    assert.equal(decision.kind, 'answer');
    if (decision.kind !== 'answer') return;
    const na = bytes(parseNeighborAdvertisement(decision.frame));
    assert.deepEqual([na.ethernet.destination, na.ethernet.source, na.targetLinkLayer], [client, ours, ours]);
    assert.deepEqual([na.solicited, na.override, na.router, na.ip.hopLimit], [true, true, false, 255]);
    assert.deepEqual([na.ip.source, na.ip.destination, na.target], [vip6, clientIp6, vip6]);
  });
});
