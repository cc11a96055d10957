import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_NODES, formatIPv6, parseIPv6, parseMac, solicitedNodeAddress } from './addresses.js';
import { icmpv6Checksum, icmpv6ChecksumValid, internetChecksum } from './checksum.js';
import {
  encodeNeighborSolicitation, encodeSolicitedAdvertisement, encodeUnsolicitedAdvertisement, parseNdpOptions,
  parseNeighborAdvertisement, parseNeighborSolicitation,
} from './ndp-codec.js';
import { CLIENT_MAC, KERNEL_MAC, kernelAdvertisement, ndisc6Solicitation } from './captured-frames.js';

function mac(text: string): Buffer {
  const result = parseMac(text);
  assert.ok(result.ok);
  return result.value;
}
function ipv6(text: string): Buffer {
  const result = parseIPv6(text);
  assert.ok(result.ok);
  return result.value;
}

describe('checksums', () => {
  it('computes the RFC 1071 example sum (0x00 0x01 0xf2 0x03 0xf4 0xf5 0xf6 0xf7 → ~0xddf2)', () => {
    assert.equal(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex')), ~0xddf2 & 0xffff);
  });
  it('gives the same sum however the bytes are split, odd splits included', () => {
    const bytes = Buffer.from('0001f203f4f5f6f7ab', 'hex');
    assert.equal(internetChecksum(bytes.subarray(0, 3), bytes.subarray(3, 4), bytes.subarray(4)), internetChecksum(bytes));
  });
  it('reproduces the checksum ndisc6 wrote (0x7c32) and the kernel wrote (0x1ac0)', () => {
    for (const [frame, expected] of [[ndisc6Solicitation, 0x7c32], [kernelAdvertisement, 0x1ac0]] as const) {
      const message = Buffer.from(frame.subarray(54));
      message.writeUInt16BE(0, 2);
      assert.equal(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message), expected);
      assert.ok(icmpv6ChecksumValid(frame.subarray(22, 38), frame.subarray(38, 54), frame.subarray(54)));
    }
  });
  it('covers the pseudo-header: the same message to another destination fails', () => {
    assert.equal(icmpv6ChecksumValid(ndisc6Solicitation.subarray(22, 38), ALL_NODES, ndisc6Solicitation.subarray(54)), false);
  });
});

describe('NDP codec against captured frames', () => {
  it('parses ndisc6\'s solicitation with its source link-layer option', () => {
    const result = parseNeighborSolicitation(ndisc6Solicitation);
    assert.ok(result.ok, !result.ok ? result.reason : '');
    assert.equal(formatIPv6(result.value.target), 'fd00:77::1');
    assert.deepEqual(result.value.sourceLinkLayer, mac(CLIENT_MAC));
  });
  it('answers it with exactly the bytes the kernel sends (S and O set, target link-layer option)', () => {
    const solicitation = parseNeighborSolicitation(ndisc6Solicitation);
    assert.ok(solicitation.ok);
    assert.deepEqual(encodeSolicitedAdvertisement(mac(KERNEL_MAC), solicitation.value), kernelAdvertisement);
  });
  it('builds ndisc6\'s solicitation byte for byte, apart from the flow label', () => {
    const ours = encodeNeighborSolicitation({ mac: mac(CLIENT_MAC), source: ipv6('fd00:77::2'), target: ipv6('fd00:77::1') });
    const theirs = Buffer.from(ndisc6Solicitation);
    theirs.fill(0, 15, 18);
    theirs[15] = 0x00;
    ours[14] = theirs[14] = 0x60;
    assert.deepEqual(ours, theirs);
  });
  it('parses the kernel\'s advertisement', () => {
    const result = parseNeighborAdvertisement(kernelAdvertisement);
    assert.ok(result.ok, !result.ok ? result.reason : '');
    assert.deepEqual([result.value.router, result.value.solicited, result.value.override], [false, true, true]);
    assert.deepEqual(result.value.targetLinkLayer, mac(KERNEL_MAC));
  });
});

describe('NDP codec round-trips', () => {
  it('an unsolicited advertisement goes to all nodes with Override set and Solicited clear', () => {
    const result = parseNeighborAdvertisement(encodeUnsolicitedAdvertisement(mac(KERNEL_MAC), ipv6('fd00:77::100')));
    assert.ok(result.ok, !result.ok ? result.reason : '');
    assert.deepEqual(result.value.ip.destination, ALL_NODES);
    assert.equal(result.value.ethernet.destination.toString('hex'), '333300000001');
    assert.deepEqual([result.value.solicited, result.value.override, result.value.ip.hopLimit], [false, true, 255]);
    assert.deepEqual(result.value.targetLinkLayer, mac(KERNEL_MAC));
  });
  it('a duplicate address detection probe is answered to all nodes, Solicited clear (RFC 4861 §7.2.4)', () => {
    const probe = parseNeighborSolicitation(encodeNeighborSolicitation({ mac: mac(CLIENT_MAC), source: Buffer.alloc(16), target: ipv6('fd00:77::100'), includeSourceLinkLayer: false }));
    assert.ok(probe.ok, !probe.ok ? probe.reason : '');
    const answer = parseNeighborAdvertisement(encodeSolicitedAdvertisement(mac(KERNEL_MAC), probe.value));
    assert.ok(answer.ok, !answer.ok ? answer.reason : '');
    assert.deepEqual(answer.value.ip.destination, ALL_NODES);
    assert.equal(answer.value.solicited, false);
  });
  it('a unicast solicitation without a link-layer option is answered to its Ethernet source', () => {
    const target = ipv6('fd00:77::100');
    const ns = parseNeighborSolicitation(encodeNeighborSolicitation({ mac: mac(CLIENT_MAC), source: ipv6('fd00:77::2'), target, destination: target, destinationMac: mac(KERNEL_MAC), includeSourceLinkLayer: false }));
    assert.ok(ns.ok, !ns.ok ? ns.reason : '');
    const answer = parseNeighborAdvertisement(encodeSolicitedAdvertisement(mac(KERNEL_MAC), ns.value));
    assert.ok(answer.ok);
    assert.deepEqual(answer.value.ethernet.destination, mac(CLIENT_MAC));
  });
  it('options: two options parse in order; trailing bytes past the IPv6 payload length are padding', () => {
    const options = parseNdpOptions(Buffer.from('0101020000770002' + '0e01000000000000', 'hex'));
    assert.ok(options.ok);
    assert.deepEqual(options.value.map((option) => option.type), [1, 14]);
    assert.ok(parseNeighborSolicitation(Buffer.concat([ndisc6Solicitation, Buffer.alloc(10, 0xee)])).ok);
  });
});

/** Rebuilds the checksum after an edit, so each case fails for its own reason and not the checksum. */
function edited(edit: (frame: Buffer) => void, fixChecksum = true, extraBytes = 0): Buffer {
  const frame = Buffer.concat([ndisc6Solicitation, Buffer.alloc(extraBytes)]);
  edit(frame);
  if (fixChecksum) {
    const length = frame.readUInt16BE(18);
    const message = Buffer.from(frame.subarray(54, 54 + length));
    if (message.length >= 4) {
      message.writeUInt16BE(0, 2);
      frame.writeUInt16BE(icmpv6Checksum(frame.subarray(22, 38), frame.subarray(38, 54), message), 56);
    }
  }
  return frame;
}
function withLength(frame: Buffer, length: number): Buffer {
  frame.writeUInt16BE(length, 18);
  return frame;
}

describe('NS parser rejects what RFC 4861 §7.1.1 says to discard, with a reason', () => {
  const dadProbe = (options: { slla?: boolean; destination?: Buffer }): Buffer => encodeNeighborSolicitation({
    mac: mac(CLIENT_MAC), source: Buffer.alloc(16), target: ipv6('fd00:77::1'), includeSourceLinkLayer: options.slla ?? false,
    ...(options.destination !== undefined ? { destination: options.destination } : {}),
  });
  const cases: [string, Buffer, RegExp][] = [
    ['an empty frame', Buffer.alloc(0), /shorter than a header/],
    ['an ARP frame', edited((f) => f.writeUInt16BE(0x0806, 12), false), /not IPv6/],
    ['a truncated IPv6 header', ndisc6Solicitation.subarray(0, 50), /shorter than a header/],
    ['IP version 4 in an IPv6 frame', edited((f) => { f[14] = 0x45; }), /version 4/],
    ['a payload length past the frame', edited((f) => f.writeUInt16BE(200, 18), false), /runs past/],
    ['next header UDP', edited((f) => { f[20] = 17; }), /next header 17/],
    ['a hop-by-hop extension header', edited((f) => { f[20] = 0; }), /next header 0/],
    ['ICMPv6 echo request', edited((f) => { f[54] = 128; }), /type 128/],
    ['a neighbor advertisement', edited((f) => { f[54] = 136; }), /type 136/],
    ['hop limit 64 (forwarded or off-link)', edited((f) => { f[21] = 64; }), /hop limit 64/],
    ['hop limit 254', edited((f) => { f[21] = 254; }), /hop limit 254/],
    ['code 1', edited((f) => { f[55] = 1; }), /code 1/],
    ['a 20-byte message', edited((f) => withLength(f, 20)), /length 20 is under 24/],
    ['a 3-byte message', edited((f) => withLength(f, 3), false), /ICMPv6 message of 3 bytes/],
    ['a wrong checksum', edited((f) => f.writeUInt8(f.readUInt8(56) ^ 0xff, 56), false), /checksum/],
    ['a multicast target', edited((f) => { f[62] = 0xff; }), /target is a multicast/],
    ['an option of length 0', edited((f) => { f[79] = 0; }), /has length 0/],
    ['an option running past the message', edited((f) => { f[79] = 2; }), /runs past/],
    ['a truncated option', edited((f) => withLength(f, 33), true, 1), /truncated/],
    ['unspecified source to a unicast address', dadProbe({ destination: ipv6('fd00:77::1') }), /not the solicited-node group/],
    ['unspecified source to all nodes', dadProbe({ destination: ALL_NODES }), /not the solicited-node group/],
    ['unspecified source with a source link-layer option', dadProbe({ slla: true, destination: solicitedNodeAddress(ipv6('fd00:77::1')) }), /unspecified source with a source link-layer/],
    ['an 802.1Q-tagged frame', edited((f) => f.writeUInt16BE(0x8100, 12), false), /802.1Q/],
  ];
  for (const [name, frame, reason] of cases) {
    it(`rejects ${name}`, () => {
      const result = parseNeighborSolicitation(frame);
      assert.equal(result.ok, false, `accepted ${frame.toString('hex')}`);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }
  it('rejects a source link-layer option of 16 bytes (Ethernet\'s is exactly 8)', () => {
    const frame = edited((f) => { f[79] = 2; withLength(f, 40); }, true, 8);
    const result = parseNeighborSolicitation(frame);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /not 8/);
  });
});
