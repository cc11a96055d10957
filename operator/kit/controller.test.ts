import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedContentChanged, controllerFor, specChanged } from './controller.js';
import type { Informer, InformerHandlers } from './informer.js';
import { silentLogger } from './log.js';
import type { KubeObject } from './resources.js';

const pool = (generation: number | undefined, extra: Partial<KubeObject['metadata']> = {}, status?: unknown): KubeObject =>
  ({ metadata: { name: 'p', namespace: 'ns', ...(generation === undefined ? {} : { generation }), ...extra }, ...(status === undefined ? {} : { status }) }) as KubeObject;

describe('specChanged', () => {
  const cases: ReadonlyArray<[string, KubeObject, KubeObject, boolean]> = [
    ['a status write (same generation): no', pool(3, {}, { a: 1 }), pool(3, {}, { a: 2 }), false],
    ['a spec change (generation moved): yes', pool(3), pool(4), true],
    ['a label added (selectors read labels): yes', pool(3), pool(3, { labels: { zone: 'a' } }), true],
    ['the same labels in another order: no', pool(3, { labels: { a: '1', b: '2' } }), pool(3, { labels: { a: '1', b: '2' } }), false],
    ['deletion begun: yes', pool(3), pool(3, { deletionTimestamp: '2026-12-01T10:00:00Z' }), true],
    ['no generation kept (a resource without a status subresource): every update counts', pool(undefined), pool(undefined), true],
  ];
  for (const [name, before, after, expected] of cases) it(name, () => assert.equal(specChanged(before, after), expected));
});

describe('cachedContentChanged', () => {
  const cases: ReadonlyArray<[string, KubeObject, KubeObject, boolean]> = [
    ['only the resourceVersion moved (a write to a field the transform dropped): no',
      pool(3, { resourceVersion: '1' }, { a: 1 }), pool(3, { resourceVersion: '2' }, { a: 1 }), false],
    ['a kept field changed: yes', pool(3, { resourceVersion: '1' }, { a: 1 }), pool(3, { resourceVersion: '2' }, { a: 2 }), true],
    ['a label changed: yes', pool(3, { resourceVersion: '1' }), pool(3, { resourceVersion: '2', labels: { zone: 'a' } }), true],
    ['deletion begun: yes', pool(3), pool(3, { deletionTimestamp: '2026-12-01T10:00:00Z' }), true],
  ];
  for (const [name, before, after, expected] of cases) it(name, () => assert.equal(cachedContentChanged(before, after), expected));
});

describe('ControllerBuilder.watches with a predicate', () => {
  it('enqueues adds, deletes and the updates the predicate accepts, and nothing for the others', () => {
    let handlers: InformerHandlers<KubeObject> = {};
    const informer = { on(h: InformerHandlers<KubeObject>) { handlers = h; return this; } } as unknown as Informer<KubeObject>;
    const controller = controllerFor('test', { reconcile: async () => undefined })
      .watches(informer, (object) => [object.metadata.name ?? ''], specChanged)
      .build(silentLogger, () => []);
    handlers.update?.(pool(3, {}, { a: 1 }), pool(3, {}, { a: 2 }));
    assert.equal(controller.queue.len(), 0, 'a status write enqueued');
    handlers.update?.(pool(3), pool(4));
    assert.equal(controller.queue.len(), 1, 'a spec change did not enqueue');
    handlers.add?.(pool(1, { name: 'added' }));
    handlers.delete?.(pool(1, { name: 'deleted' }));
    assert.equal(controller.queue.len(), 3, 'an add or a delete did not enqueue');
  });
});
