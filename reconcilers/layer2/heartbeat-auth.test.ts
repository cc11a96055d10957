import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  accept, countDrop, createSender, emptyDropTally, heartbeatKey, HEARTBEAT_MAX_BYTES, KEY_ADOPT_DELAY_MS, KEY_GRACE_MS,
  openHeartbeat, REPLAY_WINDOW_MS, rotateKeyring, sealHeartbeat, sealingKey, DROP_LOG_INTERVAL_MS,
  type HeartbeatKey, type HeartbeatKeyring, type HeartbeatMessage, type OpenContext, type OpenResult, type ReplayState,
} from './heartbeat-auth.js';

function key(text: string): HeartbeatKey {
  const made = heartbeatKey(Buffer.from(text));
  if (made === undefined) throw new Error('no key');
  return made;
}

const keyA = key('secret-a');
const keyB = key('secret-b');
const NOW = 1_800_000_000_000;
const addresses: Record<string, string> = { 'lab-node-1': '192.168.1.11', 'lab-node-2': '192.168.1.12', 'fd-node': 'fd00:1::13' };

function message(overrides: Partial<HeartbeatMessage> = {}): HeartbeatMessage {
  return { node: 'lab-node-1', kind: 'alive', incarnation: '0123456789abcdef', counter: 1, timestamp: NOW, ...overrides };
}

function context(overrides: Partial<OpenContext> = {}): OpenContext {
  return {
    keys: { current: keyA },
    source: '192.168.1.11',
    expectedAddress: (node) => addresses[node],
    now: NOW,
    replay: new Map(),
    ...overrides,
  };
}

function reason(result: OpenResult): string {
  return result.ok ? 'ok' : result.reason;
}

describe('openHeartbeat: one datagram', () => {
  const sealed = sealHeartbeat(message(), keyA);
  const rows: Array<{ name: string; datagram: Buffer; context?: Partial<OpenContext>; expected: string }> = [
    { name: 'right MAC, right source: accepted', datagram: sealed, expected: 'ok' },
    { name: 'a goodbye, sealed: accepted', datagram: sealHeartbeat(message({ kind: 'goodbye' }), keyA), expected: 'ok' },
    { name: 'no MAC: unauthenticated', datagram: sealed.subarray(0, sealed.length - 32), expected: 'unauthenticated' },
    { name: "the plain JSON heartbeat of before (the issue's forgery): unauthenticated",
      datagram: Buffer.from('{"l2lb":1,"node":"lab-node-1","kind":"goodbye"}'), expected: 'unauthenticated' },
    { name: 'wrong MAC (last byte flipped): bad-mac', datagram: flip(sealed, sealed.length - 1), expected: 'bad-mac' },
    { name: 'alive turned into goodbye, MAC kept: bad-mac', datagram: withByte(sealed, 5, 2), expected: 'bad-mac' },
    { name: 'another node name, MAC kept: bad-mac', datagram: withByte(sealed, 31 + 9, '2'.charCodeAt(0)), expected: 'bad-mac' },
    { name: 'sealed with another key: bad-mac', datagram: sealHeartbeat(message(), keyB), expected: 'bad-mac' },
    { name: 'we have no key: no-key', datagram: sealed, context: { keys: undefined }, expected: 'no-key' },
    { name: 'previous key within the grace period: accepted', datagram: sealHeartbeat(message(), keyA),
      context: { keys: { current: keyB, previous: keyA, rotatedAt: NOW - KEY_GRACE_MS } }, expected: 'ok' },
    { name: 'previous key after the grace period: expired-key', datagram: sealHeartbeat(message(), keyA),
      context: { keys: { current: keyB, previous: keyA, rotatedAt: NOW - KEY_GRACE_MS - 1 } }, expected: 'expired-key' },
    { name: 'the new key while the previous is still accepted: accepted', datagram: sealHeartbeat(message(), keyB),
      context: { keys: { current: keyB, previous: keyA, rotatedAt: NOW - 1 } }, expected: 'ok' },
    { name: 'spoofed source address: spoofed-source', datagram: sealed, context: { source: '192.168.1.2' }, expected: 'spoofed-source' },
    { name: "another node's address: spoofed-source", datagram: sealed, context: { source: '192.168.1.12' }, expected: 'spoofed-source' },
    { name: 'IPv4-mapped source on a dual-stack socket: accepted', datagram: sealed, context: { source: '::ffff:192.168.1.11' }, expected: 'ok' },
    { name: 'IPv6 node, its address in another spelling: accepted', datagram: sealHeartbeat(message({ node: 'fd-node' }), keyA),
      context: { source: 'FD00:1::13' }, expected: 'ok' },
    { name: 'a node we know no address for: unknown-node', datagram: sealHeartbeat(message({ node: 'stranger' }), keyA), expected: 'unknown-node' },
    { name: 'timestamp too old: stale', datagram: sealHeartbeat(message({ timestamp: NOW - REPLAY_WINDOW_MS - 1 }), keyA), expected: 'stale' },
    { name: 'timestamp too far ahead: stale', datagram: sealHeartbeat(message({ timestamp: NOW + REPLAY_WINDOW_MS + 1 }), keyA), expected: 'stale' },
    { name: 'timestamp at the edge of the window: accepted', datagram: sealHeartbeat(message({ timestamp: NOW - REPLAY_WINDOW_MS }), keyA), expected: 'ok' },
    { name: 'truncated inside the header: malformed', datagram: sealed.subarray(0, 20), expected: 'malformed' },
    { name: 'truncated inside the name: malformed', datagram: sealed.subarray(0, 35), expected: 'malformed' },
    { name: 'truncated inside the MAC: malformed', datagram: sealed.subarray(0, sealed.length - 5), expected: 'malformed' },
    { name: 'a byte appended: malformed', datagram: Buffer.concat([sealed, Buffer.from([0])]), expected: 'malformed' },
    { name: 'empty: malformed', datagram: Buffer.alloc(0), expected: 'malformed' },
    { name: 'oversized: oversized', datagram: Buffer.alloc(HEARTBEAT_MAX_BYTES + 1, 0x61), expected: 'oversized' },
    { name: 'garbage of a plausible size: malformed', datagram: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), expected: 'malformed' },
    { name: 'another version: malformed', datagram: withByte(sealed, 4, 2), expected: 'malformed' },
    { name: 'name length 0: malformed', datagram: withByte(sealed, 30, 0), expected: 'malformed' },
  ];
  for (const row of rows) {
    it(row.name, () => assert.equal(reason(openHeartbeat(row.datagram, context(row.context))), row.expected));
  }

  it('returns the message it authenticated', () => {
    const result = openHeartbeat(sealed, context());
    assert.deepEqual(result, { ok: true, message: message() });
  });

  it('never throws and never accepts: random garbage, and every single-byte change of a valid datagram', () => {
    for (let i = 0; i < 3000; i++) {
      const garbage = randomBytes(Math.floor(Math.random() * (HEARTBEAT_MAX_BYTES + 40)));
      if (i % 2 === 0 && garbage.length >= 6) garbage.write('l2hb\x01\x01', 0, 'latin1');
      assert.equal(openHeartbeat(garbage, context()).ok, false);
    }
    for (let at = 0; at < sealed.length; at++) {
      assert.equal(openHeartbeat(flip(sealed, at), context()).ok, false, `byte ${at} flipped`);
    }
  });
});

describe('openHeartbeat: replay and reordering across datagrams', () => {
  type Step = { readonly sent: Partial<HeartbeatMessage>; readonly expected: string };
  const stories: Array<{ name: string; steps: Step[] }> = [
    { name: 'a datagram delivered twice: the second is a replay', steps: [
      { sent: { counter: 1 }, expected: 'ok' }, { sent: { counter: 1 }, expected: 'replay' }] },
    { name: 'reordered within the window: each accepted once', steps: [
      { sent: { counter: 5 }, expected: 'ok' }, { sent: { counter: 3 }, expected: 'ok' }, { sent: { counter: 4 }, expected: 'ok' },
      { sent: { counter: 3 }, expected: 'replay' }, { sent: { counter: 6 }, expected: 'ok' }, { sent: { counter: 5 }, expected: 'replay' }] },
    { name: 'older than the window: a replay', steps: [
      { sent: { counter: 100 }, expected: 'ok' }, { sent: { counter: 36 }, expected: 'replay' }, { sent: { counter: 37 }, expected: 'ok' },
      { sent: { counter: 37 }, expected: 'replay' }] },
    { name: 'a jump past the window forgets the old bits but keeps the order', steps: [
      { sent: { counter: 1 }, expected: 'ok' }, { sent: { counter: 500 }, expected: 'ok' }, { sent: { counter: 1 }, expected: 'replay' },
      { sent: { counter: 499 }, expected: 'ok' }] },
    { name: 'a restarted peer (new incarnation, later clock) counts from 1 again: accepted', steps: [
      { sent: { counter: 900, timestamp: NOW - 2000 }, expected: 'ok' },
      { sent: { incarnation: 'fedcba9876543210', counter: 1, timestamp: NOW - 1000 }, expected: 'ok' },
      { sent: { incarnation: 'fedcba9876543210', counter: 2, timestamp: NOW - 900 }, expected: 'ok' }] },
    { name: 'the old incarnation replayed after a restart: a replay', steps: [
      { sent: { counter: 900, timestamp: NOW - 2000 }, expected: 'ok' },
      { sent: { incarnation: 'fedcba9876543210', counter: 1, timestamp: NOW - 1000 }, expected: 'ok' },
      { sent: { counter: 901, timestamp: NOW - 1990 }, expected: 'replay' },
      { sent: { counter: 900, timestamp: NOW - 2000 }, expected: 'replay' }] },
    { name: 'a rejected datagram changes no state: a later valid one still passes', steps: [
      { sent: { counter: 10, timestamp: NOW - REPLAY_WINDOW_MS - 5 }, expected: 'stale' },
      { sent: { counter: 10 }, expected: 'ok' }] },
  ];
  for (const story of stories) {
    it(story.name, () => {
      const replay: ReplayState = new Map();
      const outcomes = story.steps.map((step) => reason(openHeartbeat(sealHeartbeat(message(step.sent), keyA), context({ replay }))));
      assert.deepEqual(outcomes, story.steps.map((step) => step.expected));
    });
  }

  it('senders are tracked apart: the same counter from two nodes is no replay', () => {
    const replay: ReplayState = new Map();
    const one = openHeartbeat(sealHeartbeat(message({ counter: 7 }), keyA), context({ replay }));
    const two = openHeartbeat(sealHeartbeat(message({ node: 'lab-node-2', counter: 7 }), keyA), context({ replay, source: '192.168.1.12' }));
    assert.deepEqual([reason(one), reason(two)], ['ok', 'ok']);
  });

  it('accept() is pure: it returns the next state and leaves the given one alone', () => {
    const state = { incarnation: '0123456789abcdef', highest: 3, seen: 0b101n, lastTimestamp: NOW };
    const next = accept(state, message({ counter: 4 }));
    assert.deepEqual(state, { incarnation: '0123456789abcdef', highest: 3, seen: 0b101n, lastTimestamp: NOW });
    assert.deepEqual(next, { incarnation: '0123456789abcdef', highest: 4, seen: 0b1011n, lastTimestamp: NOW });
  });
});

describe('sender and keys', () => {
  it('a sender counts up from 1 under one random incarnation', () => {
    const sender = createSender('lab-node-1');
    const first = sender.next('alive', NOW);
    const second = sender.next('goodbye', NOW + 100);
    assert.match(sender.incarnation, /^[0-9a-f]{16}$/);
    assert.deepEqual([first.counter, second.counter], [1, 2]);
    assert.notEqual(createSender('lab-node-1').incarnation, sender.incarnation);
    assert.equal(reason(openHeartbeat(sealHeartbeat(first, keyA), context({ now: NOW }))), 'ok');
  });

  it('sealing refuses what no receiver would accept', () => {
    assert.throws(() => sealHeartbeat(message({ node: '' }), keyA), /node name/);
    assert.throws(() => sealHeartbeat(message({ node: 'Bad_Name' }), keyA), /node name/);
    assert.throws(() => sealHeartbeat(message({ incarnation: 'xyz' }), keyA), /incarnation/);
  });

  it('an empty secret gives no key; equal secrets give equal keys', () => {
    assert.equal(heartbeatKey(new Uint8Array()), undefined);
    assert.equal(key('s').fingerprint, key('s').fingerprint);
    assert.notEqual(key('s').fingerprint, key('t').fingerprint);
  });

  it('rotation: receivers accept both keys at once, senders switch after the adopt delay, the old key goes after the grace', () => {
    let ring: HeartbeatKeyring = rotateKeyring(undefined, keyA, NOW);
    assert.equal(rotateKeyring(ring, key('secret-a'), NOW + 5), ring, 'the same key again changes nothing');
    ring = rotateKeyring(ring, keyB, NOW + 1000);
    assert.deepEqual(ring, { current: keyB, previous: keyA, rotatedAt: NOW + 1000 });
    assert.equal(sealingKey(ring, NOW + 1000), keyA);
    assert.equal(sealingKey(ring, NOW + 1000 + KEY_ADOPT_DELAY_MS - 1), keyA);
    assert.equal(sealingKey(ring, NOW + 1000 + KEY_ADOPT_DELAY_MS), keyB);
    const at = (now: number, sealedWith: HeartbeatKey): string =>
      reason(openHeartbeat(sealHeartbeat(message({ timestamp: now, counter: now - NOW }), sealedWith), context({ keys: ring, now })));
    assert.equal(at(NOW + 1001, keyA), 'ok');
    assert.equal(at(NOW + 1002, keyB), 'ok');
    assert.equal(at(NOW + 1000 + KEY_GRACE_MS, keyA), 'ok');
    assert.equal(at(NOW + 1001 + KEY_GRACE_MS, keyA), 'expired-key');
    assert.ok(KEY_ADOPT_DELAY_MS < KEY_GRACE_MS, 'a sender never uses a key its receivers have already dropped');
  });
});

describe('drop tally', () => {
  it('counts every drop and logs each reason at most once a minute', () => {
    const tally = emptyDropTally();
    const logged = [0, 1, 2, DROP_LOG_INTERVAL_MS - 1, DROP_LOG_INTERVAL_MS, DROP_LOG_INTERVAL_MS + 1].map((t) => countDrop(tally, 'bad-mac', NOW + t));
    assert.deepEqual(logged, [true, false, false, false, true, false]);
    assert.equal(countDrop(tally, 'replay', NOW + 1), true, 'reasons are limited apart');
    assert.equal(tally.counts['bad-mac'], 6);
    assert.equal(tally.counts.replay, 1);
    assert.equal(tally.counts.oversized, 0);
  });
});

function flip(datagram: Buffer, at: number): Buffer {
  const copy = Buffer.from(datagram);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

function withByte(datagram: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(datagram);
  copy[at] = value;
  return copy;
}
