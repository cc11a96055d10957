// The controller kit against a real kube-apiserver: declared watches map objects to keys (an
// EndpointSlice to its Service, a Node to every Service), failures are retried with backoff and
// forgotten on success, status goes to /status by server-side apply and only when it differs, condition
// transition times hold still, and repeated events aggregate into one Event with a series count.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setCondition, type Condition } from '../operator/kit/conditions.js';
import { controllerFor, type Controller } from '../operator/kit/controller.js';
import { EventRecorder } from '../operator/kit/events.js';
import { Informer } from '../operator/kit/informer.js';
import { silentLogger } from '../operator/kit/log.js';
import { EndpointSlices, Events, Namespaces, Nodes, objectKey, Services, splitKey, type KubeObject } from '../operator/kit/resources.js';
import { applyStatus, sameJson } from '../operator/kit/status.js';
import { fieldManagers } from '../schemas/resources.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { waitFor } from './lab/processes.js';

interface Service extends KubeObject {
  spec?: { type?: string; ports?: Array<{ port: number }> };
  status?: { conditions?: Condition[] };
}

let cluster: TestCluster;
const ns = 'kit-e2e';

before(async () => {
  cluster = await startTestCluster('kit');
  await cluster.client.create(Namespaces, { metadata: { name: ns } });
});
after(async () => cluster?.stop());

function service(name: string): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } };
}

test('watches map EndpointSlices to their Service and Nodes to every Service; status is written only when it differs', async () => {
  // This test reads managedFields, which caches strip by default: keep them here.
  const services = new Informer<Service>(cluster.client, Services, { namespace: ns, transform: (object) => object });
  const slices = new Informer<KubeObject>(cluster.client, EndpointSlices, { namespace: ns });
  const nodes = new Informer<KubeObject>(cluster.client, Nodes);
  const reconciled: string[] = [];
  const writes: string[] = [];
  let ready: 'True' | 'False' = 'True';
  const reconciler = {
    async reconcile(key: string): Promise<void> {
      reconciled.push(key);
      const current = services.get(key);
      if (current === undefined) return;
      const conditions = setCondition(current.status?.conditions ?? [], {
        type: 'Ready', status: ready, reason: ready === 'True' ? 'Reconciled' : 'Blocked', message: `seen ${key}`,
      }, new Date());
      if (sameJson(conditions, current.status?.conditions ?? [])) return;
      writes.push(key);
      await applyStatus(cluster.client, Services, current, { conditions }, fieldManagers.controller);
    },
  };
  const controller: Controller = controllerFor('services', reconciler)
    .owns(services)
    .watches(slices, (slice) => {
      const owner = slice.metadata.labels?.['kubernetes.io/service-name'];
      return owner === undefined ? [] : [`${slice.metadata.namespace}/${owner}`];
    })
    .watches(nodes, () => services.keys())
    .resyncEvery(0)
    .build(silentLogger);
  for (const informer of [services, slices, nodes]) informer.start();
  await Promise.all([services, slices, nodes].map((i) => i.waitForSync()));
  controller.start();
  try {
    await cluster.client.create(Services, service('web'));
    await cluster.client.create(Services, service('db'));
    await waitFor('both Services reconciled and their status written', () => {
      const web = services.get(`${ns}/web`)?.status?.conditions;
      const db = services.get(`${ns}/db`)?.status?.conditions;
      return web?.[0]?.status === 'True' && db?.[0]?.status === 'True';
    }, 10_000);
    const firstTransition = services.get(`${ns}/web`)!.status!.conditions![0]!.lastTransitionTime;

    // An EndpointSlice enqueues its Service, and only it. The reconcile finds nothing new: no write.
    reconciled.length = 0;
    writes.length = 0;
    await cluster.client.create(EndpointSlices, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-abc', namespace: ns, labels: { 'kubernetes.io/service-name': 'web' } },
      ...{ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.7'] }], ports: [{ port: 80 }] },
    });
    await waitFor('the slice to reconcile its Service', () => reconciled.includes(`${ns}/web`), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual([...new Set(reconciled)], [`${ns}/web`]);
    assert.deepEqual(writes, [], 'an unchanged status is not written again');

    // A Node enqueues every Service.
    reconciled.length = 0;
    await cluster.client.create(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'kit-node' } });
    await waitFor('the node to reconcile every Service', () => reconciled.includes(`${ns}/web`) && reconciled.includes(`${ns}/db`), 10_000);

    // A status change moves lastTransitionTime; a message-only change does not.
    await new Promise((resolve) => setTimeout(resolve, 1100)); // condition times have whole seconds
    ready = 'False';
    controller.queue.add(`${ns}/web`);
    await waitFor('web to turn not ready', () => services.get(`${ns}/web`)?.status?.conditions?.[0]?.status === 'False', 10_000);
    const moved = services.get(`${ns}/web`)!.status!.conditions![0]!.lastTransitionTime;
    assert.notEqual(moved, firstTransition);
    const managedFields = (services.get(`${ns}/web`)!.metadata as { managedFields?: Array<{ manager: string; subresource?: string }> }).managedFields ?? [];
    assert.ok(managedFields.some((f) => f.manager === fieldManagers.controller && f.subresource === 'status'), 'written by SSA to /status');
  } finally {
    await controller.stop();
    await Promise.all([services, slices, nodes].map((i) => i.stop()));
  }
});

test('a failing reconcile is retried with growing backoff and forgotten once it succeeds', async () => {
  // This test reads managedFields, which caches strip by default: keep them here.
  const services = new Informer<Service>(cluster.client, Services, { namespace: ns, transform: (object) => object });
  const attempts: number[] = [];
  let failuresLeft = 3;
  const controller = controllerFor('flaky', {
    async reconcile(key: string): Promise<void> {
      if (splitKey(key).name !== 'flaky') return;
      attempts.push(Date.now());
      if (failuresLeft-- > 0) throw new Error('transient');
    },
  }).owns(services).resyncEvery(0).build(silentLogger);
  services.start();
  await services.waitForSync();
  controller.start();
  try {
    await cluster.client.create(Services, service('flaky'));
    await waitFor('four attempts', () => attempts.length >= 4, 10_000);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    assert.ok(gaps[1]! >= gaps[0]! && gaps[2]! >= gaps[1]!, `backoff grows: ${gaps.join(', ')} ms`);
    assert.ok(gaps[2]! >= 15, `third retry waited ${gaps[2]} ms (5, 10, 20 ms)`);
    await waitFor('the key to be forgotten', () => controller.queue.retries(`${ns}/flaky`) === 0, 5000);
    assert.equal(controller.stats.errors, 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(attempts.length, 4, 'no retry after success');
  } finally {
    await controller.stop();
    await services.stop();
  }
});

test('repeats of an event aggregate into one Event whose series counts them', async () => {
  const regarding = await cluster.client.create(Services, service('noisy'));
  const recorder = new EventRecorder(cluster.client, 'l2lb.dev/controller', 'test', silentLogger, 200);
  for (let i = 0; i < 5; i++) {
    recorder.record(Services, regarding, { type: 'Warning', reason: 'AllocationFailed', action: 'Allocate', note: 'no available IPs' });
  }
  recorder.record(Services, regarding, { type: 'Normal', reason: 'IPAllocated', action: 'Allocate', note: 'assigned 192.168.1.240' });
  await waitFor('the series count to reach 5', async () => {
    const { items } = await cluster.client.list<KubeObject & { reason?: string; reportingController?: string; series?: { count: number } }>(Events, ns);
    const failures = items.filter((e) => e.reason === 'AllocationFailed' && e.reportingController === 'l2lb.dev/controller');
    return failures.length === 1 && failures[0]!.series?.count === 5;
  }, 10_000);
  // Only ours: the API server records events of its own about Services (ClusterIP repair, for one).
  const { items } = await cluster.client.list<KubeObject & { reason?: string; reportingController?: string; regarding?: { name: string } }>(Events, ns);
  const ours = items.filter((e) => e.reportingController === 'l2lb.dev/controller');
  assert.deepEqual(ours.map((e) => e.reason).sort(), ['AllocationFailed', 'IPAllocated']);
  assert.ok(ours.every((e) => e.regarding?.name === 'noisy'));
  assert.equal(objectKey(regarding), `${ns}/noisy`);
});
