// The work queue's rate limiters, modelled on client-go's: a per-key exponential limiter (a key that keeps
// failing waits longer each time) combined with an overall token bucket (a storm of failures across many
// keys cannot hammer the API server). The queue waits for the longer of the two.

import { backoffDelay, reconcileErrorBackoff, type BackoffPolicy } from './backoff.js';

export interface RateLimiter<K> {
  /** How long to wait before `key` may be processed again. Counts a failure for `key`. */
  when(key: K): number;
  /** Clears the failure history of `key` (after a success). */
  forget(key: K): void;
  retries(key: K): number;
}

export class PerKeyExponentialLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  constructor(private readonly policy: BackoffPolicy = reconcileErrorBackoff) {}

  when(key: K): number {
    const attempt = this.failures.get(key) ?? 0;
    this.failures.set(key, attempt + 1);
    return backoffDelay(this.policy, attempt);
  }
  forget(key: K): void {
    this.failures.delete(key);
  }
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/** A token bucket shared by all keys: `ratePerSecond` sustained, `burst` at once. */
export class TokenBucketLimiter<K> implements RateLimiter<K> {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  when(_key: K): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    this.tokens -= 1; // reserve a token even when none is left: the wait below pays it back
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }
  forget(_key: K): void {}
  retries(_key: K): number {
    return 0;
  }
}

export class MaxOfLimiter<K> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }
  when(key: K): number {
    return Math.max(0, ...this.limiters.map((limiter) => limiter.when(key)));
  }
  forget(key: K): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }
  retries(key: K): number {
    return Math.max(0, ...this.limiters.map((limiter) => limiter.retries(key)));
  }
}

/** client-go's DefaultControllerRateLimiter: per-key 5 ms…5 min, overall 10 qps with a burst of 100. */
export function defaultControllerRateLimiter<K>(): RateLimiter<K> {
  return new MaxOfLimiter<K>(new PerKeyExponentialLimiter<K>(), new TokenBucketLimiter<K>(10, 100));
}
