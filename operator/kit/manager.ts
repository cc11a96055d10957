// The manager owns what controllers share and starts and stops it in order:
//   start: HTTP endpoints → informers (caches warm even on a standby replica, so failover is fast) →
//          wait for sync (ready) → leader election, if any → controllers;
//   stop (SIGTERM): controllers stop taking keys and finish in-flight work → the lease is released →
//          informers stop → HTTP endpoints close.
// With leader election, `client` is fenced: its writes are refused (before they are sent) whenever the
// elector cannot vouch for our leadership, so a leader that was cut off or frozen past renewDeadline
// writes nothing, even from work that was already in flight. Only the elector writes unfenced (the
// Lease itself). A leader that loses its lease stops its controllers and shuts down: its reconcilers
// hold state from its term (the allocator's view), so it rejoins as a fresh standby when its supervisor
// restarts it, as controller-runtime's managers do.
// Reconcilers receive what they need from here; they construct nothing global.

import type { Controller } from './controller.js';
import { gracefulSignalsInstalled } from './early-signals.js';
import { HttpEndpoints, type Probe } from './http-endpoints.js';
import { Informer, type InformerOptions } from './informer.js';
import type { KubeClient } from './kube-client.js';
import { LeaderElector, type LeaderElectionConfig } from './leader.js';
import { errorText, type Logger } from './log.js';
import type { KubeObject, ResourceType } from './resources.js';

export interface ManagerOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly httpPort?: number;
  readonly httpHost?: string;
  readonly leaderElection?: LeaderElectionConfig;
}

function firstProblem(checks: ReadonlyMap<string, Probe>): ReturnType<Probe> {
  const problems: string[] = [];
  for (const [name, probe] of checks) {
    const result = probe();
    if (!result.ok) problems.push(`${name}: ${result.reason}`);
  }
  return problems.length === 0 ? { ok: true } : { ok: false, reason: problems.join('; ') };
}

export class Manager {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly http: HttpEndpoints;
  private readonly informerByKey = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller[] = [];
  private readonly shutdownHooks: Array<() => Promise<void>> = [];
  private elector: LeaderElector | undefined;
  private controllersRunning = false;
  private stopping: Promise<void> | undefined;
  private synced = false;
  /** Resolves when the manager has stopped, for whatever reason (signal, lost leadership). */
  readonly done: Promise<void>;
  private markDone!: () => void;

  constructor(private readonly options: ManagerOptions) {
    this.client = options.leaderElection === undefined ? options.client : options.client.withWriteGuard(() => this.writeFence());
    this.logger = options.logger;
    this.done = new Promise((resolve) => (this.markDone = resolve));
    this.http = new HttpEndpoints({
      healthz: () => firstProblem(this.healthChecks),
      readyz: () => (this.synced ? firstProblem(this.readinessChecks) : { ok: false, reason: 'informer caches not synced' }),
    });
  }

  private readonly healthChecks = new Map<string, Probe>();
  private readonly readinessChecks = new Map<string, Probe>();

  /** /healthz fails while `probe` does: the process cannot do its job at all and should be restarted. */
  addHealthCheck(name: string, probe: Probe): this {
    this.healthChecks.set(name, probe);
    return this;
  }

  /** /readyz fails while `probe` does, with its reason: the process is up but not doing all of its job. */
  addReadinessCheck(name: string, probe: Probe): this {
    this.readinessChecks.set(name, probe);
    return this;
  }

  /** One shared informer per resource type, namespace and selectors: every controller reads the same cache.
   *  A transform is not part of the key: the first caller's applies to all who share the informer. */
  informer<T extends KubeObject>(type: ResourceType, options: Omit<InformerOptions<T>, 'logger'> = {}): Informer<T> {
    const key = `${type.group}/${type.plural}/${options.namespace ?? ''}/${options.labelSelector ?? ''}/${options.fieldSelector ?? ''}`;
    let informer = this.informerByKey.get(key);
    if (informer === undefined) {
      informer = new Informer<T>(this.client, type, { ...options, logger: this.logger }) as unknown as Informer<KubeObject>;
      this.informerByKey.set(key, informer);
    }
    return informer as unknown as Informer<T>;
  }

  add(controller: Controller): this {
    this.controllers.push(controller);
    return this;
  }

  /** Runs `hook` on shutdown, after the controllers stopped and before the informers stop. */
  onShutdown(hook: () => Promise<void>): this {
    this.shutdownHooks.push(hook);
    return this;
  }

  isLeader(): boolean {
    return this.elector === undefined ? this.controllersRunning : this.elector.isLeader();
  }

  /** Why leader-only writes must not go out now (undefined: they may). */
  private writeFence(): string | undefined {
    if (this.elector === undefined) return 'leader election has not started';
    return this.elector.writeFence();
  }

  async start(): Promise<void> {
    const port = await this.http.listen(this.options.httpPort ?? 0, this.options.httpHost);
    this.logger.info('serving health endpoints', { port });
    for (const informer of this.informerByKey.values()) informer.start();
    await Promise.all([...this.informerByKey.values()].map((informer) => informer.waitForSync()));
    this.synced = true;
    this.logger.info('caches synced', { informers: this.informerByKey.size });
    const election = this.options.leaderElection;
    if (election === undefined) {
      this.startControllers();
      return;
    }
    // The elector writes the Lease with the unfenced client (renewing is how the fence moves), on
    // connections of its own so that a renewal never waits behind the leader's other requests.
    this.elector = new LeaderElector(this.options.client.withOwnConnections(), election, {
      onStartedLeading: () => {
        if (this.stopping === undefined) this.startControllers();
      },
      onStoppedLeading: () => {
        // Writes are already refused (the fence); stop the controllers too. A replica that lost its
        // lease may hold stale decisions: shut down, and let the supervisor restart it as a standby.
        if (this.stopping === undefined) {
          this.logger.error('leadership lost; stopping');
          void this.stop();
        }
      },
      onNewLeader: (identity) => this.logger.info('leader is', { identity }),
    }, this.logger);
    this.elector.start();
  }

  private startControllers(): void {
    this.controllersRunning = true;
    for (const controller of this.controllers) controller.start();
    this.logger.info('controllers started', { controllers: this.controllers.map((c) => c.name) });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.logger.info('shutting down');
    // Each step's duration goes in the last line, so a slow stop says which step it waited on.
    const stepsMs: Record<string, number> = {};
    const step = async (name: string, work: () => Promise<unknown>): Promise<void> => {
      const started = performance.now();
      await work();
      stepsMs[name] = Math.round(performance.now() - started);
    };
    await step('controllersMs', () => Promise.all(this.controllers.map((controller) => controller.stop())));
    this.controllersRunning = false;
    await step('leaseMs', async () => this.elector?.stop());
    await step('hooksMs', async () => {
      for (const hook of this.shutdownHooks) await hook();
    });
    await step('informersMs', () => Promise.all([...this.informerByKey.values()].map((informer) => informer.stop())));
    await step('httpMs', () => this.http.close());
    this.client.close();
    this.logger.info('stopped', stepsMs);
    this.markDone();
  }

  /** SIGTERM and SIGINT stop the manager gracefully; a second signal exits at once. */
  stopOnSignals(): void {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) process.exit(1);
      signalled = true;
      this.logger.info('signal received', { signal });
      this.stop().catch((error: unknown) => this.logger.error('shutdown failed', { error: errorText(error) }));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    gracefulSignalsInstalled();
  }
}
