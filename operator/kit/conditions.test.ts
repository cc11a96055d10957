import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conditionTime, setCondition, setConditions, type Condition } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00.250Z');
const t1 = new Date('2026-01-01T00:05:00Z');
const ready: Condition = { type: 'Ready', status: 'True', reason: 'AddressesAvailable', message: '16 of 16', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 };
const other: Condition = { type: 'ResolvedRefs', status: 'True', reason: 'PoolsResolved', message: 'ok', lastTransitionTime: '2025-12-31T00:00:00Z' };

describe('setCondition', () => {
  it('adds a missing condition with the transition time now, in whole seconds', () => {
    const next = setCondition([], { type: 'Ready', status: 'True', reason: 'AddressesAvailable', message: '16 of 16' }, t0);
    assert.deepEqual(next, [{ type: 'Ready', status: 'True', reason: 'AddressesAvailable', message: '16 of 16', lastTransitionTime: '2026-01-01T00:00:00Z' }]);
  });
  it('keeps the transition time when only the reason, message or generation change', () => {
    const next = setCondition([ready], { type: 'Ready', status: 'True', reason: 'Other', message: '15 of 16', observedGeneration: 2 }, t1);
    assert.equal(next[0]?.lastTransitionTime, ready.lastTransitionTime);
    assert.equal(next[0]?.message, '15 of 16');
    assert.equal(next[0]?.reason, 'Other');
    assert.equal(next[0]?.observedGeneration, 2);
  });
  it('moves the transition time when the status changes', () => {
    const next = setCondition([ready], { type: 'Ready', status: 'False', reason: 'Exhausted', message: 'all 16 assigned' }, t1);
    assert.equal(next[0]?.lastTransitionTime, '2026-01-01T00:05:00Z');
  });
  it('moves it again when the status changes back', () => {
    const down = setCondition([ready], { type: 'Ready', status: 'False', reason: 'Exhausted', message: 'x' }, t1);
    const up = setCondition(down, { type: 'Ready', status: 'True', reason: 'AddressesAvailable', message: 'y' }, new Date('2026-01-01T00:06:00Z'));
    assert.equal(up[0]?.lastTransitionTime, '2026-01-01T00:06:00Z');
  });
  it('leaves other conditions and their order alone', () => {
    const next = setCondition([other, ready], { type: 'Ready', status: 'False', reason: 'Overlap', message: 'x' }, t1);
    assert.deepEqual(next.map((c) => c.type), ['ResolvedRefs', 'Ready']);
    assert.deepEqual(next[0], other);
  });
  it('does not modify its input', () => {
    const existing = [ready];
    setCondition(existing, { type: 'Ready', status: 'False', reason: 'Overlap', message: 'x' }, t1);
    assert.deepEqual(existing, [ready]);
  });
  it('is idempotent: setting the same condition twice changes nothing', () => {
    const once = setConditions([], [{ type: 'Ready', status: 'True', reason: 'A', message: 'm' }], t0);
    const twice = setConditions(once, [{ type: 'Ready', status: 'True', reason: 'A', message: 'm' }], t1);
    assert.deepEqual(twice, once);
  });
  it('formats metav1.Time without milliseconds', () => assert.equal(conditionTime(t0), '2026-01-01T00:00:00Z'));
});
