// Prometheus metrics for the reconciler kit: one registry per process, served as plain text on /metrics
// beside /healthz and /readyz (port 7472, the port MetalLB's manifests, ServiceMonitors and the guides'
// NetworkPolicy already point at). Names follow controller-runtime and client-go, so dashboards built for
// Go operators read ours unchanged. Values that already live somewhere (a queue's length, a cache) are
// read when Prometheus scrapes, through `collect`, rather than copied on every change: a scrape every
// 15 s costs less than an update per event, and nothing can drift.
//
// prom-client writes a counter's name exactly as given (it appends no `_total`, unlike OpenMetrics
// output), which MetalLB's names such as `metallb_layer2_requests_received` need; metrics.test.ts pins it.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Route } from './http-endpoints.js';
import { errorText } from './log.js';

export const METRICS_PATH = '/metrics';

/** The process's registry: both programs register everything here and serve it on /metrics. */
export const registry = new Registry();

const withDefaults = new WeakSet<Registry>();

/** Node's process metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `nodejs_*`), once. */
export function collectProcessMetrics(target: Registry = registry): void {
  if (withDefaults.has(target)) return;
  withDefaults.add(target);
  collectDefaultMetrics({ register: target });
}

/** The /metrics route for HttpEndpoints: the text exposition format, 500 with the reason if a collector throws. */
export function metricsRoute(source: Registry = registry): Route {
  return (_request, response) => {
    source.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': source.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${errorText(error)}\n`),
    );
  };
}

/** How one reconcile ended, in controller-runtime's words. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue_after';

export interface ReconcileObservation {
  readonly controller: string;
  readonly outcome: ReconcileOutcome;
  readonly seconds: number;
}

/** What a work queue reports; WorkQueue calls it, KitMetrics implements it. */
export interface QueueMetrics {
  /** The queue exists: its depth is read at scrape time through `depth`. */
  track(name: string, depth: () => number): void;
  added(name: string): void;
  retried(name: string): void;
}

/** Reconcile durations: controller-runtime's buckets from 5 ms, trimmed above 10 s (ours do not last so long). */
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class KitMetrics implements QueueMetrics {
  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileErrors: Counter<'controller'>;
  private readonly reconcileTime: Histogram<'controller'>;
  private readonly queueAdds: Counter<'name'>;
  private readonly queueRetries: Counter<'name'>;
  private readonly leaderChanges: Counter<'name'>;
  private readonly apiRequests: Counter<'code' | 'method'>;
  private readonly depths = new Map<string, () => number>();
  private readonly leaders = new Map<string, () => boolean>();
  private readonly reconcileListeners: Array<(observation: ReconcileObservation) => void> = [];

  constructor(readonly target: Registry) {
    const registers = [target];
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'], registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'], registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'], buckets: RECONCILE_BUCKETS, registers,
    });
    const depths = this.depths;
    new Gauge({
      name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers,
      collect() {
        this.reset();
        for (const [name, depth] of depths) this.set({ name }, depth());
      },
    });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers });
    const leaders = this.leaders;
    new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.',
      labelNames: ['name'], registers,
      collect() {
        for (const [name, isLeader] of leaders) this.set({ name }, isLeader() ? 1 : 0);
      },
    });
    this.leaderChanges = new Counter({
      name: 'l2lb_leader_election_changes_total', help: 'Times this process started or stopped leading, per lease',
      labelNames: ['name'], registers,
    });
    this.apiRequests = new Counter({
      name: 'rest_client_requests_total', help: 'Number of HTTP requests to the API server, partitioned by status code and method.',
      labelNames: ['code', 'method'], registers,
    });
  }

  /** Called by the controller runtime after every reconcile. */
  reconciled(observation: ReconcileObservation): void {
    const { controller, outcome, seconds } = observation;
    this.reconcileTotal.inc({ controller, result: outcome });
    if (outcome === 'error') this.reconcileErrors.inc({ controller });
    this.reconcileTime.observe({ controller }, seconds);
    for (const listener of this.reconcileListeners) listener(observation);
  }

  /** Domain metrics derived from reconciles (MetalLB's k8s_client counters) subscribe here. */
  onReconciled(listener: (observation: ReconcileObservation) => void): void {
    this.reconcileListeners.push(listener);
  }

  track(name: string, depth: () => number): void {
    this.depths.set(name, depth);
    // A series from the first scrape on, at 0, so `rate()` and alerts see the queue before its first add.
    this.queueAdds.inc({ name }, 0);
    this.queueRetries.inc({ name }, 0);
  }

  added(name: string): void {
    this.queueAdds.inc({ name });
  }

  retried(name: string): void {
    this.queueRetries.inc({ name });
  }

  /** `leader_election_master_status{name}` reads `isLeader` at every scrape. */
  trackLeader(lease: string, isLeader: () => boolean): void {
    this.leaders.set(lease, isLeader);
    this.leaderChanges.inc({ name: lease }, 0);
  }

  /** For the leader elector: this process started or stopped leading `lease`. */
  leaderChanged(lease: string): void {
    this.leaderChanges.inc({ name: lease });
  }

  /** For the API client: one finished request; `code` is the HTTP status, or '<error>' when none came. */
  apiRequest(method: string, code: number | '<error>'): void {
    this.apiRequests.inc({ method, code: String(code) });
  }
}

/** The kit's metrics in the process registry; the controller runtime and work queues report here. */
export const kitMetrics = new KitMetrics(registry);
