import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handoverStep, MIN_INTERVAL_MS, planDelayMs } from './announcer.js';

describe('planDelayMs', () => {
  const cases: ReadonlyArray<[string, Parameters<typeof planDelayMs>[0], number]> = [
    ['a cheap last plan: the minimum interval', { lastStartMs: 1_000, lastPlanMs: 5, nowMs: 1_010, failover: false }, MIN_INTERVAL_MS - 10],
    ['a storm after a 1.5 s plan: spaced by three of them', { lastStartMs: 1_000, lastPlanMs: 1_500, nowMs: 2_500, failover: false }, 3_000],
    ['a failover after a 1.5 s plan: only the minimum interval', { lastStartMs: 1_000, lastPlanMs: 1_500, nowMs: 2_500, failover: true }, 0],
    ['a failover right after a plan began: the minimum interval still holds', { lastStartMs: 1_000, lastPlanMs: 1_500, nowMs: 1_020, failover: true }, MIN_INTERVAL_MS - 20],
    ['long after the last plan: at once', { lastStartMs: 1_000, lastPlanMs: 1_500, nowMs: 60_000, failover: false }, 0],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.equal(planDelayMs(input), expected));
});

describe('handoverStep: an address the plan gave to another node', () => {
  const base = { self: 'lab-node-1', nowMs: 10_000, lingerMs: 500 };
  const cases: ReadonlyArray<[string, Parameters<typeof handoverStep>[0], ReturnType<typeof handoverStep>]> = [
    ['to a live peer, just now: still answered for the linger', { ...base, newOwner: 'lab-node-2', since: undefined }, { withdraw: false, untilMs: 10_500 }],
    ['to a live peer, 200 ms ago: still answered until the linger ends', { ...base, newOwner: 'lab-node-2', since: 9_800 }, { withdraw: false, untilMs: 10_300 }],
    ['to a live peer, the linger over: withdrawn', { ...base, newOwner: 'lab-node-2', since: 9_500 }, { withdraw: true }],
    ['to nobody (the Service gone, no eligible node): withdrawn at once', { ...base, newOwner: undefined, since: undefined }, { withdraw: true }],
    ['still ours by election but not announced (no interface): withdrawn at once', { ...base, newOwner: 'lab-node-1', since: undefined }, { withdraw: true }],
    ['no linger (nothing answers here any more, or turned off): withdrawn at once', { ...base, newOwner: 'lab-node-2', since: undefined, lingerMs: 0 }, { withdraw: true }],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(handoverStep(input), expected));
});
