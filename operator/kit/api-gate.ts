// One gate for a program's background writes to the API: after a failure every writer behind the gate
// waits out one shared, growing pause (1 s doubling to 30 s) and only one request probes at a time, so a
// fleet of announcers sends at most about one request a second each to an API server that is down or
// recovering, however many objects they have to write. A success closes the pause at once.

import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export const apiOutageBackoff: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, jitter: 0.2 };

export class ApiGate {
  private failures = 0;
  private pausedUntil = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly policy: BackoffPolicy = apiOutageBackoff,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number, signal?: AbortSignal) => Promise<unknown> = (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
  ) {}

  /** Runs `request` when the gate is open; requests behind the gate run one at a time. */
  async pass<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const turn = this.tail.then(async () => {
      for (let ms = this.pausedUntil - this.now(); ms > 0 && signal?.aborted !== true; ms = this.pausedUntil - this.now()) await this.wait(ms, signal);
      try {
        const result = await request();
        this.failures = 0;
        this.pausedUntil = 0;
        return result;
      } catch (error) {
        this.pausedUntil = this.now() + backoffDelay(this.policy, this.failures++);
        throw error;
      }
    });
    this.tail = turn.then(() => undefined, () => undefined);
    return turn;
  }

  /** Whether the last request failed and the gate is pausing. */
  get failing(): boolean {
    return this.failures > 0;
  }
}
