// A work queue with client-go's guarantees, which make a reconciler correct by construction:
//  - dedupe: a key added many times while it waits is processed once;
//  - exclusivity: a key is never handed to two workers at once;
//  - no lost updates: a key added while it is being processed is processed again after `done`;
//  - retries: `addRateLimited` waits per-key exponential backoff (and an overall rate), `forget` resets it.
// The dirty set holds keys that need processing, the processing set keys some worker holds; a key in both
// is re-queued by `done`.

import type { QueueMetrics } from './metrics.js';
import { defaultControllerRateLimiter, type RateLimiter } from './ratelimit.js';

export interface QueueItem<K> {
  readonly key: K;
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: Array<(item: QueueItem<K> | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  /** For each delayed key, when it becomes ready and its timer: an earlier `addAfter` wins. */
  private readonly delayed = new Map<K, { readyAt: number; timer: NodeJS.Timeout }>();
  private shuttingDown = false;

  /** A named queue with `metrics` reports its depth, adds and retries (client-go's workqueue_* series). */
  constructor(
    private readonly limiter: RateLimiter<K> = defaultControllerRateLimiter<K>(),
    private readonly observed?: { readonly name: string; readonly metrics: QueueMetrics },
  ) {
    observed?.metrics.track(observed.name, () => this.len());
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    // Counted as client-go does: a key that was not already waiting (a deduped add is no work).
    this.observed?.metrics.added(this.observed.name);
    if (this.processing.has(key)) return; // `done` puts it back
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter({ key });
      return;
    }
    this.queue.push(key);
  }

  /** Resolves with the next key (now marked processing), or undefined once the queue is shut down or
   *  `signal` aborts (an abandoned wait must not swallow the next key). */
  get(signal?: AbortSignal): Promise<QueueItem<K> | undefined> {
    if (this.shuttingDown || signal?.aborted === true) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve({ key });
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal?.addEventListener('abort', () => {
        const index = this.waiters.indexOf(resolve);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(undefined);
      }, { once: true });
    });
  }

  /** Marks `key` finished; if it was added meanwhile it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
    if (this.processing.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing !== undefined && existing.readyAt <= readyAt) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
  }

  addRateLimited(key: K): void {
    this.observed?.metrics.retried(this.observed.name);
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: K): void {
    this.limiter.forget(key);
  }

  retries(key: K): number {
    return this.limiter.retries(key);
  }

  len(): number {
    return this.queue.length;
  }

  /** Stops handing out keys; pending `get`s resolve with undefined; in-flight keys may still call `done`. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  /** Shuts down and resolves once every key handed out has been marked done. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}
