// The controller program against a private kube-apiserver (not the lab): its /metrics carries MetalLB's
// allocator gauges for the pools it serves and drops a deleted pool's series; promtool (when built) finds
// nothing but MetalLB's own names to object to on the real scrape; and with an OTLP endpoint, a Service's
// allocation is a trace in Jaeger (when built) whose status write's traceparent is on the Service.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Namespaces, Services, type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools, L2Advertisements } from '../schemas/resources.js';
import { TRACE_ANNOTATION } from '../operator/kit/tracing.js';
import { builtFixture, repoRoot } from './fixtures.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { jaegerConfig } from './lab/observability.js';
import { freePort, waitFor } from './lab/processes.js';

let cluster: TestCluster;
let controller: ChildProcess | undefined;
let jaeger: ChildProcess | undefined;
let metricsPort = 0;
let queryPort = 0;
const jaegerBin = builtFixture('jaeger');
const prometheusBin = builtFixture('prometheus');

before(async () => {
  cluster = await startTestCluster('observability');
  cluster.kubectl('apply', '-k', join(repoRoot, 'config', 'crd'));
  cluster.kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io');
  await cluster.client.create(Namespaces, { metadata: { name: 'metallb-system' } });
  const env: Record<string, string> = {};
  if (jaegerBin !== undefined) {
    const otlp = await freePort();
    queryPort = await freePort();
    const config = join(cluster.root, 'jaeger.yaml');
    writeFileSync(config, jaegerConfig({ prometheus: 0, otlp, query: queryPort }, await freePort()));
    jaeger = spawn(join(jaegerBin, 'jaeger'), [`--config=${config}`], { stdio: 'ignore' });
    await waitFor('jaeger', async () => (await fetch(`http://127.0.0.1:${queryPort}/api/v3/services`).catch(() => undefined))?.ok === true, 60_000, 250);
    Object.assign(env, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp}`, OTEL_SERVICE_NAME: 'l2lb-controller' });
  }
  metricsPort = await freePort();
  controller = spawn(process.execPath, [join(repoRoot, 'dist', 'operator', 'controller-main.js'), `--kubeconfig=${cluster.kubeconfig}`,
    `--http-port=${metricsPort}`, '--http-host=127.0.0.1', '--webhook-port=0', '--leader-elect=false'],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env, L2LB_LOG_LEVEL: 'warn' } });
  await waitFor('controller ready', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.ok === true, 60_000, 250);
});

after(async () => {
  controller?.kill('SIGTERM');
  jaeger?.kill('SIGTERM');
  await cluster?.stop();
});

async function scrape(): Promise<string> {
  return await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

function pool(name: string, addresses: string[]): KubeObject {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system' }, ...{ spec: { addresses } } };
}

test('the pool gauges follow the pools and the Services; a deleted pool\'s series go', async () => {
  await cluster.client.create(IPAddressPools, pool('web', ['192.168.1.100-192.168.1.119']));
  await cluster.client.create(IPAddressPools, pool('gone', ['192.168.1.120-192.168.1.129']));
  await cluster.client.create(L2Advertisements, { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'all', namespace: 'metallb-system' } });
  await cluster.client.create(Services, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx-lb', namespace: 'default', annotations: { 'metallb.io/address-pool': 'web' } },
    ...{ spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] } },
  });
  await waitFor('web in use 1', async () => (await scrape()).includes('metallb_allocator_addresses_in_use_total{pool="web"} 1'), 20_000, 200);
  const text = await scrape();
  for (const line of [
    'metallb_allocator_addresses_total{pool="web"} 20', 'metallb_allocator_ipv4_addresses_total{pool="web"} 20',
    'metallb_allocator_services_allocated_total{pool="web"} 1', 'metallb_allocator_addresses_total{pool="gone"} 10',
    'metallb_k8s_client_config_loaded_bool 1', 'metallb_k8s_client_config_stale_bool 0', 'workqueue_depth{name="services"} 0',
  ]) assert.ok(text.includes(line), line);
  assert.match(text, /^controller_runtime_reconcile_total\{controller="services",result="success"\} [1-9]/m);
  assert.match(text, /^metallb_k8s_client_updates_total [1-9]/m);
  assert.match(text, /^process_resident_memory_bytes /m);
  await cluster.client.delete(IPAddressPools, 'metallb-system', 'gone');
  await waitFor('the deleted pool\'s series gone', async () => !(await scrape()).includes('pool="gone"'), 20_000, 200);
});

test('promtool check metrics on the real scrape: only MetalLB\'s own names draw lint', { skip: prometheusBin === undefined ? 'prometheus fixture not built' : false }, async () => {
  const result = spawnSync(join(prometheusBin ?? '', 'promtool'), ['check', 'metrics'], { input: await scrape(), encoding: 'utf8' });
  const complaints = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('metallb_allocator_') && !l.startsWith('metallb_layer2_') && !l.startsWith('nodejs_active_'));
  assert.deepEqual(complaints, []);
});

test('with an OTLP endpoint: the allocation is a trace in Jaeger, and its status write\'s traceparent is on the Service', { skip: jaegerBin === undefined ? 'jaeger fixture not built' : false }, async () => {
  await cluster.client.create(Services, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'traced', namespace: 'default', annotations: { 'metallb.io/address-pool': 'web' } },
    ...{ spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] } },
  });
  let traceparent: string | undefined;
  await waitFor('traceparent annotation', async () => {
    const service = await cluster.client.get<KubeObject>(Services, 'default', 'traced');
    traceparent = service.metadata.annotations?.[TRACE_ANNOTATION];
    return traceparent !== undefined;
  }, 20_000, 200);
  const [, traceId, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(traceparent ?? '') ?? [];
  assert.ok(traceId !== undefined, `traceparent ${traceparent}`);
  let names: string[] = [];
  await waitFor('the trace in Jaeger', async () => {
    const response = await fetch(`http://127.0.0.1:${queryPort}/api/v3/traces/${traceId}`);
    if (!response.ok) return false;
    const body = (await response.json()) as { result?: { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ name: string; spanId: string }> }> }> } };
    const spans = (body.result?.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
    names = spans.map((s) => s.name).sort();
    return names.includes('status write');
  }, 30_000, 500);
  assert.deepEqual(names.filter((n) => ['reconcile services', 'allocation', 'status write'].includes(n)), ['allocation', 'reconcile services', 'status write']);
  assert.ok(spanId !== undefined);
  // Writing the annotation must not start reconciles of its own: the count holds still once settled.
  const reconciles = async (): Promise<string> => /^controller_runtime_reconcile_total\{controller="services",result="success"\} (\d+)/m.exec(await scrape())?.[1] ?? '';
  const settled = await reconciles();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(await reconciles(), settled);
});
