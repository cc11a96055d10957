import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeApi } from './testkit/fake-api.js';
import { Informer, stripManagedFields, type InformerOptions } from './informer.js';
import { ApiError } from './kube-client.js';
import { ConfigMaps, objectKey, Secrets, type KubeObject } from './resources.js';

const quickBackoff = { initialMs: 1, maxMs: 5, jitter: 0 };

async function until(what: string, condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

function object(name: string, labels: Record<string, string> = {}, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name, labels, ...extra } };
}

/** Starts an informer on `api`, waits for its first sync, runs `body`, and always stops it. */
async function withInformer(api: FakeApi, options: InformerOptions, body: (informer: Informer<KubeObject>) => Promise<void>): Promise<void> {
  const informer = new Informer<KubeObject>(api, api.type, { backoff: quickBackoff, ...options });
  informer.start();
  try {
    await informer.waitForSync();
    await until('the first watch', () => api.openWatches === 1);
    await body(informer);
  } finally {
    await informer.stop();
  }
}

describe('Informer: selectors', () => {
  it('lists and watches with the same label selector: an object outside it never reaches the cache', async () => {
    const api = new FakeApi(ConfigMaps);
    api.put(object('mine-1', { role: 'mine' }));
    api.put(object('theirs-1', { role: 'theirs' }));
    const added: string[] = [];
    await withInformer(api, { namespace: 'ns', labelSelector: 'role=mine' }, async (informer) => {
      informer.on({ add: (o) => added.push(objectKey(o)) });
      assert.deepEqual(informer.keys(), ['ns/mine-1']);
      api.put(object('theirs-2', { role: 'theirs' }));
      api.put(object('mine-2', { role: 'mine' }));
      api.put(object('theirs-1', { role: 'theirs', touched: 'yes' }));
      await until('mine-2', () => informer.get('ns/mine-2') !== undefined);
      assert.deepEqual(informer.keys().sort(), ['ns/mine-1', 'ns/mine-2']);
      assert.deepEqual(added, ['ns/mine-2']);
    });
    assert.equal(api.listCalls[0]?.labelSelector, 'role=mine');
    assert.equal(api.watchCalls[0]?.labelSelector, 'role=mine');
    assert.equal(api.watchCalls[0]?.namespace, 'ns');
  });

  it('supports a field selector end to end (the speaker watches only Secret memberlist)', async () => {
    const api = new FakeApi(Secrets);
    api.put(object('memberlist'));
    api.put(object('other'));
    await withInformer(api, { namespace: 'ns', fieldSelector: 'metadata.name=memberlist' }, async (informer) => {
      assert.deepEqual(informer.keys(), ['ns/memberlist']);
      api.put(object('another'));
      api.put(object('memberlist', { rotated: 'yes' }));
      await until('the rotated memberlist', () => informer.get('ns/memberlist')?.metadata.labels?.rotated === 'yes');
      assert.deepEqual(informer.keys(), ['ns/memberlist']);
    });
    assert.equal(api.listCalls[0]?.fieldSelector, 'metadata.name=memberlist');
    assert.equal(api.watchCalls[0]?.fieldSelector, 'metadata.name=memberlist');
  });
});

describe('Informer: lists', () => {
  it('lists in pages and resumes the watch at the resourceVersion of the list', async () => {
    const api = new FakeApi(ConfigMaps);
    for (let i = 0; i < 1201; i++) api.put(object(`cm-${String(i).padStart(4, '0')}`));
    const listedAt = api.resourceVersion;
    await withInformer(api, { namespace: 'ns' }, async (informer) => {
      assert.equal(informer.list().length, 1201);
      assert.equal(informer.stats.listPages, 3);
      assert.deepEqual(api.listCalls.map((c) => c.limit), [500, 500, 500]);
      assert.deepEqual(api.listCalls.map((c) => c.continue !== undefined), [false, true, true]);
      assert.equal(api.watchCalls[0]?.resourceVersion, listedAt);
    });
  });

  it('starts the list over, in one page, when a continue token expires (410)', async () => {
    const api = new FakeApi(ConfigMaps);
    for (let i = 0; i < 12; i++) api.put(object(`cm-${String(i).padStart(2, '0')}`));
    let calls = 0;
    const original = api.listPage.bind(api);
    api.listPage = async (type, options) => {
      calls++;
      if (calls === 2) {
        api.put(object('cm-born-during-list'));
        api.compact();
      }
      return original(type, options);
    };
    await withInformer(api, { namespace: 'ns', pageSize: 5 }, async (informer) => {
      assert.equal(informer.stats.listRestarts, 1);
      assert.equal(informer.list().length, 13, 'the complete, fresh list and nothing twice');
      assert.deepEqual(api.listCalls.map((c) => [c.limit, c.continue !== undefined]), [[5, false], [5, true], [undefined, false]]);
    });
  });
});

describe('Informer: watch and relist', () => {
  it('resumes a watch the server ended from the last resourceVersion, without listing again', async () => {
    const api = new FakeApi(ConfigMaps);
    await withInformer(api, { namespace: 'ns' }, async (informer) => {
      api.put(object('a'));
      await until('a', () => informer.get('ns/a') !== undefined);
      const seen = api.resourceVersion;
      api.endWatches();
      await until('a second watch', () => api.watchCalls.length === 2 && api.openWatches === 1);
      assert.equal(api.watchCalls[1]?.resourceVersion, seen);
      assert.equal(informer.stats.lists, 1);
    });
  });

  it('a bookmark moves the resume point without touching the cache', async () => {
    const api = new FakeApi(ConfigMaps);
    await withInformer(api, { namespace: 'ns', labelSelector: 'x=y' }, async (informer) => {
      api.put(object('elsewhere')); // outside the selector: moves the resourceVersion only
      api.bookmark();
      api.put(object('in', { x: 'y' }));
      await until('in', () => informer.get('ns/in') !== undefined);
      const at = api.resourceVersion;
      api.endWatches();
      await until('a second watch', () => api.watchCalls.length === 2);
      assert.equal(api.watchCalls[1]?.resourceVersion, at);
    });
  });

  it('re-lists on 410 Gone and delivers the deletes it missed as deletes', async () => {
    const api = new FakeApi(ConfigMaps);
    api.put(object('keep'));
    api.put(object('doomed'));
    const deleted: string[] = [];
    await withInformer(api, { namespace: 'ns' }, async (informer) => {
      informer.on({ delete: (o) => deleted.push(objectKey(o)) });
      api.endWatches(new Error('connection reset'));
      // While the informer is away, history moves on and is compacted: the resume point is gone.
      api.remove('ns/doomed');
      api.put(object('born'));
      api.compact();
      await until('the relist', () => informer.stats.lists === 2 && api.openWatches === 1);
      assert.deepEqual(deleted, ['ns/doomed']);
      assert.deepEqual(informer.keys().sort(), ['ns/born', 'ns/keep']);
      assert.ok(informer.stats.watchRestarts >= 1);
    });
  });

  it('re-lists when an open watch ends with 410, without backoff', async () => {
    const api = new FakeApi(ConfigMaps);
    await withInformer(api, { namespace: 'ns', backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } }, async (informer) => {
      api.compact();
      await until('the relist', () => informer.stats.lists === 2 && api.openWatches === 1);
      assert.equal(informer.stats.watchRestarts, 0);
    });
  });

  it('restarts a failed watch after a backoff', async () => {
    const api = new FakeApi(ConfigMaps);
    await withInformer(api, { namespace: 'ns' }, async (informer) => {
      api.put(object('a'));
      await until('a', () => informer.get('ns/a') !== undefined);
      api.endWatches(new ApiError(500, 'InternalError', 'boom'));
      await until('a second watch', () => api.watchCalls.length === 2 && api.openWatches === 1);
      assert.equal(informer.stats.watchRestarts, 1);
      api.put(object('b'));
      await until('b', () => informer.get('ns/b') !== undefined);
    });
  });
});

describe('Informer: transform', () => {
  const managed = { managedFields: [{ manager: 'kubectl', operation: 'Apply' }] } as Partial<KubeObject['metadata']>;

  it('drops managedFields by default, on listed and on watched objects', async () => {
    const api = new FakeApi(ConfigMaps);
    api.put(object('listed', {}, managed));
    await withInformer(api, { namespace: 'ns' }, async (informer) => {
      api.put(object('watched', {}, managed));
      await until('watched', () => informer.get('ns/watched') !== undefined);
      for (const cached of informer.list()) assert.equal('managedFields' in cached.metadata, false, objectKey(cached));
    });
  });

  it('applies a custom transform before caching and before handlers see the object', async () => {
    const api = new FakeApi(ConfigMaps);
    api.put({ ...object('listed'), data: { big: 'x'.repeat(1000) } } as KubeObject);
    const handed: KubeObject[] = [];
    const transform = (o: KubeObject): KubeObject => ({ metadata: { name: o.metadata.name, namespace: o.metadata.namespace, resourceVersion: o.metadata.resourceVersion } });
    await withInformer(api, { namespace: 'ns', transform }, async (informer) => {
      informer.on({ add: (o) => handed.push(o) });
      api.put({ ...object('watched'), data: { big: 'y' } } as KubeObject);
      await until('watched', () => informer.get('ns/watched') !== undefined);
      assert.deepEqual(Object.keys(informer.get('ns/listed') ?? {}), ['metadata']);
      assert.deepEqual(Object.keys(handed[0] ?? {}), ['metadata']);
    });
  });

  it('stripManagedFields leaves an object without them as it is', () => {
    const plain = object('plain');
    assert.equal(stripManagedFields(plain), plain);
  });
});
