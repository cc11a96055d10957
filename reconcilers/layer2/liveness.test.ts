import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultLivenessTimings, firstPlanWaitMs, leaseRenewalSeen, listenedForMs, peerLiveness, type PeerLiveness, type PeerObservation } from './liveness.js';

// Our clock is at 100 s; the UDP deadline is the default 500 ms; Leases hold 6 s.
const NOW = 100_000;
const LEASE = 6_000;
const alive = (via: 'udp' | 'lease' | 'not yet heard' | 'joining'): PeerLiveness => ({ alive: true, via });
const dead = (reason: string): PeerLiveness => ({ alive: false, reason });
const GOODBYE = 'its announcer stopped (said goodbye)';
const NO_HEARTBEAT = 'no heartbeat: no UDP heard and no fresh Lease';

describe('peerLiveness', () => {
  const cases: ReadonlyArray<[string, PeerObservation, PeerLiveness]> = [
    ['heard 100 ms ago: alive via UDP', { lastHeardMs: NOW - 100 }, alive('udp')],
    ['heard exactly at the deadline: still alive via UDP', { lastHeardMs: NOW - 500 }, alive('udp')],
    ['heard just now, and the Lease is stale: UDP is enough', { lastHeardMs: NOW, leaseSeenMs: NOW - 60_000, leaseDurationMs: LEASE }, alive('udp')],
    ['heard, then silent past the deadline and no Lease: dead, saying how long', { lastHeardMs: NOW - 501 }, dead('no UDP heartbeat for 501 ms')],
    ['heard, then silent for 3 s: dead with the silence in the reason', { lastHeardMs: NOW - 3_000 }, dead('no UDP heartbeat for 3000 ms')],
    ['never heard and no Lease seen: dead', {}, dead(NO_HEARTBEAT)],
    ['never heard, Lease renewed 1 s ago: alive via the Lease (UDP blocked or just started)',
      { leaseSeenMs: NOW - 1_000, leaseDurationMs: LEASE }, alive('lease')],
    ['never heard, Lease renewed exactly one duration ago: still alive via the Lease',
      { leaseSeenMs: NOW - LEASE, leaseDurationMs: LEASE }, alive('lease')],
    ['never heard, Lease stale: dead', { leaseSeenMs: NOW - LEASE - 1, leaseDurationMs: LEASE }, dead(NO_HEARTBEAT)],
    ['never heard, Lease seen but without a duration: not fresh, dead', { leaseSeenMs: NOW - 1 }, dead(NO_HEARTBEAT)],
    ['goodbye after the last heartbeat: dead at once, even within the UDP deadline',
      { lastHeardMs: NOW - 50, goodbyeMs: NOW - 10 }, dead(GOODBYE)],
    ['goodbye with a fresh Lease: dead at once, the Lease does not keep it alive',
      { lastHeardMs: NOW - 50, goodbyeMs: NOW - 10, leaseSeenMs: NOW - 5, leaseDurationMs: LEASE }, dead(GOODBYE)],
    ['goodbye never preceded by a heartbeat: dead', { goodbyeMs: NOW - 10, leaseSeenMs: NOW - 5, leaseDurationMs: LEASE }, dead(GOODBYE)],
    ['a heartbeat after the goodbye revives it (restarted announcer)', { lastHeardMs: NOW - 20, goodbyeMs: NOW - 200 }, alive('udp')],
    ['a heartbeat in the same millisecond as the goodbye does not revive it', { lastHeardMs: NOW - 20, goodbyeMs: NOW - 20 }, dead(GOODBYE)],
    ['revived by a heartbeat, then silent past the deadline: dead from silence, not goodbye',
      { lastHeardMs: NOW - 900, goodbyeMs: NOW - 1_000 }, dead('no UDP heartbeat for 900 ms')],
    ['partition: UDP silent 2 s, Lease seen renewed after the silence began: alive via the Lease',
      { lastHeardMs: NOW - 2_000, leaseSeenMs: NOW - 1_000, leaseDurationMs: LEASE }, alive('lease')],
    ['crash: UDP silent 2 s, Lease last seen before the silence: dead',
      { lastHeardMs: NOW - 2_000, leaseSeenMs: NOW - 2_500, leaseDurationMs: LEASE }, dead('no UDP heartbeat for 2000 ms')],
    ['crash: Lease seen within the UDP deadline after the last heartbeat does not prove it renewed since',
      { lastHeardMs: NOW - 2_000, leaseSeenMs: NOW - 2_000 + 500, leaseDurationMs: LEASE }, dead('no UDP heartbeat for 2000 ms')],
    ['our own receiving side stalled for 2 s: the silence counts only up to where it read, alive',
      { lastHeardMs: NOW - 2_100, heardUpToMs: NOW - 2_000 }, alive('udp')],
    ['our receiving side read up to 600 ms after the last heartbeat: dead, the silence measured to there',
      { lastHeardMs: NOW - 700, heardUpToMs: NOW - 100 }, dead('no UDP heartbeat for 600 ms')],
    ['a receiving side that claims to have read past now is held to now',
      { lastHeardMs: NOW - 501, heardUpToMs: NOW + 5_000 }, dead('no UDP heartbeat for 501 ms')],
    ['just started, never heard, Lease stale, no key yet: given the benefit of the doubt',
      { startedMs: NOW - 2_000, leaseSeenMs: NOW - 60_000, leaseDurationMs: LEASE }, alive('not yet heard')],
    ['just started, never heard, listening with the key for 300 ms: not yet evidence',
      { startedMs: NOW - 2_000, listeningSinceMs: NOW - 300 }, alive('not yet heard')],
    ['just started, never heard while listening with the key for 600 ms: dead',
      { startedMs: NOW - 2_000, listeningSinceMs: NOW - 600 }, dead(NO_HEARTBEAT)],
    ['listening for 600 ms by the clock, but our receiving side read only 300 ms of it: not yet evidence',
      { startedMs: NOW - 2_000, listeningSinceMs: NOW - 600, heardUpToMs: NOW - 300 }, alive('not yet heard')],
    ['the startup grace is over and the key never came: judged by the Lease alone, dead',
      { startedMs: NOW - 10_000 }, dead(NO_HEARTBEAT)],
    ['heard joining 100 ms ago, and we are joining too (starting together): alive, joining',
      { joiningHeardMs: NOW - 100, selfJoining: true }, alive('joining')],
    ['heard joining 100 ms ago, but we are a member long up: dead until it says alive (we keep its addresses)',
      { joiningHeardMs: NOW - 100, startedMs: NOW - 60_000 }, dead(NO_HEARTBEAT)],
    ['heard joining, we are in our startup grace (first plan applied) and never heard it alive: alive, joining',
      { joiningHeardMs: NOW - 100, startedMs: NOW - 2_000, listeningSinceMs: NOW - 1_500 }, alive('joining')],
    ['heard joining, we are in our startup grace but heard it alive before (it restarts): dead until it says alive',
      { lastHeardMs: NOW - 1_200, joiningHeardMs: NOW - 100, startedMs: NOW - 5_000, listeningSinceMs: NOW - 4_500 },
      dead('no UDP heartbeat for 1200 ms')],
    ['heard joining, heard alive before, but we are joining too: alive, joining',
      { lastHeardMs: NOW - 1_200, joiningHeardMs: NOW - 100, selfJoining: true }, alive('joining')],
    ['restarted after a crash (goodbye), heard joining since, we are joining too: alive, joining',
      { lastHeardMs: NOW - 5_000, goodbyeMs: NOW - 4_000, joiningHeardMs: NOW - 50, selfJoining: true }, alive('joining')],
    ['heard joining, then a goodbye: dead', { joiningHeardMs: NOW - 100, goodbyeMs: NOW - 50, selfJoining: true }, dead(GOODBYE)],
    ['heard joining 600 ms ago and nothing since: not joining any more, dead',
      { joiningHeardMs: NOW - 600, selfJoining: true }, dead(NO_HEARTBEAT)],
    ['partition that lasted too long: Lease renewed after the silence but now stale: dead',
      { lastHeardMs: NOW - 20_000, leaseSeenMs: NOW - 10_000, leaseDurationMs: LEASE }, dead('no UDP heartbeat for 20000 ms')],
  ];
  for (const [name, peer, expected] of cases) {
    it(name, () => assert.deepEqual(peerLiveness(peer, NOW), expected));
  }

  it('the default UDP deadline is 500 ms', () => assert.equal(defaultLivenessTimings.udpDeadlineMs, 500));

  it('a custom deadline is honoured', () => {
    assert.deepEqual(peerLiveness({ lastHeardMs: NOW - 800 }, NOW, { ...defaultLivenessTimings, udpDeadlineMs: 1_000 }), alive('udp'));
    assert.deepEqual(peerLiveness({ lastHeardMs: NOW - 800 }, NOW, { ...defaultLivenessTimings, udpDeadlineMs: 200 }), dead('no UDP heartbeat for 800 ms'));
  });

  it('a peer killed while heartbeating is seen dead within the deadline, and stays dead', () => {
    const lastHeardMs = NOW;
    const verdicts = [0, 250, 500, 501, 5_000].map((later) => peerLiveness({ lastHeardMs }, NOW + later).alive);
    assert.deepEqual(verdicts, [true, true, true, false, false]);
  });
});

describe('leaseRenewalSeen', () => {
  const T = Date.parse('2026-12-01T10:10:25.000Z');
  const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z'); // MicroTime: µs
  const cases: ReadonlyArray<[string, Parameters<typeof leaseRenewalSeen>[0], string, number]> = [
    ['found at our start, renewed 1.5 s ago: dated by its renewTime', undefined, iso(T - 1_500), T - 1_500],
    ['found at our start, renewed 41 s ago (its speaker crash-looping): dated 41 s ago, so stale', undefined, iso(T - 41_000), T - 41_000],
    ['found at our start, its renewTime ahead of our clock: dated now, never in our future', undefined, iso(T + 3_000), T],
    ['found at our start without a readable renewTime: dated now', undefined, '', T],
    ['the same renewal seen again: keeps the date it was first seen', { renewTime: iso(T - 9_000), seenMs: T - 8_000 }, iso(T - 9_000), T - 8_000],
    ['a renewal watched as it happens: dated now, whatever the peer\'s clock says', { renewTime: iso(T - 9_000), seenMs: T - 8_000 }, iso(T - 60_000), T],
  ];
  for (const [name, previous, renewTime, expectedSeen] of cases) {
    it(name, () => assert.equal(leaseRenewalSeen(previous, renewTime, T).seenMs, expectedSeen));
  }
});

describe('listenedForMs', () => {
  const cases: ReadonlyArray<[string, number | undefined, number | undefined, number | undefined]> = [
    ['cannot hear peers yet (no key): undefined', undefined, undefined, undefined],
    ['listening since 300 ms, read up to now: 300', NOW - 300, undefined, 300],
    ['listening since 600 ms, our receiving side read only up to 300 ms ago: 300', NOW - 600, NOW - 300, 300],
    ['a receiving side that claims to have read past now is held to now', NOW - 200, NOW + 5_000, 200],
  ];
  for (const [name, since, heardUpTo, expected] of cases) {
    it(name, () => assert.equal(listenedForMs(since, heardUpTo, NOW), expected));
  }
});

describe('firstPlanWaitMs', () => {
  const cases: ReadonlyArray<[string, number | undefined, number, number]> = [
    ['cannot hear peers (no key): plan now, by the Leases', undefined, 2, 0],
    ['listened 200 ms: the rest of the UDP deadline', 200, 0, 300],
    ['listened 200 ms with peers unheard: still the rest of the deadline', 200, 2, 300],
    ['listened the deadline, every peer heard: plan now', 500, 0, 0],
    ['listened 600 ms, a peer never heard: look again within 250 ms', 600, 1, 250],
    ['listened 1,900 ms, a peer never heard: wait out the patience', 1_900, 1, 100],
    ['listened the whole patience, a peer still unheard: plan without it', 2_000, 1, 0],
  ];
  for (const [name, listened, unheard, expected] of cases) it(name, () => assert.equal(firstPlanWaitMs(listened, unheard), expected));
});
