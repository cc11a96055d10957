// An informer: list, then watch, into an in-memory cache, with handlers for changes. It never gives up:
//  - any error restarts it after a jittered exponential backoff (about 1 s to 30 s);
//  - 410 Gone (the resourceVersion is older than the server's history) re-lists, and the re-list is
//    diffed against the cache so deletes missed while away are delivered as deletes;
//  - a watch that stays silent past a deadline is restarted: the server sends a bookmark about once a
//    minute, so silence means a dead connection (a half-open TCP stream never errors on its own).
// The cache holds only what a reconciler reads, as controller-runtime's does: the same label and field
// selectors on the list and on every watch, and a transform applied before caching (by default it drops
// `metadata.managedFields`, often the largest part of an object and read by nobody here). Lists come in
// pages of LIST_PAGE_SIZE; the list's resourceVersion resumes the watch.

import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, watchRestartBackoff, type BackoffPolicy } from './backoff.js';
import { isStatus, LIST_PAGE_SIZE, type KubeClient, type ListPage, type WatchEvent } from './kube-client.js';
import { errorText, silentLogger, type Logger } from './log.js';
import { objectKey, type KubeObject, type ObjectMeta, type ResourceType } from './resources.js';

export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(previous: T, current: T): void;
  delete?(object: T): void;
}

/** What an informer needs of the API: the REST client, or a fake in tests (`fake-api.ts`). */
export type ListWatchClient = Pick<KubeClient, 'listPage' | 'watch'>;

/** Drops `metadata.managedFields`: server-side apply's bookkeeping, which no reconciler reads. */
export function stripManagedFields<T extends KubeObject>(object: T): T {
  if (!('managedFields' in object.metadata)) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata as ObjectMeta & { managedFields?: unknown };
  return { ...object, metadata };
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  readonly namespace?: string;
  /** Applied to the list and to every watch alike: the cache holds only matching objects. */
  readonly labelSelector?: string;
  /** As labelSelector, e.g. `metadata.name=memberlist`. */
  readonly fieldSelector?: string;
  /** Applied to every listed and watched object before it is cached and handed to handlers; keep what
   *  reconcilers read, drop the rest. Default: `stripManagedFields`. (A method signature, so that an
   *  Informer<Service> still passes where an Informer<KubeObject> is read.) */
  transform?(object: T): T;
  /** Items per list page (default LIST_PAGE_SIZE). */
  readonly pageSize?: number;
  /** Restart a watch that delivered nothing, not even a bookmark, for this long. */
  readonly silenceDeadlineMs?: number;
  /** Asks the server to end each watch after this long (client-go: 5–10 min), spreading reconnects. */
  readonly watchTimeoutSeconds?: number;
  readonly backoff?: BackoffPolicy;
  readonly logger?: Logger;
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly stopController = new AbortController();
  private readonly syncWaiters: Array<() => void> = [];
  private resourceVersion = '';
  private synced = false;
  private running: Promise<void> | undefined;
  private readonly logger: Logger;
  /** Counts for tests and metrics: how often the informer listed and how often a watch restarted. */
  readonly stats = { lists: 0, listPages: 0, listRestarts: 0, watchRestarts: 0, silenceRestarts: 0 };
  private readonly transform: { apply(object: T): T };

  constructor(
    private readonly client: ListWatchClient,
    readonly type: ResourceType,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.logger = (options.logger ?? silentLogger).child({ informer: type.plural });
    const transform = options.transform?.bind(options) ?? stripManagedFields;
    this.transform = { apply: transform };
  }

  on(handlers: InformerHandlers<T>): this {
    this.handlers.push(handlers);
    return this;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    await this.running;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  async waitForSync(): Promise<void> {
    if (!this.synced) await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  private get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const { events, ms } = await this.watchOnce();
        // The server ended the watch normally: resume at once from where it left off. A watch that ends
        // at once with nothing in it is a failure in disguise (a proxy or a server that is shutting
        // down), and gets the backoff, not a tight loop.
        if (events === 0 && ms < 1000) throw new Error('watch ended at once without events');
        attempt = 0;
      } catch (error) {
        if (this.stopped) break;
        if (isStatus(error, 410)) {
          this.logger.info('resourceVersion expired, re-listing', { resourceVersion: this.resourceVersion });
          needList = true;
          continue;
        }
        const delayMs = backoffDelay(this.options.backoff ?? watchRestartBackoff, attempt++);
        this.stats.watchRestarts++;
        this.logger.warn('watch failed, restarting', { error: errorText(error), delayMs, attempt });
        await sleep(delayMs, undefined, { signal: this.stopController.signal }).catch(() => undefined);
      }
    }
  }

  /** Every page of the list, transformed, with the resourceVersion of its snapshot. */
  private async listAll(): Promise<{ items: T[]; resourceVersion: string }> {
    const { namespace, labelSelector, fieldSelector } = this.options;
    const items: T[] = [];
    let token: string | undefined;
    let limit: number | undefined = this.options.pageSize ?? LIST_PAGE_SIZE;
    for (;;) {
      let page: ListPage<T>;
      try {
        page = await this.client.listPage<T>(this.type, {
          namespace, labelSelector, fieldSelector, limit, continue: token, signal: this.stopController.signal,
        });
      } catch (error) {
        // A continue token names a snapshot; once etcd compacts it the server answers 410. The pages read
        // so far belong to that lost snapshot, so start over, and unpaginated (client-go's pager does the
        // same): a list that keeps outliving compaction would otherwise never finish.
        if (token === undefined || !isStatus(error, 410)) throw error;
        this.stats.listRestarts++;
        this.logger.info('list continue token expired, listing again in one page', { items: items.length });
        items.length = 0;
        token = undefined;
        limit = undefined;
        continue;
      }
      this.stats.listPages++;
      for (const item of page.items) items.push(this.transform.apply(item));
      if (page.continue === undefined) return { items, resourceVersion: page.resourceVersion };
      token = page.continue;
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.listAll();
    this.stats.lists++;
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      this.upsert(key, item);
    }
    for (const [key, object] of this.cache) {
      if (!seen.has(key)) this.remove(key, object);
    }
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private async watchOnce(): Promise<{ events: number; ms: number }> {
    const started = Date.now();
    let events = 0;
    const watchAbort = new AbortController();
    const onStop = (): void => watchAbort.abort();
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    const deadlineMs = this.options.silenceDeadlineMs ?? 150_000;
    let silenced = false;
    let silence = setTimeout(() => { silenced = true; watchAbort.abort(); }, deadlineMs);
    try {
      const timeoutSeconds = this.options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
      await this.client.watch<T>(this.type, {
        resourceVersion: this.resourceVersion,
        timeoutSeconds,
        namespace: this.options.namespace,
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        signal: watchAbort.signal,
      }, (event) => {
        events++;
        clearTimeout(silence);
        silence = setTimeout(() => { silenced = true; watchAbort.abort(); }, deadlineMs);
        this.apply(event);
      });
      return { events, ms: Date.now() - started };
    } catch (error) {
      if (silenced) {
        this.stats.silenceRestarts++;
        throw new Error(`watch silent for ${deadlineMs} ms`);
      }
      throw error;
    } finally {
      clearTimeout(silence);
      this.stopController.signal.removeEventListener('abort', onStop);
    }
  }

  private apply(event: WatchEvent<T>): void {
    const rv = event.object.metadata.resourceVersion;
    if (rv !== undefined) this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    const object = this.transform.apply(event.object);
    const key = objectKey(object);
    if (event.type === 'DELETED') {
      const known = this.cache.get(key);
      if (known !== undefined) this.remove(key, object);
    } else {
      this.upsert(key, object);
    }
  }

  private upsert(key: string, object: T): void {
    const previous = this.cache.get(key);
    if (previous !== undefined && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.cache.set(key, object);
    for (const handler of this.handlers) {
      if (previous === undefined) handler.add?.(object);
      else handler.update?.(previous, object);
    }
  }

  private remove(key: string, object: T): void {
    this.cache.delete(key);
    for (const handler of this.handlers) handler.delete?.(object);
  }
}
