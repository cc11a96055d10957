// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules:
//  - a lease is free when its holder is empty (released) or when it has not changed for leaseDuration,
//    as measured on OUR clock from when we saw it change (so clocks of different nodes never compare);
//  - the leader renews every retryPeriod and gives up leading once renewals have failed for renewDeadline,
//    before anyone else may take over (renewDeadline < leaseDuration);
//  - on graceful shutdown the leader releases the lease, so a successor takes over within one retryPeriod.
// Every write is a PUT with the resourceVersion we read: two candidates can never both win.

import { setTimeout as sleep } from 'node:timers/promises';
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
  /** Called once when this candidate becomes leader; `lost` aborts when leadership ends. */
  onStartedLeading(lost: AbortSignal): void;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

export function validateLeaseTimings(config: LeaderElectionConfig): string | undefined {
  if (config.renewDeadlineMs >= config.leaseDurationMs) return 'renewDeadline must be shorter than leaseDuration';
  if (config.retryPeriodMs >= config.renewDeadlineMs) return 'retryPeriod must be shorter than renewDeadline';
  return undefined;
}

export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private lease: Lease | undefined;
  private leading = false;
  private lastLeader = '';
  private readonly stopController = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly logger: Logger,
  ) {
    const invalid = validateLeaseTimings(config);
    if (invalid !== undefined) throw new Error(`leader election: ${invalid}`);
  }

  isLeader(): boolean {
    return this.leading;
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
    const { retryPeriodMs } = this.config;
    while (!this.stopped) {
      const outcome = await this.tryAcquireOrRenew();
      if (outcome.acquired) break;
      await this.pause(outcome.retryInMs ?? retryPeriodMs);
    }
    if (this.stopped) return;
    this.leading = true;
    const lost = new AbortController();
    this.logger.info('became leader', { lease: `${this.config.namespace}/${this.config.name}` });
    this.callbacks.onStartedLeading(lost.signal);
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.pause(retryPeriodMs);
      if (this.stopped) break;
      const outcome = await this.tryAcquireOrRenew();
      if (outcome.acquired) {
        lastRenew = Date.now();
      } else if (outcome.heldByOther || Date.now() - lastRenew > this.config.renewDeadlineMs) {
        this.logger.warn('lost leadership', { heldByOther: outcome.heldByOther === true, sinceRenewMs: Date.now() - lastRenew });
        break;
      }
    }
    this.leading = false;
    lost.abort();
    if (this.stopped) await this.release();
    this.callbacks.onStoppedLeading();
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopController.signal }).catch(() => undefined);
  }

  private async tryAcquireOrRenew(): Promise<{ acquired: boolean; heldByOther?: boolean; retryInMs?: number }> {
    const { namespace, name, identity, leaseDurationMs, retryPeriodMs } = this.config;
    const now = new Date();
    let current: Lease;
    try {
      current = await this.client.get<Lease>(Leases, namespace, name);
    } catch (error) {
      if (!isStatus(error, 404)) {
        this.logger.warn('reading the lease failed', { error: errorText(error) });
        return { acquired: false };
      }
      return await this.write('create', this.record(now, undefined));
    }
    const spec = current.spec ?? {};
    const recordText = JSON.stringify(spec);
    if (this.observed?.record !== recordText) this.observed = { record: recordText, at: Date.now() };
    this.lease = current;
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.lastLeader) {
      this.lastLeader = holder;
      if (holder !== '') this.callbacks.onNewLeader?.(holder);
    }
    if (holder !== '' && holder !== identity) {
      const heldForMs = (spec.leaseDurationSeconds ?? 0) * 1000 || leaseDurationMs;
      const expiresInMs = this.observed.at + heldForMs - Date.now();
      // Wake exactly when the lease would expire rather than on the next retry tick: a dead leader's
      // successor then takes over within leaseDuration + one retryPeriod of observation lag.
      if (expiresInMs > 0) return { acquired: false, heldByOther: true, retryInMs: Math.min(retryPeriodMs, expiresInMs + 1) };
    }
    return await this.write('update', this.record(now, spec), current);
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

  private async write(kind: 'create' | 'update', spec: LeaseSpec, current?: Lease): Promise<{ acquired: boolean }> {
    const { namespace, name } = this.config;
    try {
      const written = kind === 'create'
        ? await this.client.create<Lease>(Leases, { metadata: { namespace, name }, spec })
        : await this.client.update<Lease>(Leases, { ...current, metadata: { ...current?.metadata, namespace, name }, spec });
      this.lease = written;
      this.observed = { record: JSON.stringify(written.spec ?? {}), at: Date.now() };
      return { acquired: true };
    } catch (error) {
      // 409: another candidate wrote first. Either way we try again next period.
      if (!isStatus(error, 409)) this.logger.warn(`${kind} of the lease failed`, { error: errorText(error) });
      return { acquired: false };
    }
  }

  private async release(): Promise<void> {
    if (this.lease === undefined) return;
    const { namespace, name } = this.config;
    try {
      await this.client.update<Lease>(Leases, {
        ...this.lease,
        metadata: { ...this.lease.metadata, namespace, name },
        spec: { ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
      });
      this.logger.info('released the lease');
    } catch (error) {
      this.logger.warn('releasing the lease failed; a successor waits for it to expire', { error: errorText(error) });
    }
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
