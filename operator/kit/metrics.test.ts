import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { HttpEndpoints } from './http-endpoints.js';
import { collectProcessMetrics, KitMetrics, METRICS_PATH, metricsRoute } from './metrics.js';
import type { RateLimiter } from './ratelimit.js';
import { WorkQueue } from './workqueue.js';

const noLimit: RateLimiter<string> = { when: () => 0, forget: () => undefined, retries: () => 0 };

/** The sample lines of a scrape (no comments), for exact comparison. */
async function samples(registry: Registry, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith(prefix));
}

test('a counter keeps exactly the name it was given: nothing is appended (MetalLB names counters without _total)', async () => {
  const registry = new Registry();
  new Counter({ name: 'metallb_layer2_requests_received', help: 'h', labelNames: ['ip'], registers: [registry] }).inc({ ip: '192.168.1.240' });
  const text = await registry.metrics();
  assert.match(text, /^# TYPE metallb_layer2_requests_received counter$/m);
  assert.deepEqual(await samples(registry, 'metallb_layer2'), ['metallb_layer2_requests_received{ip="192.168.1.240"} 1']);
  assert.equal(registry.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test('reconciles are counted by controller and result, errors apart, and timed', async () => {
  const registry = new Registry();
  const kit = new KitMetrics(registry);
  const seen: string[] = [];
  kit.onReconciled(({ controller, outcome }) => seen.push(`${controller}:${outcome}`));
  kit.reconciled({ controller: 'services', outcome: 'success', seconds: 0.003 });
  kit.reconciled({ controller: 'services', outcome: 'error', seconds: 0.2 });
  kit.reconciled({ controller: 'pools', outcome: 'requeue_after', seconds: 0.01 });
  assert.deepEqual(await samples(registry, 'controller_runtime_reconcile_total'), [
    'controller_runtime_reconcile_total{controller="services",result="success"} 1',
    'controller_runtime_reconcile_total{controller="services",result="error"} 1',
    'controller_runtime_reconcile_total{controller="pools",result="requeue_after"} 1',
  ]);
  assert.deepEqual(await samples(registry, 'controller_runtime_reconcile_errors_total'), ['controller_runtime_reconcile_errors_total{controller="services"} 1']);
  const histogram = await samples(registry, 'controller_runtime_reconcile_time_seconds');
  assert.ok(histogram.includes('controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="services"} 1'));
  assert.ok(histogram.includes('controller_runtime_reconcile_time_seconds_count{controller="services"} 2'));
  assert.deepEqual(seen, ['services:success', 'services:error', 'pools:requeue_after']);
});

test('a named queue reports its depth at scrape time, adds that were not deduplicated, and retries', async () => {
  const registry = new Registry();
  const kit = new KitMetrics(registry);
  const queue = new WorkQueue<string>(noLimit, { name: 'services', metrics: kit });
  assert.deepEqual(await samples(registry, 'workqueue_'), [
    'workqueue_depth{name="services"} 0', 'workqueue_adds_total{name="services"} 0', 'workqueue_retries_total{name="services"} 0',
  ]);
  for (const key of ['a', 'b', 'a']) queue.add(key); // the second 'a' is deduplicated: no work, no add
  assert.deepEqual(await samples(registry, 'workqueue_depth'), ['workqueue_depth{name="services"} 2']);
  const item = await queue.get();
  queue.addRateLimited(item?.key ?? '');
  queue.done(item?.key ?? '');
  // The retry is an add too (the key re-enters the dirty set), as in client-go.
  assert.deepEqual(await samples(registry, 'workqueue_'), [
    'workqueue_depth{name="services"} 2', 'workqueue_adds_total{name="services"} 4', 'workqueue_retries_total{name="services"} 1',
  ]);
  queue.shutDown();
});

test('leader status is read at scrape time; changes and API requests are counted', async () => {
  const registry = new Registry();
  const kit = new KitMetrics(registry);
  let leading = false;
  kit.trackLeader('l2lb-controller', () => leading);
  assert.deepEqual(await samples(registry, 'leader_election_master_status'), ['leader_election_master_status{name="l2lb-controller"} 0']);
  leading = true;
  kit.leaderChanged('l2lb-controller');
  kit.apiRequest('PATCH', 200);
  kit.apiRequest('GET', '<error>');
  assert.deepEqual(await samples(registry, 'leader_election_master_status'), ['leader_election_master_status{name="l2lb-controller"} 1']);
  assert.deepEqual(await samples(registry, 'l2lb_leader_election_changes_total'), ['l2lb_leader_election_changes_total{name="l2lb-controller"} 1']);
  assert.deepEqual(await samples(registry, 'rest_client_requests_total'), [
    'rest_client_requests_total{method="PATCH",code="200"} 1', 'rest_client_requests_total{method="GET",code="<error>"} 1',
  ]);
});

test('/metrics is served beside the probes, in the text format, with the process metrics', async () => {
  const registry = new Registry();
  collectProcessMetrics(registry);
  collectProcessMetrics(registry); // idempotent: registering twice would throw
  new KitMetrics(registry);
  const endpoints = new HttpEndpoints({ healthz: () => ({ ok: true }), readyz: () => ({ ok: true }) }).route(METRICS_PATH, metricsRoute(registry));
  const port = await endpoints.listen(0, '127.0.0.1');
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'controller_runtime_reconcile_total']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  } finally {
    await endpoints.close();
  }
});
