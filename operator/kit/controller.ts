// The controller runtime: a Reconciler is given a key and makes the world match the desired state; the
// controller feeds it keys from a work queue, never two workers on one key, retrying failures with
// backoff. Wiring (which watched objects enqueue which keys) is declared with the builder, in one place:
//
//   controllerFor('services', reconciler)
//     .owns(services)                               // a Service enqueues its own key
//     .watches(endpointSlices, serviceOfSlice)      // an EndpointSlice enqueues its Service
//     .watches(pools, () => services.keys())        // a pool enqueues every Service
//     .resyncEvery(10 * 60_000)
//     .build(logger)

import { errorText, type Logger } from './log.js';
import type { Informer } from './informer.js';
import { objectKey, type KubeObject } from './resources.js';
import { kitMetrics, type KitMetrics } from './metrics.js';
import { inSpan, onlyTraceAnnotationChanged } from './tracing.js';
import { WorkQueue } from './workqueue.js';
import type { RateLimiter } from './ratelimit.js';

export interface Result {
  /** Look again after this long even if nothing changes (e.g. a certificate's renewal time). */
  readonly requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: string): Promise<Result | void>;
}

/** Maps a changed object to the keys it affects. */
export type KeyMapper<T> = (object: T) => Iterable<string>;

/** Which updates of a watched object matter; its adds and deletes always do. */
export type UpdatePredicate<T> = (previous: T, current: T) => boolean;

/** An update that changes what the object asks for: its spec (`metadata.generation`, which the API
 *  server moves on spec changes only where there is a status subresource), its labels (selectors read
 *  them), or its deletion. A status write is none of these (controller-runtime's GenerationChanged,
 *  with labels): watched without it, every pool status write re-queued every Service. */
export function specChanged(previous: KubeObject, current: KubeObject): boolean {
  const before = previous.metadata;
  const after = current.metadata;
  if (before.generation === undefined || after.generation === undefined) return true;
  return before.generation !== after.generation
    || before.deletionTimestamp !== after.deletionTimestamp
    || JSON.stringify(before.labels ?? {}) !== JSON.stringify(after.labels ?? {});
}

/** An update that changed what the cache holds of the object, beyond its resourceVersion: with a
 *  transform that keeps only what a reconciler reads, every other write (another controller's status
 *  condition, a port, an annotation nobody reads) is no change at all. */
export function cachedContentChanged(previous: KubeObject, current: KubeObject): boolean {
  const { resourceVersion: _before, ...before } = previous.metadata;
  const { resourceVersion: _after, ...after } = current.metadata;
  return JSON.stringify({ ...previous, metadata: before }) !== JSON.stringify({ ...current, metadata: after });
}

interface Watch {
  readonly informer: Informer<KubeObject>;
  readonly map: KeyMapper<KubeObject>;
  readonly when?: UpdatePredicate<KubeObject>;
}

export interface ControllerStats {
  reconciles: number;
  errors: number;
}

export class Controller {
  readonly queue: WorkQueue<string>;
  readonly stats: ControllerStats = { reconciles: 0, errors: 0 };
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly metrics: KitMetrics;

  constructor(
    readonly name: string,
    private readonly reconciler: Reconciler,
    private readonly watched: readonly Watch[],
    private readonly options: { workers: number; resyncMs: number; rateLimiter?: RateLimiter<string>; resyncKeys: () => Iterable<string>; metrics?: KitMetrics },
    logger: Logger,
  ) {
    this.metrics = options.metrics ?? kitMetrics;
    this.queue = new WorkQueue<string>(options.rateLimiter, { name, metrics: this.metrics });
    this.logger = logger.child({ controller: name });
    for (const { informer, map, when } of watched) {
      const enqueue = (object: KubeObject): void => {
        for (const key of map(object)) this.queue.add(key);
      };
      // Level-triggered: both the old and the new object enqueue, so a key that stops matching is
      // reconciled too (e.g. a pool renamed away from an advertisement). An update that only (re)writes
      // the trace annotation is the controller's own bookkeeping: reconciling it would trace itself forever.
      informer.on({
        add: enqueue,
        update: (previous, current) => {
          if (onlyTraceAnnotationChanged(previous, current)) return;
          if (when !== undefined && !when(previous, current)) return;
          enqueue(previous);
          enqueue(current);
        },
        delete: enqueue,
      });
    }
  }

  informers(): Informer<KubeObject>[] {
    return this.watched.map((watch) => watch.informer);
  }

  /** Starts the workers and the periodic resync. Informers must have synced first. */
  start(): void {
    for (const key of this.options.resyncKeys()) this.queue.add(key);
    if (this.options.resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        for (const key of this.options.resyncKeys()) this.queue.add(key);
      }, this.options.resyncMs);
    }
    this.workers = Array.from({ length: this.options.workers }, () => this.work());
  }

  /** Stops taking keys and waits for in-flight reconciles to finish. */
  async stop(): Promise<void> {
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    await this.queue.shutDownWithDrain();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const item = await this.queue.get();
      if (item === undefined) return;
      await this.reconcileKey(item.key);
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const started = performance.now();
    try {
      const result = await inSpan(`reconcile ${this.name}`, { 'l2lb.controller': this.name, 'l2lb.key': key },
        () => this.reconciler.reconcile(key));
      this.stats.reconciles++;
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      this.observe(result?.requeueAfterMs !== undefined ? 'requeue_after' : 'success', started);
      this.logger.debug('reconciled', { key, ms: Math.round(performance.now() - started) });
    } catch (error) {
      this.stats.errors++;
      this.observe('error', started);
      this.logger.warn('reconcile failed, will retry', { key, error: errorText(error), retries: this.queue.retries(key) });
      this.queue.addRateLimited(key);
    } finally {
      this.queue.done(key);
    }
  }

  private observe(outcome: 'success' | 'error' | 'requeue_after', started: number): void {
    this.metrics.reconciled({ controller: this.name, outcome, seconds: (performance.now() - started) / 1000 });
  }
}

export class ControllerBuilder {
  private metrics: KitMetrics | undefined;
  private readonly watched: Watch[] = [];
  private primary: Informer<KubeObject> | undefined;
  private workerCount = 1;
  private resyncMs = 10 * 60_000;
  private rateLimiter: RateLimiter<string> | undefined;

  constructor(private readonly name: string, private readonly reconciler: Reconciler) {}

  /** The primary resource: each object enqueues its own key, and resync visits every cached key. */
  owns<T extends KubeObject>(informer: Informer<T>): this {
    this.primary = informer as unknown as Informer<KubeObject>;
    return this.watches(informer, (object) => [objectKey(object)]);
  }

  /** Another resource whose changes enqueue the keys `map` gives; with `when`, only the updates it
   *  accepts do (e.g. `specChanged`). */
  watches<T extends KubeObject>(informer: Informer<T>, map: KeyMapper<T>, when?: UpdatePredicate<T>): this {
    this.watched.push({
      informer: informer as unknown as Informer<KubeObject>, map: map as KeyMapper<KubeObject>,
      ...(when === undefined ? {} : { when: when as UpdatePredicate<KubeObject> }),
    });
    return this;
  }

  workers(count: number): this {
    this.workerCount = count;
    return this;
  }

  resyncEvery(ms: number): this {
    this.resyncMs = ms;
    return this;
  }

  withRateLimiter(limiter: RateLimiter<string>): this {
    this.rateLimiter = limiter;
    return this;
  }

  /** Reports to `metrics` instead of the process registry's (tests). */
  withMetrics(metrics: KitMetrics): this {
    this.metrics = metrics;
    return this;
  }

  build(logger: Logger, resyncKeys?: () => Iterable<string>): Controller {
    const primary = this.primary;
    const keys = resyncKeys ?? (() => primary?.keys() ?? []);
    return new Controller(this.name, this.reconciler, this.watched,
      { workers: this.workerCount, resyncMs: this.resyncMs, rateLimiter: this.rateLimiter, resyncKeys: keys, metrics: this.metrics }, logger);
  }
}

export function controllerFor(name: string, reconciler: Reconciler): ControllerBuilder {
  return new ControllerBuilder(name, reconciler);
}
