// Deterministic frame generators for the fuzz tests (pure part in fuzz.test.ts, live part in
// fuzz.e2e.ts): mutations of valid ARP and NS frames, plus noise, from a seeded PRNG so a failure
// reproduces from its seed and index.
import { parseIPv4, parseIPv6, parseMac } from './addresses.js';
import { ARP_REPLY, encodeArpRequest, encodeGratuitousArp } from './arp-codec.js';
import { encodeNeighborSolicitation, encodeUnsolicitedAdvertisement } from './ndp-codec.js';

/** xorshift32: fast, seedable, good enough to pick bytes to break. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

function must<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

export interface FuzzTargets {
  readonly responderMac: Buffer;
  readonly clientMac: Buffer;
  readonly clientIp: string;
  readonly clientIp6: string;
  readonly announced: string;
  readonly announced6: string;
}

/** Valid frames a responder announcing `announced` and `announced6` would answer (or ignore), to mutate. */
export function seedFrames(targets: FuzzTargets): Buffer[] {
  const clientIp = must(parseIPv4(targets.clientIp));
  const vip = must(parseIPv4(targets.announced));
  const clientIp6 = must(parseIPv6(targets.clientIp6));
  const vip6 = must(parseIPv6(targets.announced6));
  const requestToUs = encodeArpRequest(targets.clientMac, clientIp, vip);
  targets.responderMac.copy(requestToUs, 0);
  return [
    encodeArpRequest(targets.clientMac, clientIp, vip),
    requestToUs,
    encodeArpRequest(targets.clientMac, Buffer.alloc(4), vip),
    encodeGratuitousArp(targets.clientMac, vip, ARP_REPLY),
    encodeNeighborSolicitation({ mac: targets.clientMac, source: clientIp6, target: vip6 }),
    encodeNeighborSolicitation({ mac: targets.clientMac, source: clientIp6, target: vip6, destination: vip6, destinationMac: targets.responderMac, includeSourceLinkLayer: false }),
    encodeNeighborSolicitation({ mac: targets.clientMac, source: Buffer.alloc(16), target: vip6, includeSourceLinkLayer: false }),
    encodeUnsolicitedAdvertisement(targets.clientMac, vip6),
  ];
}

/** One frame: a seed frame broken in one to four ways, or (one in eight) pure noise. */
export function fuzzFrame(random: () => number, seeds: readonly Buffer[], scratch?: { mutated: boolean }): Buffer {
  const pick = random() % 8;
  if (pick === 0) {
    const noise = Buffer.alloc(random() % 120);
    for (let i = 0; i < noise.length; i++) noise[i] = random() & 0xff;
    // Half the noise carries a plausible ethertype so it reaches the ARP and IPv6 parsers.
    if (noise.length >= 14 && (random() & 1) === 1) noise.writeUInt16BE((random() & 1) === 1 ? 0x0806 : 0x86dd, 12);
    if (scratch !== undefined) scratch.mutated = true;
    return noise;
  }
  const seed = seeds[random() % seeds.length] ?? Buffer.alloc(0);
  let frame = Buffer.from(seed);
  const edits = 1 + (random() % 4);
  for (let e = 0; e < edits; e++) {
    const kind = random() % 6;
    if (kind <= 2 && frame.length > 0) {
      // Bit flips and byte overwrites, biased towards the headers where the checks live.
      const position = random() % Math.min(frame.length, kind === 0 ? 64 : frame.length);
      frame[position] = kind === 2 ? random() & 0xff : (frame[position] ?? 0) ^ (1 << (random() % 8));
    } else if (kind === 3) {
      frame = frame.subarray(0, random() % (frame.length + 1));
    } else if (kind === 4) {
      const tail = Buffer.alloc(random() % 24);
      for (let i = 0; i < tail.length; i++) tail[i] = random() & 0xff;
      frame = Buffer.concat([frame, tail]);
    } else if (frame.length > 20) {
      // A plausible field value in a random 16-bit slot: lengths, types, ethertypes.
      const values = [0, 1, 2, 6, 4, 24, 32, 58, 135, 136, 255, 0x0800, 0x0806, 0x86dd, 0xffff];
      frame.writeUInt16BE(values[random() % values.length] ?? 0, random() % (frame.length - 1));
    }
  }
  if (scratch !== undefined) scratch.mutated = !frame.equals(seed);
  return frame;
}

export const FUZZ_DEFAULT_TARGETS: FuzzTargets = {
  responderMac: must(parseMac('02:00:00:77:00:01')),
  clientMac: must(parseMac('02:00:00:77:00:02')),
  clientIp: '192.168.77.2',
  clientIp6: 'fd00:77::2',
  announced: '192.168.77.100',
  announced6: 'fd00:77::100',
};

const BROADCAST = Buffer.alloc(6, 0xff);

/** Written apart from the codecs on purpose: two readings of RFC 826 must agree on what gets answered. */
export function isAnswerableArpRequest(frame: Buffer, mac: Buffer, announced: ReadonlySet<string>): boolean {
  if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0806) return false;
  const toUs = frame.subarray(0, 6).equals(mac) || frame.subarray(0, 6).equals(BROADCAST);
  const unicastSenders = ((frame[6] ?? 1) & 1) === 0 && ((frame[22] ?? 1) & 1) === 0;
  return toUs && unicastSenders && frame.readUInt16BE(14) === 1 && frame.readUInt16BE(16) === 0x0800 && frame[18] === 6 &&
    frame[19] === 4 && frame.readUInt16BE(20) === 1 && announced.has([...frame.subarray(38, 42)].join('.'));
}

function simpleSum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += i % 2 === 0 ? (bytes[i] ?? 0) << 8 : (bytes[i] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Written apart from the codecs on purpose: the RFC 4861 §7.1.1 checks and our destination rule. */
export function isAnswerableSolicitation(frame: Buffer, announced6: Buffer): boolean {
  if (frame.length < 14 + 40 + 24 || frame.readUInt16BE(12) !== 0x86dd || (frame[14] ?? 0) >> 4 !== 6) return false;
  if (((frame[6] ?? 1) & 1) === 1) return false;
  const length = frame.readUInt16BE(18);
  if (frame[20] !== 58 || frame[21] !== 255 || length < 24 || 54 + length > frame.length) return false;
  const source = frame.subarray(22, 38);
  const destination = frame.subarray(38, 54);
  const message = frame.subarray(54, 54 + length);
  if (message[0] !== 135 || message[1] !== 0 || !message.subarray(8, 24).equals(announced6)) return false;
  const pseudo = Buffer.alloc(40);
  frame.copy(pseudo, 0, 22, 54);
  pseudo.writeUInt32BE(length, 32);
  pseudo[39] = 58;
  if (simpleSum(Buffer.concat([pseudo, message])) !== 0xffff) return false;
  const options: number[] = [];
  for (let offset = 24; offset < message.length; ) {
    const units = message[offset + 1] ?? 0;
    if (offset + 2 > message.length || units === 0 || offset + units * 8 > message.length) return false;
    if (message[offset] === 1 && units !== 1) return false;
    options.push(message[offset] ?? 0);
    offset += units * 8;
  }
  const group = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  announced6.copy(group, 13, 13, 16);
  if (source.every((byte) => byte === 0) && (!destination.equals(group) || options.includes(1))) return false;
  return destination.equals(group) || destination.equals(announced6);
}
