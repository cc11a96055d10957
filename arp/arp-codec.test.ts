import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BROADCAST_MAC, formatIPv4, parseIPv4, parseMac } from './addresses.js';
import { ARP_REPLY, ARP_REQUEST, encodeArp, encodeArpReply, encodeArpRequest, encodeGratuitousArp, parseArpFrame } from './arp-codec.js';
import { CLIENT_MAC, KERNEL_MAC, arpingRequest, kernelArpReply } from './captured-frames.js';

function mac(text: string): Buffer {
  const result = parseMac(text);
  assert.ok(result.ok);
  return result.value;
}
function ipv4(text: string): Buffer {
  const result = parseIPv4(text);
  assert.ok(result.ok);
  return result.value;
}

describe('ARP codec against captured frames', () => {
  it('parses arping\'s request', () => {
    const result = parseArpFrame(arpingRequest);
    assert.ok(result.ok);
    assert.equal(result.value.arp.operation, ARP_REQUEST);
    assert.equal(formatIPv4(result.value.arp.targetIp), '192.168.77.1');
    assert.equal(formatIPv4(result.value.arp.senderIp), '192.168.77.2');
  });
  it('answers it with exactly the bytes the kernel sends', () => {
    const request = parseArpFrame(arpingRequest);
    assert.ok(request.ok);
    assert.deepEqual(encodeArpReply(mac(KERNEL_MAC), ipv4('192.168.77.1'), request.value.arp), kernelArpReply);
  });
  it('builds a request identical to arping\'s apart from the target MAC arping fills with broadcast', () => {
    const ours = encodeArpRequest(mac(CLIENT_MAC), ipv4('192.168.77.2'), ipv4('192.168.77.1'));
    const theirs = Buffer.from(arpingRequest);
    BROADCAST_MAC.copy(ours, 32);
    assert.deepEqual(ours, theirs);
  });
});

describe('ARP codec round-trips', () => {
  const cases = [
    { name: 'request', operation: ARP_REQUEST },
    { name: 'reply', operation: ARP_REPLY },
  ] as const;
  for (const { name, operation } of cases) {
    it(`a ${name} encodes and parses back to the same fields`, () => {
      const packet = { operation, senderMac: mac('02:00:00:00:00:01'), senderIp: ipv4('10.0.0.1'), targetMac: mac('02:00:00:00:00:02'), targetIp: ipv4('10.0.0.2') };
      const frame = Buffer.concat([Buffer.alloc(14), encodeArp(packet)]);
      frame.writeUInt16BE(0x0806, 12);
      const result = parseArpFrame(frame);
      assert.ok(result.ok);
      assert.deepEqual(result.value.arp, packet);
    });
  }
  it('gratuitous request and reply both say the address is at our MAC, to broadcast', () => {
    for (const operation of [ARP_REQUEST, ARP_REPLY] as const) {
      const result = parseArpFrame(encodeGratuitousArp(mac(KERNEL_MAC), ipv4('192.168.77.100'), operation));
      assert.ok(result.ok);
      assert.deepEqual(result.value.ethernet.destination, BROADCAST_MAC);
      assert.equal(result.value.arp.operation, operation);
      assert.deepEqual(result.value.arp.senderIp, result.value.arp.targetIp);
      assert.deepEqual(result.value.arp.senderMac, mac(KERNEL_MAC));
    }
  });
  it('accepts Ethernet padding after the packet (60-byte minimum frames)', () => {
    assert.ok(parseArpFrame(Buffer.concat([arpingRequest, Buffer.alloc(18)])).ok);
  });
});

describe('ARP parser rejects malformed frames with a reason', () => {
  const mutate = (edit: (frame: Buffer) => Buffer): Buffer => edit(Buffer.from(arpingRequest));
  const cases: [string, Buffer, RegExp][] = [
    ['empty frame', Buffer.alloc(0), /shorter than a header/],
    ['13 bytes', arpingRequest.subarray(0, 13), /shorter than a header/],
    ['header only', arpingRequest.subarray(0, 14), /shorter than a packet/],
    ['truncated packet', arpingRequest.subarray(0, 41), /shorter than a packet/],
    ['IPv6 ethertype', mutate((f) => { f.writeUInt16BE(0x86dd, 12); return f; }), /not ARP/],
    ['802.1Q tag', mutate((f) => { f.writeUInt16BE(0x8100, 12); return f; }), /802.1Q/],
    ['hardware type 6 (IEEE 802)', mutate((f) => { f.writeUInt16BE(6, 14); return f; }), /hardware type 6/],
    ['protocol type IPv6', mutate((f) => { f.writeUInt16BE(0x86dd, 16); return f; }), /protocol type/],
    ['hardware length 8', mutate((f) => { f[18] = 8; return f; }), /address lengths/],
    ['protocol length 16', mutate((f) => { f[19] = 16; return f; }), /address lengths/],
    ['operation 0', mutate((f) => { f.writeUInt16BE(0, 20); return f; }), /operation 0/],
    ['operation 3 (RARP request)', mutate((f) => { f.writeUInt16BE(3, 20); return f; }), /operation 3/],
  ];
  for (const [name, frame, reason] of cases) {
    it(`rejects ${name}`, () => {
      const result = parseArpFrame(frame);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }
});
