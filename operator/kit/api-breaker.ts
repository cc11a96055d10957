// One breaker per client, shared by every request of the process: while the API server cannot be reached,
// requests go out one at a time at least a second apart (doubling to 8 s after each failed probe, so a
// server that comes back is found within seconds), not
// each on its own retry schedule. A speaker's informers, lease renewals, status writes and events all
// back off alone otherwise, and together they made ~2 attempts a second per node during an outage.
// The first answer from the server, of any status, closes the breaker and releases every waiter.
// Only failures to reach the server count (refused, reset, unreachable, timed out before an answer);
// an HTTP error is an answer.

import { setTimeout as delay } from 'node:timers/promises';

export interface BreakerClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: BreakerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal }),
};

/** Error codes and messages that mean the request never reached a server able to answer. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return true;
  return /socket hang up|socket disconnected before secure TLS connection|no answer in \d+ ms/.test(error.message);
}

export interface Admission {
  /** Whether the breaker was open when this request was let through (it is a probe). */
  readonly probe: boolean;
}

export class ApiBreaker {
  private open = false;
  private backoffMs = 0;
  /** The earliest time the next request may go out while open. */
  private nextSlotMs = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly initialMs = 1_000,
    private readonly maxMs = 8_000,
    private readonly clock: BreakerClock = realClock,
  ) {}

  get isOpen(): boolean {
    return this.open;
  }

  /** Waits for this request's turn: at once while closed; while open, for the next free slot. */
  async admit(signal?: AbortSignal): Promise<Admission> {
    while (this.open) {
      const now = this.clock.now();
      if (now >= this.nextSlotMs) {
        this.nextSlotMs = now + this.backoffMs;
        return { probe: true };
      }
      // Woken by the slot coming round, or by the breaker closing.
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
        this.clock.sleep(this.nextSlotMs - now, signal).then(wake, (error: unknown) => {
          this.waiters.delete(wake);
          reject(error);
        });
      });
    }
    return { probe: false };
  }

  /** The server answered. */
  succeeded(): void {
    if (!this.open) return;
    this.open = false;
    this.backoffMs = 0;
    for (const wake of [...this.waiters]) wake();
  }

  /** The server could not be reached. Requests already in flight when it went away open the breaker
   *  once; only a failed probe lengthens the wait. */
  failed(admission: Admission): void {
    const now = this.clock.now();
    if (!this.open) {
      this.open = true;
      this.backoffMs = this.initialMs;
      this.nextSlotMs = now + this.backoffMs;
      return;
    }
    if (admission.probe) {
      this.backoffMs = Math.min(this.backoffMs * 2, this.maxMs);
      this.nextSlotMs = Math.max(this.nextSlotMs, now + this.backoffMs);
    }
  }
}
