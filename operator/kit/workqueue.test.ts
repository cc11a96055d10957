import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './workqueue.js';
import { MaxOfLimiter, PerKeyExponentialLimiter, TokenBucketLimiter, type RateLimiter } from './ratelimit.js';
import { backoffDelay, reconcileErrorBackoff, watchRestartBackoff } from './backoff.js';

const noLimit: RateLimiter<string> = { when: () => 0, forget: () => undefined, retries: () => 0 };

/** Resolves to the key `get` yields within `ms`, or 'timeout'. */
async function getWithin(queue: WorkQueue<string>, ms: number): Promise<string | undefined | 'timeout'> {
  // AbortSignal.timeout's timer is unref'd and would let the test's event loop end early.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  const item = await queue.get(abort.signal);
  clearTimeout(timer);
  return item === undefined && !queue.isShuttingDown() ? 'timeout' : item?.key;
}

test('a key added many times while it waits is handed out once', async () => {
  const queue = new WorkQueue<string>(noLimit);
  for (const key of ['a', 'b', 'a', 'a', 'b']) queue.add(key);
  assert.equal(queue.len(), 2);
  assert.equal(await getWithin(queue, 20), 'a');
  assert.equal(await getWithin(queue, 20), 'b');
  assert.equal(await getWithin(queue, 30), 'timeout');
});

test('a key is never handed to two workers at once', async () => {
  const queue = new WorkQueue<string>(noLimit);
  queue.add('a');
  const first = await queue.get();
  assert.equal(first?.key, 'a');
  queue.add('a'); // an event arrives while worker 1 holds the key
  queue.add('b');
  // Worker 2 must get b, not a second copy of a.
  assert.equal(await getWithin(queue, 20), 'b');
  assert.equal(await getWithin(queue, 30), 'timeout');
  queue.done('a');
  assert.equal(await getWithin(queue, 20), 'a');
});

test('a key re-added while processing runs exactly once more after done', async () => {
  const queue = new WorkQueue<string>(noLimit);
  queue.add('a');
  const item = await queue.get();
  assert.equal(item?.key, 'a');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.len(), 0, 'not queued while a worker holds it');
  queue.done('a');
  assert.equal(await getWithin(queue, 20), 'a');
  queue.done('a');
  assert.equal(await getWithin(queue, 30), 'timeout', 'only once more');
});

test('a key not re-added is not handed out again after done', async () => {
  const queue = new WorkQueue<string>(noLimit);
  queue.add('a');
  await queue.get();
  queue.done('a');
  assert.equal(await getWithin(queue, 30), 'timeout');
});

test('a waiting worker is woken by add', async () => {
  const queue = new WorkQueue<string>(noLimit);
  const pending = queue.get();
  setTimeout(() => queue.add('late'), 10);
  assert.equal((await pending)?.key, 'late');
});

test('per-key backoff doubles from 5 ms and is capped at 5 minutes', () => {
  const limiter = new PerKeyExponentialLimiter<string>();
  const delays = Array.from({ length: 5 }, () => limiter.when('a'));
  assert.deepEqual(delays, [5, 10, 20, 40, 80]);
  assert.equal(limiter.when('b'), 5, 'keys back off independently');
  for (let i = 0; i < 40; i++) limiter.when('a');
  assert.equal(limiter.when('a'), 5 * 60_000);
  assert.equal(limiter.retries('a'), 46);
});

test('forget resets a key to the shortest backoff', () => {
  const limiter = new PerKeyExponentialLimiter<string>();
  limiter.when('a');
  limiter.when('a');
  limiter.forget('a');
  assert.equal(limiter.retries('a'), 0);
  assert.equal(limiter.when('a'), 5);
});

test('addRateLimited holds the key back for its backoff, and forget on the queue resets it', async () => {
  const queue = new WorkQueue<string>(new PerKeyExponentialLimiter<string>({ initialMs: 40, maxMs: 1000, jitter: 0 }));
  queue.addRateLimited('a'); // 40 ms
  assert.equal(await getWithin(queue, 20), 'timeout', 'not before its backoff');
  assert.equal(await getWithin(queue, 100), 'a');
  queue.done('a');
  queue.addRateLimited('a'); // 80 ms
  assert.equal(await getWithin(queue, 55), 'timeout', 'the second failure waits longer');
  assert.equal(await getWithin(queue, 100), 'a');
  queue.done('a');
  queue.forget('a');
  assert.equal(queue.retries('a'), 0);
  const start = Date.now();
  queue.addRateLimited('a');
  assert.equal(await getWithin(queue, 200), 'a');
  assert.ok(Date.now() - start < 75, 'after forget the first backoff applies again');
});

test('the overall token bucket lets a burst through, then spaces keys at its rate', () => {
  let now = 0;
  const bucket = new TokenBucketLimiter<string>(10, 3, () => now);
  assert.deepEqual(['a', 'b', 'c'].map((key) => bucket.when(key)), [0, 0, 0]);
  assert.equal(bucket.when('d'), 100);
  assert.equal(bucket.when('e'), 200);
  now = 1000; // ten tokens refilled, capped at the burst
  assert.deepEqual(['f', 'g'].map((key) => bucket.when(key)), [0, 0]);
});

test('the combined limiter waits for the longer of per-key and overall limits', () => {
  const now = 0;
  const limiter = new MaxOfLimiter<string>(
    new PerKeyExponentialLimiter<string>(),
    new TokenBucketLimiter<string>(10, 1, () => now),
  );
  assert.equal(limiter.when('a'), 5);
  assert.equal(limiter.when('b'), 100);
});

test('addAfter keeps the earliest of two delays for a key', async () => {
  const queue = new WorkQueue<string>(noLimit);
  queue.addAfter('a', 500);
  queue.addAfter('a', 10);
  queue.addAfter('a', 400);
  assert.equal(await getWithin(queue, 100), 'a');
  queue.done('a');
  assert.equal(await getWithin(queue, 50), 'timeout', 'the later timers were dropped');
  queue.shutDown();
});

test('shutDown wakes waiting workers with nothing and drops new keys', async () => {
  const queue = new WorkQueue<string>(noLimit);
  const pending = queue.get();
  queue.shutDown();
  assert.equal(await pending, undefined);
  queue.add('a');
  assert.equal(await queue.get(), undefined);
});

test('shutDownWithDrain waits for keys being processed', async () => {
  const queue = new WorkQueue<string>(noLimit);
  queue.add('a');
  await queue.get();
  let drained = false;
  const draining = queue.shutDownWithDrain().then(() => (drained = true));
  await sleep(20);
  assert.equal(drained, false);
  queue.done('a');
  await draining;
  assert.equal(drained, true);
});

test('watch restarts back off from about 1 s to 30 s with jitter', () => {
  assert.equal(backoffDelay(watchRestartBackoff, 0, () => 0.5), 1000);
  assert.equal(backoffDelay(watchRestartBackoff, 0, () => 0), 500);
  assert.equal(backoffDelay(watchRestartBackoff, 3, () => 0.5), 8000);
  assert.equal(backoffDelay(watchRestartBackoff, 10, () => 0.99), 30_000);
  assert.equal(backoffDelay(reconcileErrorBackoff, 1000, () => 0), 300_000);
});
