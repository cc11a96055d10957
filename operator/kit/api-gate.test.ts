import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiGate } from './api-gate.js';

/** A gate on a fake clock: waiting advances the clock, so the test sees every pause it would take. */
function fakeGate() {
  let clock = 0;
  const sent: number[] = [];
  const gate = new ApiGate({ initialMs: 1000, maxMs: 30_000, jitter: 0 }, () => clock, async (ms) => { clock += ms; });
  return { gate, sent, now: () => clock, request: (ok: boolean) => async () => { sent.push(clock); if (!ok) throw new Error('connection refused'); return clock; } };
}

describe('ApiGate', () => {
  it('lets requests through at once while the API answers', async () => {
    const { gate, sent, request } = fakeGate();
    for (let i = 0; i < 5; i++) await gate.pass(request(true));
    assert.deepEqual(sent, [0, 0, 0, 0, 0]);
  });

  it('after failures, writers wait out a doubling pause: 1 s, 2 s, 4 s … (at most one request a second)', async () => {
    const { gate, sent, request } = fakeGate();
    for (let i = 0; i < 5; i++) await gate.pass(request(false)).catch(() => undefined);
    assert.deepEqual(sent, [0, 1000, 3000, 7000, 15000]);
    assert.equal(gate.failing, true);
  });

  it('many writers queued behind a failing gate still go one at a time, each after the pause', async () => {
    const { gate, sent, request } = fakeGate();
    const all = Array.from({ length: 4 }, () => gate.pass(request(false)).catch(() => undefined));
    await Promise.all(all);
    assert.deepEqual(sent, [0, 1000, 3000, 7000]);
  });

  it('a success closes the pause: the next request goes at once', async () => {
    const { gate, sent, request } = fakeGate();
    await gate.pass(request(false)).catch(() => undefined);
    await gate.pass(request(true));
    await gate.pass(request(true));
    assert.deepEqual(sent, [0, 1000, 1000]);
    assert.equal(gate.failing, false);
  });

  it('the pause stops growing at 30 s', async () => {
    const { gate, sent, request } = fakeGate();
    for (let i = 0; i < 8; i++) await gate.pass(request(false)).catch(() => undefined);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
    assert.deepEqual(gaps, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});
