import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import { createLogger } from '../operator/kit/log.js';
import type { KubeObject, ResourceType } from '../operator/kit/resources.js';
import { speakerDaemonSet } from '../schemas/generated/speaker-daemonset.js';
import type { MetalLB } from '../schemas/generated/types.js';
import type { DaemonSet } from './install/desired.js';
import { InstallReconciler, installFieldManager } from './install.js';

interface Call { readonly kind: string; readonly subresource: string | undefined; readonly fieldManager: string; readonly object: KubeObject & { status?: unknown } }

function cacheOf<T extends KubeObject>(objects: readonly T[]): Informer<T> {
  const key = (o: T): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  const fake = { get: (k: string) => objects.find((o) => key(o) === k), list: () => [...objects], keys: () => objects.map(key) };
  return fake as unknown as Informer<T>;
}

function harness(metallbs: MetalLB[], daemonSets: Array<DaemonSet & KubeObject>) {
  const calls: Call[] = [];
  const client = {
    apply: async (type: ResourceType, object: KubeObject, fieldManager: string, subresource?: string) => {
      calls.push({ kind: type.kind, subresource, fieldManager, object });
      // As the API server answers a create: generation 1, not yet observed by the DaemonSet controller.
      return { ...object, metadata: { ...object.metadata, generation: 1 } };
    },
  } as unknown as KubeClient;
  const reconciler = new InstallReconciler(client, cacheOf(metallbs), cacheOf(daemonSets), { namespace: 'metallb-system', template: speakerDaemonSet },
    createLogger({ sink: () => undefined }), () => new Date('2026-11-30T07:00:00Z'));
  return { calls, reconciler };
}

const metallb: MetalLB = { apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', metadata: { name: 'metallb', namespace: 'metallb-system', uid: 'u', generation: 1 }, spec: {} };

describe('InstallReconciler', () => {
  it('no MetalLB resource: writes nothing', async () => {
    const { calls, reconciler } = harness([], []);
    await reconciler.reconcile('metallb-system/metallb');
    assert.deepEqual(calls, []);
  });

  it('a new MetalLB resource: applies the speaker DaemonSet under its own field manager, then Progressing status', async () => {
    const { calls, reconciler } = harness([metallb], []);
    const result = await reconciler.reconcile('metallb-system/metallb');
    assert.deepEqual(calls.map((c) => [c.kind, c.subresource, c.fieldManager]), [
      ['DaemonSet', undefined, installFieldManager],
      ['MetalLB', 'status', 'l2lb-controller'],
    ]);
    const status = calls[1]?.object.status as { conditions: Array<{ type: string; status: string; reason: string }> };
    assert.deepEqual(status.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Available=False/NoSpeakerAvailable', 'Progressing=True/Updating', 'Degraded=False/AsExpected']);
    assert.ok((result?.requeueAfterMs ?? 0) > 0, 'looks again while the rollout runs');
  });

  it('a second MetalLB resource: no DaemonSet, only a status saying it is ignored', async () => {
    const other: MetalLB = { ...metallb, metadata: { ...metallb.metadata, name: 'other' } };
    const { calls, reconciler } = harness([other], []);
    await reconciler.reconcile('metallb-system/other');
    assert.deepEqual(calls.map((c) => c.kind), ['MetalLB']);
  });

  it('steady state: the DaemonSet as applied and the status as computed: writes nothing', async () => {
    const first = harness([metallb], []);
    await first.reconciler.reconcile('metallb-system/metallb');
    const applied = first.calls[0]?.object as DaemonSet & KubeObject;
    const running = { ...applied, metadata: { ...applied.metadata, generation: 1 },
      status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 } };
    const second = harness([metallb], [running]);
    await second.reconciler.reconcile('metallb-system/metallb');
    assert.deepEqual(second.calls.map((c) => c.kind), ['MetalLB'], 'only the status moves: Available');
    const settled = { ...metallb, status: second.calls[0]?.object.status as MetalLB['status'] };
    const third = harness([settled], [running]);
    await third.reconciler.reconcile('metallb-system/metallb');
    assert.deepEqual(third.calls, []);
  });
});
