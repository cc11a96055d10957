import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiBreaker, isUnreachable, type BreakerClock } from './api-breaker.js';

/** A clock that moves only when every sleeper up to the next wake-up has been run. */
class FakeClock implements BreakerClock {
  t = 0;
  private sleepers: Array<{ at: number; wake: () => void }> = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sleepers.push({ at: this.t + ms, wake: resolve }));
  }
  /** Advances to `to`, waking sleepers in order and letting their continuations run. */
  async advance(to: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (next === undefined || next.at > to) break;
      this.sleepers.shift();
      this.t = next.at;
      next.wake();
    }
    this.t = to;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });

describe('ApiBreaker', () => {
  it('lets every request through at once while the server answers', async () => {
    const breaker = new ApiBreaker(1_000, 30_000, new FakeClock());
    const admissions = await Promise.all(Array.from({ length: 20 }, () => breaker.admit()));
    assert.ok(admissions.every((a) => !a.probe));
    assert.equal(breaker.isOpen, false);
  });

  it('while the server is away, twenty waiting requests go out one a second, not at once', async () => {
    const clock = new FakeClock();
    const breaker = new ApiBreaker(1_000, 30_000, clock);
    breaker.failed(await breaker.admit());
    const sent: number[] = [];
    // Each admitted request is a probe that fails: the schedule must stay at one a second or slower.
    const requests = Array.from({ length: 20 }, async () => {
      const admission = await breaker.admit();
      sent.push(clock.now());
      breaker.failed(admission);
    });
    await clock.advance(30_000);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
    assert.ok(sent.length >= 3, `${sent.length} requests went out`);
    assert.ok(gaps.every((gap) => gap >= 1_000), `gaps ${gaps.join(', ')} ms`);
    assert.deepEqual(gaps.slice(0, 4), [2_000, 4_000, 8_000, 16_000].slice(0, gaps.slice(0, 4).length), 'each failed probe doubles the wait');
    assert.ok(sent.length <= 30, 'at most one a second over 30 s');
    breaker.succeeded();
    await clock.advance(30_001);
    await Promise.all(requests);
  });

  it('the wait never grows past its ceiling', async () => {
    const clock = new FakeClock();
    const breaker = new ApiBreaker(1_000, 4_000, clock);
    breaker.failed(await breaker.admit());
    const sent: number[] = [];
    const requests = Array.from({ length: 6 }, async () => {
      const admission = await breaker.admit();
      sent.push(clock.now());
      breaker.failed(admission);
    });
    await clock.advance(20_000);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
    assert.ok(gaps.every((gap) => gap <= 4_000), `gaps ${gaps.join(', ')} ms`);
    breaker.succeeded();
    await clock.advance(20_001);
    await Promise.all(requests);
  });

  it('an answer closes the breaker and releases every waiter at once', async () => {
    const clock = new FakeClock();
    const breaker = new ApiBreaker(1_000, 30_000, clock);
    breaker.failed(await breaker.admit());
    const released: number[] = [];
    const waiting = Array.from({ length: 5 }, async () => {
      await breaker.admit();
      released.push(clock.now());
    });
    await clock.advance(1_000); // the first slot: one probe goes out
    assert.equal(released.length, 1);
    breaker.succeeded(); // and is answered
    await clock.advance(1_000);
    await Promise.all(waiting);
    assert.deepEqual(released, [1_000, 1_000, 1_000, 1_000, 1_000]);
    assert.equal(breaker.isOpen, false);
  });

  it('requests already in flight when the server went away open it once, without lengthening the wait', async () => {
    const clock = new FakeClock();
    const breaker = new ApiBreaker(1_000, 30_000, clock);
    const inFlight = await Promise.all(Array.from({ length: 10 }, () => breaker.admit()));
    for (const admission of inFlight) breaker.failed(admission);
    const admitted: number[] = [];
    const next = breaker.admit().then(() => admitted.push(clock.now()));
    await clock.advance(5_000);
    await next;
    assert.deepEqual(admitted, [1_000]);
  });

  it('a waiting request whose caller gives up is rejected', async () => {
    const breaker = new ApiBreaker(60_000, 60_000);
    breaker.failed(await breaker.admit());
    const controller = new AbortController();
    const waiting = breaker.admit(controller.signal);
    controller.abort();
    await assert.rejects(waiting, { name: 'AbortError' });
  });
});

describe('isUnreachable', () => {
  const cases: ReadonlyArray<[string, unknown, boolean]> = [
    ['connection refused', refused, true],
    ['reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['TLS cut before the handshake', new Error('Client network socket disconnected before secure TLS connection was established'), true],
    ['socket hang up', new Error('socket hang up'), true],
    ['our own request timeout', new Error('GET /api/v1/nodes: no answer in 30000 ms'), true],
    ['an HTTP error is an answer', new Error('409 Conflict'), false],
    ['not an error', 'ECONNREFUSED', false],
  ];
  for (const [name, error, expected] of cases) it(name, () => assert.equal(isUnreachable(error), expected));
});
