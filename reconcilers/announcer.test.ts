import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_INTERVAL_MS, planDelayMs } from './announcer.js';

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
