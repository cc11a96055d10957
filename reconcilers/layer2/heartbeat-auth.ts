// Sealing and opening the announcers' UDP heartbeats: who may say "node X is alive" or "node X is
// leaving". Pure functions over bytes, keys and a small replay state; the socket stays in
// peer-heartbeats.ts. The key is MetalLB's: Secret `memberlist`, data key `secretkey`, in
// `metallb-system` (an install that already has MetalLB's Secret keeps it).
//
// Datagram (version 1), all integers big-endian:
//   0   4  magic "l2hb"
//   4   1  version (1)
//   5   1  kind: 1 alive, 2 goodbye, 3 joining (started, listening, not yet answering)
//   6   8  incarnation: random per process, so a restarted peer's counter starting over is no replay
//   14  8  counter: per incarnation, +1 per datagram
//   22  8  timestamp: the sender's wall clock, ms since the epoch
//   30  1  length n of the node name (1..253)
//   31  n  node name (a DNS subdomain, as Kubernetes node names are)
//   31+n 32 HMAC-SHA256 over bytes [0, 31+n) under a key derived from `secretkey`
//
// Replay: a receiver keeps, per sender, the incarnation, the highest counter and a 64-counter window
// (IPsec's anti-replay window, RFC 4303 §3.4.3), so reordered datagrams within the window pass once and
// anything older or repeated is dropped. The timestamp bounds what the counter cannot: a receiver that
// restarted (no state) or a replay of an earlier incarnation. A datagram more than `windowMs` from our
// clock is stale, and a new incarnation must be newer than everything seen from the old one. Node clocks
// must agree within the window (NTP); with worse skew heartbeats are dropped as 'stale' and liveness
// falls back to the heartbeat Leases: slower failover, never an unauthenticated one.
//
// Rotation without failover: a receiver accepts the new key as soon as it sees it, and the previous one
// for KEY_GRACE_MS; a sender keeps sealing with the previous key for KEY_ADOPT_DELAY_MS, by which time
// every announcer's watch has delivered the new Secret. So no datagram is sealed with a key its
// receiver does not know yet.

import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';

export const HEARTBEAT_MAGIC = 'l2hb';
const VERSION = 1;
const HEADER_BYTES = 31;
const MAC_BYTES = 32;
const MAX_NODE_NAME = 253;
/** The largest valid datagram: header, a 253-byte node name, the MAC. */
export const HEARTBEAT_MAX_BYTES = HEADER_BYTES + MAX_NODE_NAME + MAC_BYTES;
/** The secret's name, namespace and data key, as MetalLB's install creates them. */
export const MEMBERLIST_SECRET = { namespace: 'metallb-system', name: 'memberlist', key: 'secretkey' } as const;
/** How far a timestamp may be from the receiver's clock. */
export const REPLAY_WINDOW_MS = 10_000;
/** Counters this far below the highest seen are still accepted once (reordering on the path). */
export const COUNTER_WINDOW = 64;
/** How long the previous key is accepted after the receiver saw a new one. */
export const KEY_GRACE_MS = 60_000;
/** How long a sender keeps sealing with the previous key after seeing a new one. */
export const KEY_ADOPT_DELAY_MS = 5_000;

export type HeartbeatKind = 'alive' | 'goodbye' | 'joining';
const kindCodes: Readonly<Record<HeartbeatKind, number>> = { alive: 1, goodbye: 2, joining: 3 };

export interface HeartbeatMessage {
  readonly node: string;
  readonly kind: HeartbeatKind;
  /** 16 hex digits, random per process. */
  readonly incarnation: string;
  readonly counter: number;
  /** The sender's clock, ms since the epoch. */
  readonly timestamp: number;
}

/** Why a datagram was dropped: a fixed set, one drop counter each. */
export const DROP_REASONS = [
  'oversized', // longer than any valid heartbeat
  'malformed', // not a version-1 heartbeat: truncated, bad magic or fields, garbage
  'unauthenticated', // a heartbeat without a MAC (or the plain JSON of l2lb before version 1)
  'bad-mac', // the MAC matches no key we accept: forged, corrupted or sealed with another key
  'expired-key', // sealed with the previous key after its grace period
  'no-key', // we have no key (Secret unreadable): nothing can be verified
  'stale', // timestamp outside the window around our clock
  'replay', // a counter or incarnation already seen
  'unknown-node', // the sender is not a node we know an InternalIP for
  'spoofed-source', // sent from an address that is not the sender node's InternalIP
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type OpenResult = { readonly ok: true; readonly message: HeartbeatMessage } | { readonly ok: false; readonly reason: DropReason };

export interface HeartbeatKey {
  /** The HMAC key, derived from the Secret's value. */
  readonly mac: Buffer;
  /** A short, non-secret name for logs and for telling keys apart. */
  readonly fingerprint: string;
}

/** The HMAC key for a `secretkey` value (its bytes as the Secret holds them); undefined when empty.
 *  HKDF separates it from any other use of the same secret (MetalLB's memberlist encryption). */
export function heartbeatKey(secret: Uint8Array): HeartbeatKey | undefined {
  if (secret.length === 0) return undefined;
  const mac = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'l2lb heartbeat v1', 32));
  return { mac, fingerprint: createHash('sha256').update(mac).digest('hex').slice(0, 12) };
}

/** The keys an announcer holds: the newest, and the one before it since `rotatedAt` (ms). */
export interface HeartbeatKeyring {
  readonly current: HeartbeatKey;
  readonly previous?: HeartbeatKey;
  readonly rotatedAt?: number;
}

/** The keyring after seeing `key` at `now`: unchanged when it is the current key. */
export function rotateKeyring(ring: HeartbeatKeyring | undefined, key: HeartbeatKey, now: number): HeartbeatKeyring {
  if (ring === undefined) return { current: key };
  if (ring.current.fingerprint === key.fingerprint) return ring;
  return { current: key, previous: ring.current, rotatedAt: now };
}

/** The key to seal with at `now`: the previous one until every peer has had time to see the new one. */
export function sealingKey(ring: HeartbeatKeyring, now: number): HeartbeatKey {
  const { previous, rotatedAt } = ring;
  return previous !== undefined && rotatedAt !== undefined && now - rotatedAt < KEY_ADOPT_DELAY_MS ? previous : ring.current;
}

/** Numbers a process's heartbeats. One per process: its incarnation is what tells a restart from a replay. */
export interface HeartbeatSender {
  readonly node: string;
  readonly incarnation: string;
  next(kind: HeartbeatKind, now: number): HeartbeatMessage;
}

export function createSender(node: string, incarnation: string = randomBytes(8).toString('hex')): HeartbeatSender {
  let counter = 0;
  return { node, incarnation, next: (kind, now) => ({ node, kind, incarnation, counter: ++counter, timestamp: now }) };
}

const nodeNamePattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The datagram for `message`, sealed with `key`. Throws on a message no receiver would accept (a bug). */
export function sealHeartbeat(message: HeartbeatMessage, key: HeartbeatKey): Buffer {
  const name = Buffer.from(message.node, 'utf8');
  if (name.length === 0 || name.length > MAX_NODE_NAME || !nodeNamePattern.test(message.node)) {
    throw new Error(`heartbeat: invalid node name ${JSON.stringify(message.node)}`);
  }
  if (!/^[0-9a-f]{16}$/.test(message.incarnation)) throw new Error('heartbeat: incarnation must be 16 hex digits');
  const datagram = Buffer.alloc(HEADER_BYTES + name.length + MAC_BYTES);
  datagram.write(HEARTBEAT_MAGIC, 0, 'latin1');
  datagram.writeUInt8(VERSION, 4);
  datagram.writeUInt8(kindCodes[message.kind], 5);
  datagram.write(message.incarnation, 6, 'hex');
  datagram.writeBigUInt64BE(BigInt(message.counter), 14);
  datagram.writeBigUInt64BE(BigInt(message.timestamp), 22);
  datagram.writeUInt8(name.length, 30);
  name.copy(datagram, HEADER_BYTES);
  const signed = HEADER_BYTES + name.length;
  mac(key, datagram.subarray(0, signed)).copy(datagram, signed);
  return datagram;
}

function mac(key: HeartbeatKey, bytes: Uint8Array): Buffer {
  return createHmac('sha256', key.mac).update(bytes).digest();
}

/** Per sender node: what a receiver has accepted. */
export interface SenderState {
  readonly incarnation: string;
  readonly highest: number;
  /** Bit i set: counter `highest - i` was accepted. */
  readonly seen: bigint;
  /** The newest timestamp accepted from this node, any incarnation. */
  readonly lastTimestamp: number;
}

/** The receiver's replay state, node → SenderState. `openHeartbeat` updates it on acceptance only. */
export type ReplayState = Map<string, SenderState>;

export interface OpenContext {
  /** Our keys; undefined while the Secret is unreadable. */
  readonly keys: HeartbeatKeyring | undefined;
  /** The datagram's source address, as the socket reports it. */
  readonly source: string;
  /** The InternalIP of a node, or undefined when we know no such node. */
  readonly expectedAddress: (node: string) => string | undefined;
  readonly now: number;
  readonly replay: ReplayState;
  readonly windowMs?: number;
}

/** Checks a datagram, cheapest and least trusting first: size, shape, MAC, then what the authenticated
 *  content claims (freshness, source address, replay). Never throws. */
export function openHeartbeat(datagram: Uint8Array, context: OpenContext): OpenResult {
  const bytes = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  if (bytes.length > HEARTBEAT_MAX_BYTES) return drop('oversized');
  if (bytes[0] === 0x7b /* '{' */) return drop('unauthenticated');
  if (bytes.length < HEADER_BYTES + 1 || bytes.toString('latin1', 0, 4) !== HEARTBEAT_MAGIC || bytes.readUInt8(4) !== VERSION) {
    return drop('malformed');
  }
  const nameLength = bytes.readUInt8(30);
  const signed = HEADER_BYTES + nameLength;
  if (nameLength === 0 || bytes.length < signed) return drop('malformed');
  if (bytes.length === signed) return drop('unauthenticated');
  if (bytes.length !== signed + MAC_BYTES) return drop('malformed');

  const verdict = verify(bytes.subarray(0, signed), bytes.subarray(signed), context);
  if (verdict !== undefined) return drop(verdict);

  const message = decode(bytes, nameLength);
  if (message === undefined) return drop('malformed');
  const windowMs = context.windowMs ?? REPLAY_WINDOW_MS;
  if (Math.abs(context.now - message.timestamp) > windowMs) return drop('stale');
  const expected = context.expectedAddress(message.node);
  if (expected === undefined) return drop('unknown-node');
  if (normalizeAddress(context.source) !== normalizeAddress(expected)) return drop('spoofed-source');
  const next = accept(context.replay.get(message.node), message);
  if (next === undefined) return drop('replay');
  context.replay.set(message.node, next);
  return { ok: true, message };
}

function drop(reason: DropReason): OpenResult {
  return { ok: false, reason };
}

function verify(signed: Buffer, tag: Buffer, context: OpenContext): DropReason | undefined {
  const ring = context.keys;
  if (ring === undefined) return 'no-key';
  const matches = (key: HeartbeatKey): boolean => timingSafeEqual(mac(key, signed), tag);
  if (matches(ring.current)) return undefined;
  if (ring.previous !== undefined && matches(ring.previous)) {
    const inGrace = ring.rotatedAt !== undefined && context.now - ring.rotatedAt <= KEY_GRACE_MS;
    return inGrace ? undefined : 'expired-key';
  }
  return 'bad-mac';
}

function decode(bytes: Buffer, nameLength: number): HeartbeatMessage | undefined {
  const kindCode = bytes.readUInt8(5);
  const kind: HeartbeatKind | undefined = kindCode === 1 ? 'alive' : kindCode === 2 ? 'goodbye' : kindCode === 3 ? 'joining' : undefined;
  const counter = bytes.readBigUInt64BE(14);
  const timestamp = bytes.readBigUInt64BE(22);
  const node = bytes.toString('utf8', HEADER_BYTES, HEADER_BYTES + nameLength);
  if (kind === undefined || counter === 0n || counter > BigInt(Number.MAX_SAFE_INTEGER) || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  if (!nodeNamePattern.test(node)) return undefined;
  return { node, kind, incarnation: bytes.toString('hex', 6, 14), counter: Number(counter), timestamp: Number(timestamp) };
}

/** The sender's state after accepting `message`, or undefined when it is a replay. */
export function accept(state: SenderState | undefined, message: HeartbeatMessage): SenderState | undefined {
  const fresh = { incarnation: message.incarnation, highest: message.counter, seen: 1n, lastTimestamp: message.timestamp };
  if (state === undefined) return fresh;
  if (state.incarnation !== message.incarnation) {
    // A restart: the new process's clock is past everything the old one sent. An older incarnation
    // replayed (or its last datagrams arriving late) is not.
    return message.timestamp > state.lastTimestamp ? fresh : undefined;
  }
  const lastTimestamp = Math.max(state.lastTimestamp, message.timestamp);
  if (message.counter > state.highest) {
    const shift = message.counter - state.highest;
    const seen = shift >= COUNTER_WINDOW ? 1n : ((state.seen << BigInt(shift)) | 1n) & windowMask;
    return { incarnation: state.incarnation, highest: message.counter, seen, lastTimestamp };
  }
  const behind = state.highest - message.counter;
  if (behind >= COUNTER_WINDOW) return undefined;
  const bit = 1n << BigInt(behind);
  if ((state.seen & bit) !== 0n) return undefined;
  return { ...state, seen: state.seen | bit, lastTimestamp };
}

const windowMask = (1n << BigInt(COUNTER_WINDOW)) - 1n;

/** `::ffff:192.0.2.1` (an IPv4 datagram on a dual-stack socket) and `192.0.2.1` are one address. */
function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = lower.startsWith('::ffff:') ? lower.slice(7) : lower;
  return isIPv4(mapped) ? mapped : lower;
}

/** Drop counts by reason, and when each reason was last logged: a flood of forgeries is counted in full
 *  and logged once a minute. */
export interface DropTally {
  readonly counts: Record<DropReason, number>;
  readonly loggedAt: Partial<Record<DropReason, number>>;
}

export const DROP_LOG_INTERVAL_MS = 60_000;

export function emptyDropTally(): DropTally {
  return { counts: Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as Record<DropReason, number>, loggedAt: {} };
}

/** Counts a drop; true when it should be logged now (the first of its reason in DROP_LOG_INTERVAL_MS). */
export function countDrop(tally: DropTally, reason: DropReason, now: number): boolean {
  tally.counts[reason]++;
  const last = tally.loggedAt[reason];
  if (last !== undefined && now - last < DROP_LOG_INTERVAL_MS) return false;
  tally.loggedAt[reason] = now;
  return true;
}
