import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import { ApiGate } from '../operator/kit/api-gate.js';
import type { ServiceL2Status } from '../schemas/generated/types.js';
import { NODE_LABEL, ServiceL2StatusReconciler, statusAction, statusName, type StatusAction, type WantedStatus } from './servicel2status.js';

const SELF = 'node-a';
const status = (node: string, interfaces: string[], labels: Record<string, string> = { [NODE_LABEL]: node }): ServiceL2Status => ({
  apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name: 'l2-x', namespace: 'metallb-system', labels },
  status: { node, serviceName: 'web', serviceNamespace: 'default', interfaces: interfaces.map((name) => ({ name })) },
} as ServiceL2Status);
const wanted = (interfaces: string[]): WantedStatus => ({ service: 'default/web', interfaces });
const written = { node: SELF, serviceName: 'web', serviceNamespace: 'default', interfaces: [{ name: 'eth0' }] };

describe('statusAction', () => {
  const cases: ReadonlyArray<[string, WantedStatus | undefined, ServiceL2Status | undefined, StatusAction]> = [
    ['wanted and absent: created, labelled with node and Service, and its status written', wanted(['eth0']), undefined,
      { kind: 'create-and-write', status: written,
        labels: { [NODE_LABEL]: SELF, 'metallb.io/service-name': 'web', 'metallb.io/service-namespace': 'default' } }],
    ['wanted and already as wanted: nothing is written', wanted(['eth0']), status(SELF, ['eth0']), { kind: 'none' }],
    ['wanted with other interfaces: the status is rewritten', wanted(['eth0']), status(SELF, ['eth1']), { kind: 'write', status: written }],
    ['no longer wanted, ours: deleted', undefined, status(SELF, ['eth0']), { kind: 'delete' }],
    ['not wanted and another node\'s: never ours to delete', undefined, status('node-b', ['eth0']), { kind: 'none' }],
    ['not wanted and absent: nothing', undefined, undefined, { kind: 'none' }],
  ];
  for (const [name, want, existing, expected] of cases) {
    it(name, () => assert.deepEqual(statusAction(SELF, want, existing), expected));
  }

  it('status names differ per node for one Service, and are stable', () => {
    assert.notEqual(statusName('node-a', 'default/web'), statusName('node-b', 'default/web'));
    assert.equal(statusName('node-a', 'default/web'), statusName('node-a', 'default/web'));
  });
});

describe('ServiceL2StatusReconciler.want', () => {
  const make = () => {
    const enqueued: string[] = [];
    const reconciler = new ServiceL2StatusReconciler({
      self: SELF, namespace: 'metallb-system', client: {} as KubeClient, gate: new ApiGate(),
      statuses: { list: () => [], get: () => undefined } as unknown as Informer<ServiceL2Status>,
      enqueue: (name) => enqueued.push(name),
    });
    return { reconciler, enqueued };
  };
  const name = (service: string) => statusName(SELF, service);

  it('enqueues each Service newly announced, and nothing when the same set is wanted again', () => {
    const { reconciler, enqueued } = make();
    reconciler.want(new Map([['default/a', ['eth0']], ['default/b', ['eth0']]]));
    assert.deepEqual(enqueued.splice(0), [name('default/a'), name('default/b')]);
    reconciler.want(new Map([['default/a', ['eth0']], ['default/b', ['eth0']]]));
    assert.deepEqual(enqueued, []);
  });

  it('enqueues only what changed: new interfaces, and a Service no longer announced', () => {
    const { reconciler, enqueued } = make();
    reconciler.want(new Map([['default/a', ['eth0']], ['default/b', ['eth0']]]));
    enqueued.splice(0);
    reconciler.want(new Map([['default/a', ['eth0', 'eth1']]]));
    assert.deepEqual(enqueued, [name('default/a'), name('default/b')]);
    assert.deepEqual(reconciler.keys(), [name('default/a')]);
  });
});

describe('ServiceL2StatusReconciler: statuses a dead peer left behind', () => {
  it('for each Service we announce, every dead peer\'s status is enqueued for deletion, once', async () => {
    const enqueued: string[] = [];
    const deleted: string[] = [];
    const client = { delete: async (_type: unknown, _ns: string, name: string) => { deleted.push(name); } } as unknown as KubeClient;
    const reconciler = new ServiceL2StatusReconciler({
      self: SELF, namespace: 'metallb-system', client, gate: new ApiGate(),
      statuses: { list: () => [], get: () => undefined } as unknown as Informer<ServiceL2Status>,
      enqueue: (name) => enqueued.push(name),
    });
    const services = new Map([['default/a', ['eth0']]]);
    reconciler.want(services, ['node-b']);
    const stale = statusName('node-b', 'default/a');
    assert.deepEqual(enqueued.splice(0), [statusName(SELF, 'default/a'), stale]);
    await reconciler.reconcile(stale);
    await reconciler.reconcile(stale);
    assert.deepEqual(deleted, [stale], 'deleted once, not on every look');
    reconciler.want(services, ['node-b']);
    assert.deepEqual(enqueued.splice(0), [], 'nothing to do while the same peer stays dead');
    reconciler.want(services, []);
    reconciler.want(services, ['node-b']);
    assert.deepEqual(enqueued.splice(0), [stale], 'a peer that came back and died again is cleared again');
  });
});
