// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
//  - a lease is free when its holder is empty (released) or when it has not changed for leaseDuration,
//    as measured on OUR clock from when we saw it change (so clocks of different nodes never compare);
//  - every attempt (acquire or renew) is bounded: a request that hangs is aborted, never waited out;
//  - leadership is fenced by time: a renewal that succeeds, started at t, makes us leader until
//    t + renewDeadline on our monotonic clock. Anyone else can take over only after seeing the lease
//    unchanged for leaseDuration (> renewDeadline) after our write reached the server, which is after t.
//    At the fence we stop leading — on a timer, with any in-flight renewal aborted — and `writeFence()`
//    refuses writes from that instant, even if the timer has not run yet (a process frozen by SIGSTOP or
//    a long GC pause wakes with I/O callbacks queued ahead of its timers);
//  - a leader that lost its lease rejoins as a candidate; on shutdown a leader releases the lease, so a
//    successor takes over within one retryPeriod.
// Every write is a PUT with the resourceVersion we read: two candidates can never both win.

import { isStatus, type KubeClient } from './kube-client.js';
import { errorText, type Logger } from './log.js';
import { Leases, type KubeObject } from './resources.js';

export interface LeaderElectionConfig {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const defaultLeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderCallbacks {
  /** Called each time this candidate becomes leader; `lost` aborts when that leadership ends. */
  onStartedLeading(lost: AbortSignal): void;
  /** Called when a leadership ends: lost (fenced, or taken by another) or given up on stop. */
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

/** What the elector needs of the API: the REST client, or a fake in tests. */
export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'update'>;

export interface LeaderElectorOptions {
  /** A monotonic clock in ms (default `performance.now`); tests pass a mocked one. */
  readonly now?: () => number;
}

export function validateLeaseTimings(config: LeaderElectionConfig): string | undefined {
  if (config.renewDeadlineMs >= config.leaseDurationMs) return 'renewDeadline must be shorter than leaseDuration';
  if (config.retryPeriodMs >= config.renewDeadlineMs) return 'retryPeriod must be shorter than renewDeadline';
  return undefined;
}

type Attempt = { acquired: true } | { acquired: false; heldByOther?: boolean; retryInMs?: number };

export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private lease: Lease | undefined;
  private leading = false;
  /** While leading: the monotonic time until which our leadership is certain. */
  private fenceAt = -Infinity;
  private lastLeader = '';
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  /** Counts for tests and metrics. */
  readonly stats = { terms: 0, fenced: 0, renewals: 0, failedRenewals: 0 };

  constructor(
    private readonly client: LeaseClient,
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly logger: Logger,
    options: LeaderElectorOptions = {},
  ) {
    const invalid = validateLeaseTimings(config);
    if (invalid !== undefined) throw new Error(`leader election: ${invalid}`);
    this.now = options.now ?? (() => performance.now());
  }

  isLeader(): boolean {
    return this.writeFence() === undefined;
  }

  /** Why this process must not act as leader now, or undefined while its leadership is certain. */
  writeFence(): string | undefined {
    if (!this.leading) return 'not the leader';
    const overdueMs = this.now() - this.fenceAt;
    return overdueMs >= 0 ? `leadership unconfirmed for ${Math.round(overdueMs + this.config.renewDeadlineMs)} ms (renewDeadline passed)` : undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops campaigning; a leader releases the lease so that a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const acquiredAt = await this.campaign();
      if (acquiredAt === undefined) return;
      await this.lead(acquiredAt);
    }
  }

  /** Tries every retryPeriod (or when the holder's lease would expire) until it wins; returns the
   *  monotonic time the winning attempt started, or undefined when stopped. */
  private async campaign(): Promise<number | undefined> {
    while (!this.stopped) {
      const startedAt = this.now();
      const outcome = await this.attempt(startedAt + this.config.renewDeadlineMs);
      if (outcome.acquired) return startedAt;
      await this.pause(outcome.retryInMs ?? this.config.retryPeriodMs, this.stopController.signal);
    }
    return undefined;
  }

  private async lead(acquiredAt: number): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.config;
    this.fenceAt = acquiredAt + renewDeadlineMs;
    this.leading = true;
    this.stats.terms++;
    // Ends this term: aborted by the fence timer, or by stop().
    const term = new AbortController();
    const onStop = (): void => term.abort();
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    let fenceTimer: NodeJS.Timeout | undefined;
    const armFence = (): void => {
      clearTimeout(fenceTimer);
      fenceTimer = setTimeout(() => term.abort(), Math.max(0, this.fenceAt - this.now()));
    };
    armFence();
    const lost = new AbortController();
    this.logger.info('became leader', { lease: `${this.config.namespace}/${this.config.name}` });
    this.callbacks.onStartedLeading(lost.signal);
    let heldByOther = false;
    while (!term.signal.aborted) {
      await this.pause(retryPeriodMs, term.signal);
      if (term.signal.aborted || this.now() >= this.fenceAt) break;
      const startedAt = this.now();
      const outcome = await this.attempt(this.fenceAt, term.signal);
      if (outcome.acquired && this.now() < this.fenceAt) {
        this.stats.renewals++;
        this.fenceAt = startedAt + renewDeadlineMs;
        armFence();
      } else if (!outcome.acquired) {
        this.stats.failedRenewals++;
        // Another holder: lost for sure. A failed or aborted request: retry until the fence.
        if (outcome.heldByOther === true) {
          heldByOther = true;
          break;
        }
      }
    }
    clearTimeout(fenceTimer);
    this.stopController.signal.removeEventListener('abort', onStop);
    const fenced = this.now() >= this.fenceAt;
    if (this.stopped && !fenced) await this.release();
    else if (!this.stopped) {
      if (fenced) this.stats.fenced++;
      this.logger.warn('lost leadership', { heldByOther, fenced, renewDeadlineMs });
    }
    this.leading = false;
    this.fenceAt = -Infinity;
    lost.abort();
    this.callbacks.onStoppedLeading();
  }

  /** A sleep on the global timers (which tests can mock), cut short by `signal`. */
  private pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** One acquire-or-renew, aborted at the monotonic time `deadline` or when `outer` aborts. */
  private async attempt(deadline: number, outer?: AbortSignal): Promise<Attempt> {
    const bound = new AbortController();
    const abort = (): void => bound.abort();
    const timer = setTimeout(abort, Math.max(0, deadline - this.now()));
    outer?.addEventListener('abort', abort, { once: true });
    this.stopController.signal.addEventListener('abort', abort, { once: true });
    try {
      return await this.tryAcquireOrRenew(bound.signal, deadline);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', abort);
      this.stopController.signal.removeEventListener('abort', abort);
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal, deadline: number): Promise<Attempt> {
    const { namespace, name, identity, leaseDurationMs, retryPeriodMs } = this.config;
    const now = new Date();
    let current: Lease;
    try {
      current = await this.client.get<Lease>(Leases, namespace, name, { signal });
    } catch (error) {
      if (!isStatus(error, 404)) {
        this.logger.warn('reading the lease failed', { error: signal.aborted ? 'aborted at the attempt deadline' : errorText(error) });
        return { acquired: false };
      }
      return this.late(signal, deadline) ? { acquired: false } : await this.write('create', this.record(now, undefined), signal);
    }
    const spec = current.spec ?? {};
    const recordText = JSON.stringify(spec);
    if (this.observed?.record !== recordText) this.observed = { record: recordText, at: this.now() };
    this.lease = current;
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.lastLeader) {
      this.lastLeader = holder;
      if (holder !== '') this.callbacks.onNewLeader?.(holder);
    }
    if (holder !== '' && holder !== identity) {
      const heldForMs = (spec.leaseDurationSeconds ?? 0) * 1000 || leaseDurationMs;
      const expiresInMs = this.observed.at + heldForMs - this.now();
      // Wake exactly when the lease would expire rather than on the next retry tick: a dead leader's
      // successor then takes over within leaseDuration + one retryPeriod of observation lag.
      if (expiresInMs > 0) return { acquired: false, heldByOther: true, retryInMs: Math.min(retryPeriodMs, expiresInMs + 1) };
    }
    return this.late(signal, deadline) ? { acquired: false } : await this.write('update', this.record(now, spec), signal, current);
  }

  /** The read answered, but after the attempt's deadline (a process frozen mid-attempt runs I/O callbacks
   *  before its overdue timers): a write now would carry a decision from before the freeze. */
  private late(signal: AbortSignal, deadline: number): boolean {
    return signal.aborted || this.now() >= deadline;
  }

  private record(now: Date, previous: LeaseSpec | undefined): LeaseSpec {
    const { identity, leaseDurationMs } = this.config;
    const takingOver = previous?.holderIdentity !== identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime: takingOver ? microTime(now) : previous?.acquireTime ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (takingOver && previous?.holderIdentity ? 1 : 0),
    };
  }

  private async write(kind: 'create' | 'update', spec: LeaseSpec, signal: AbortSignal, current?: Lease): Promise<Attempt> {
    const { namespace, name } = this.config;
    try {
      const written = kind === 'create'
        ? await this.client.create<Lease>(Leases, { metadata: { namespace, name }, spec }, { signal })
        : await this.client.update<Lease>(Leases, { ...current, metadata: { ...current?.metadata, namespace, name }, spec }, { signal });
      this.lease = written;
      this.observed = { record: JSON.stringify(written.spec ?? {}), at: this.now() };
      return { acquired: true };
    } catch (error) {
      // 409: another candidate wrote first. Either way we try again next period.
      if (!isStatus(error, 409)) {
        this.logger.warn(`${kind} of the lease failed`, { error: signal.aborted ? 'aborted at the attempt deadline' : errorText(error) });
      }
      return { acquired: false };
    }
  }

  private async release(): Promise<void> {
    if (this.lease === undefined) return;
    const { namespace, name, identity, renewDeadlineMs } = this.config;
    // One attempt's budget for the whole release: a loaded API server can take longer than a retryPeriod
    // to answer, and shutdown must stay short.
    const deadline = this.now() + renewDeadlineMs;
    const timeoutMs = (): number => Math.max(1, deadline - this.now());
    const released = (lease: Lease): Lease => ({
      ...lease,
      metadata: { ...lease.metadata, namespace, name },
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
    });
    try {
      // Safe however long it takes: the update carries the resourceVersion we last wrote, so if the lease
      // has since become someone else's it is refused (409).
      await this.client.update<Lease>(Leases, released(this.lease), { timeoutMs: timeoutMs() });
      this.logger.info('released the lease');
    } catch (error) {
      if (!isStatus(error, 409)) {
        this.logger.warn('releasing the lease failed; a successor waits for it to expire', { error: errorText(error) });
        return;
      }
      // A renewal that stop() aborted may still have reached the server: our own write moved the
      // resourceVersion on. Read the lease again, and release it only if it is still ours.
      try {
        const current = await this.client.get<Lease>(Leases, namespace, name, { timeoutMs: timeoutMs() });
        if (current.spec?.holderIdentity !== identity) {
          this.logger.info('not releasing the lease: it is no longer ours', { holder: current.spec?.holderIdentity ?? '' });
          return;
        }
        await this.client.update<Lease>(Leases, released(current), { timeoutMs: timeoutMs() });
        this.logger.info('released the lease', { afterConflict: true });
      } catch (retryError) {
        this.logger.warn('releasing the lease failed; a successor waits for it to expire', { error: errorText(retryError) });
      }
    }
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
