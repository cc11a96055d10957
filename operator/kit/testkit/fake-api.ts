// A test kit: an in-memory API server for one resource type, with what an informer relies on — label and
// field selectors on list and watch, resourceVersions, watch history replayed from a resourceVersion,
// 410 Gone once history is compacted, and paginated lists whose continue tokens expire with compaction.
// Calls are recorded so tests can assert what was asked.

import { ApiError, type ListPage, type ListPageOptions, type Selectors, type WatchEvent, type WatchOptions } from '../kube-client.js';
import type { ListWatchClient } from '../informer.js';
import { objectKey, type KubeObject, type ResourceType } from '../resources.js';

interface Watcher {
  readonly options: WatchOptions;
  readonly onEvent: (event: WatchEvent<KubeObject>) => void;
  readonly end: (error?: unknown) => void;
}

interface Snapshot {
  readonly resourceVersion: number;
  readonly items: readonly KubeObject[];
}

/** `a=b,c=d` label selectors and `metadata.name=x` / `metadata.namespace=y` field selectors. */
export function matchesSelectors(object: KubeObject, selectors: Selectors): boolean {
  const pairs = (text: string | undefined): Array<[string, string]> =>
    (text ?? '').split(',').filter((part) => part !== '').map((part) => {
      const [key = '', value = ''] = part.split('=');
      return [key, value];
    });
  const labels = object.metadata.labels ?? {};
  if (!pairs(selectors.labelSelector).every(([key, value]) => labels[key] === value)) return false;
  const fields: Record<string, string | undefined> = { 'metadata.name': object.metadata.name, 'metadata.namespace': object.metadata.namespace };
  return pairs(selectors.fieldSelector).every(([key, value]) => fields[key] === value);
}

export class FakeApi implements ListWatchClient {
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: Array<{ rv: number; event: WatchEvent<KubeObject> }> = [];
  private readonly watchers = new Set<Watcher>();
  private readonly snapshots = new Map<string, Snapshot>();
  private rv = 100;
  /** Events at or below this resourceVersion are gone: watches and continue tokens from before get 410. */
  private compactedRv = 0;
  readonly listCalls: ListPageOptions[] = [];
  readonly watchCalls: WatchOptions[] = [];

  constructor(readonly type: ResourceType) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  put(object: KubeObject): KubeObject {
    const key = objectKey(object);
    const existed = this.objects.has(key);
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    this.objects.set(key, stored);
    this.publish({ type: existed ? 'MODIFIED' : 'ADDED', object: stored });
    return stored;
  }

  remove(key: string): void {
    const known = this.objects.get(key);
    if (known === undefined) return;
    this.objects.delete(key);
    this.publish({ type: 'DELETED', object: { ...known, metadata: { ...known.metadata, resourceVersion: String(++this.rv) } } });
  }

  /** Forgets history: open watches end with 410, as etcd compaction does to the API server. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
    for (const watcher of [...this.watchers]) watcher.end(new ApiError(410, 'Expired', 'too old resource version'));
  }

  /** Ends every open watch cleanly (the server's timeoutSeconds), or with `error`. */
  endWatches(error?: unknown): void {
    for (const watcher of [...this.watchers]) watcher.end(error);
  }

  /** Sends a bookmark to every open watch. */
  bookmark(): void {
    for (const watcher of this.watchers) {
      watcher.onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  async listPage<T extends KubeObject>(_type: ResourceType, options: ListPageOptions): Promise<ListPage<T>> {
    this.listCalls.push(options);
    await Promise.resolve();
    let snapshot: Snapshot;
    let offset = 0;
    if (options.continue !== undefined) {
      const [token = '', at = '0'] = options.continue.split(':');
      const found = this.snapshots.get(token);
      if (found === undefined || found.resourceVersion <= this.compactedRv) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old');
      }
      snapshot = found;
      offset = Number(at);
    } else {
      const items = [...this.objects.values()]
        .filter((object) => (options.namespace === undefined || object.metadata.namespace === options.namespace) && matchesSelectors(object, options))
        .sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1));
      snapshot = { resourceVersion: this.rv, items };
    }
    const limit = options.limit ?? snapshot.items.length;
    const items = snapshot.items.slice(offset, offset + limit) as T[];
    let next: string | undefined;
    if (offset + limit < snapshot.items.length) {
      const token = `s${this.snapshots.size}`;
      this.snapshots.set(token, snapshot);
      next = `${token}:${offset + limit}`;
    }
    return { items, resourceVersion: String(snapshot.resourceVersion), continue: next };
  }

  watch<T>(_type: ResourceType, options: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    this.watchCalls.push(options);
    return new Promise<void>((resolve, reject) => {
      const from = Number(options.resourceVersion);
      if (from < this.compactedRv) {
        reject(new ApiError(410, 'Expired', 'too old resource version'));
        return;
      }
      const deliver = (event: WatchEvent<KubeObject>): void => {
        if (event.type === 'BOOKMARK') onEvent(event as WatchEvent<T>);
        else if ((options.namespace === undefined || options.namespace === event.object.metadata.namespace)
          && matchesSelectors(event.object, options)) onEvent(event as WatchEvent<T>);
      };
      const watcher: Watcher = {
        options,
        onEvent: deliver,
        end: (error) => {
          this.watchers.delete(watcher);
          options.signal.removeEventListener('abort', onAbort);
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      const onAbort = (): void => watcher.end(new Error('aborted'));
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.watchers.add(watcher);
      for (const { rv, event } of this.history) if (rv > from) deliver(event);
    });
  }

  private publish(event: WatchEvent<KubeObject>): void {
    this.history.push({ rv: this.rv, event });
    for (const watcher of this.watchers) watcher.onEvent(event);
  }
}
