// Not yet part of `make test`: in its first lab runs the alert and the cross-program trace checks were
// flaky (passed once, timed out once). Run it by hand: node --test dist/e2e/observability.lab-pending.js
// Observability in the lab, judged by the real tools (e2e/lab/observability.ts starts them with the lab):
//  - the guide's MetalLBPoolExhausted: a pool filled past 90% is what its expression returns, and the alert
//    (its `for` shortened in the lab's copy) reaches pending or firing;
//  - a killed controller is `up{job="metallb-controller"} == 0`;
//  - a created Service is one trace in Jaeger with spans from both l2lb-controller and l2lb-speaker.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools, L2Advertisements } from '../schemas/resources.js';
import { setEndpoints } from './lab/endpoints.js';
import { kubectl } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { LAB_OBSERVABILITY_PORTS } from './lab/observability.js';
import { ensureController, operatorPorts } from './lab/operator.js';
import { stopDaemon, waitFor } from './lab/processes.js';

const NS = 'metallb-system';
const TEST_LABEL = 'l2lb-e2e=observability';
const prometheus = `http://127.0.0.1:${LAB_OBSERVABILITY_PORTS.prometheus}`;
const jaeger = `http://127.0.0.1:${LAB_OBSERVABILITY_PORTS.query}`;
let client: KubeClient;

before(async () => {
  await labUp(2, () => undefined);
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-observability');
  reset();
});
after(() => {
  reset();
  client?.close();
});

function reset(): void {
  kubectl('delete', 'services', '-n', 'default', '-l', TEST_LABEL, '--wait=true');
  kubectl('delete', 'l2advertisements,ipaddresspools', '-n', NS, '-l', TEST_LABEL, '--wait=true');
}

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; data: { result: Sample[] } };
  assert.equal(body.status, 'success', expr);
  return body.data.result;
}

interface Alert {
  readonly labels: Record<string, string>;
  readonly state: 'inactive' | 'pending' | 'firing';
}

async function alerts(): Promise<Alert[]> {
  const body = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

function lbService(name: string, pool: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: 'default', labels: { 'l2lb-e2e': 'observability' }, annotations: { 'metallb.io/address-pool': pool } },
    ...{ spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] } },
  };
}

async function createPool(name: string, addresses: string[]): Promise<void> {
  const labels = { 'l2lb-e2e': 'observability' };
  await client.create(IPAddressPools, { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: NS, labels }, ...{ spec: { addresses } } });
  await client.create(L2Advertisements, { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name, namespace: NS, labels }, ...{ spec: { ipAddressPools: [name] } } });
}

test('a pool past 90%: the guide\'s MetalLBPoolExhausted expression returns it, and the alert goes pending or firing', async () => {
  await createPool('obs-small', ['192.168.1.236-192.168.1.237']);
  for (const name of ['obs-fill-1', 'obs-fill-2']) await client.create(Services, lbService(name, 'obs-small'));
  const expr = 'metallb_allocator_addresses_in_use_total / metallb_allocator_addresses_total > 0.9';
  await waitFor('the exhaustion expression to return obs-small', async () =>
    (await query(expr)).some((s) => s.metric.pool === 'obs-small' && Number(s.value[1]) === 1), 30_000, 500);
  const gauges = await query('metallb_allocator_addresses_in_use_total{pool="obs-small"}');
  assert.equal(gauges[0]?.metric.job, 'metallb-controller');
  await waitFor('MetalLBPoolExhausted pending or firing for obs-small', async () =>
    (await alerts()).some((a) => a.labels.alertname === 'MetalLBPoolExhausted' && a.labels.pool === 'obs-small' && a.state !== 'inactive'), 30_000, 500);
  // The lab's `for` is 10 s: firing follows.
  await waitFor('MetalLBPoolExhausted firing for obs-small', async () =>
    (await alerts()).some((a) => a.labels.alertname === 'MetalLBPoolExhausted' && a.labels.pool === 'obs-small' && a.state === 'firing'), 40_000, 500);
});

test('every speaker is scraped as job metallb-speaker, named by its node, with MetalLB\'s and memberlist series', async () => {
  await waitFor('both speakers up', async () => (await query('up{job="metallb-speaker"} == 1')).length === 2, 30_000, 500);
  const instances = (await query('up{job="metallb-speaker"}')).map((s) => s.metric.instance).sort();
  assert.deepEqual(instances, ['lab-node-1', 'lab-node-2']);
  await waitFor('memberlist peer gauges', async () => (await query('l2lb_memberlist_peers_alive')).length === 2, 30_000, 500);
});

test('a killed controller is up{job="metallb-controller"} == 0', async () => {
  const paths = labPaths();
  await waitFor('the controller scraped up', async () => (await query('up{job="metallb-controller"} == 1')).length === 1, 30_000, 500);
  await stopDaemon(join(paths.run, 'controller.pid'), 'SIGKILL');
  try {
    await waitFor('up{job="metallb-controller"} to read 0', async () =>
      (await query('up{job="metallb-controller"}')).some((s) => s.value[1] === '0'), 20_000, 500);
  } finally {
    ensureController(paths, await operatorPorts(join(paths.root, 'operator-ports.json')));
  }
  await waitFor('the controller scraped up again', async () => (await query('up{job="metallb-controller"} == 1')).length === 1, 60_000, 500);
});

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly events?: ReadonlyArray<{ readonly name: string }>;
}

interface OtlpTraces {
  readonly result?: {
    readonly resourceSpans?: ReadonlyArray<{
      readonly resource?: { readonly attributes?: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }> };
      readonly scopeSpans?: ReadonlyArray<{ readonly spans?: readonly OtlpSpan[] }>;
    }>;
  };
}

/** Spans of the traces Jaeger holds for `service` since `since`, each with the service that sent it. */
async function tracesOf(service: string, since: Date): Promise<Map<string, Array<OtlpSpan & { service: string }>>> {
  const params = new URLSearchParams({
    'query.service_name': service,
    'query.start_time_min': since.toISOString(),
    'query.start_time_max': new Date(Date.now() + 60_000).toISOString(),
    'query.num_traces': '100',
  });
  const response = await fetch(`${jaeger}/api/v3/traces?${params}`);
  const traces = new Map<string, Array<OtlpSpan & { service: string }>>();
  if (response.status === 404) return traces; // nothing yet
  const body = (await response.json()) as OtlpTraces;
  for (const resourceSpans of body.result?.resourceSpans ?? []) {
    const name = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const list = traces.get(span.traceId) ?? [];
        list.push({ ...span, service: name });
        traces.set(span.traceId, list);
      }
    }
  }
  return traces;
}

test('a created Service is one trace across l2lb-controller and l2lb-speaker in Jaeger', async () => {
  await createPool('obs-trace', ['192.168.1.238']);
  const since = new Date(Date.now() - 1000);
  await client.create(Services, lbService('obs-traced', 'obs-trace'));
  await setEndpoints(client, 'default', 'obs-traced', [{ node: 'lab-node-1' }, { node: 'lab-node-2' }]);
  let found: Array<OtlpSpan & { service: string }> | undefined;
  await waitFor('a trace with spans from both programs', async () => {
    for (const spans of (await tracesOf('l2lb-controller', since)).values()) {
      const services = new Set(spans.map((s) => s.service));
      if (services.has('l2lb-controller') && services.has('l2lb-speaker')) found = spans;
    }
    return found !== undefined;
  }, 45_000, 1000);
  const names = (found ?? []).map((s) => `${s.service}: ${s.name}`);
  console.log(`trace spans:\n  ${names.join('\n  ')}`);
  for (const expected of ['l2lb-controller: reconcile services', 'l2lb-controller: allocation', 'l2lb-controller: status write']) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  }
  // The speaker's spans hang under one of the controller's: one tree, not two traces side by side.
  const controllerSpans = new Set((found ?? []).filter((s) => s.service === 'l2lb-controller').map((s) => s.spanId));
  assert.ok(found?.some((s) => s.service === 'l2lb-speaker' && controllerSpans.has(s.parentSpanId ?? '')), 'a speaker span whose parent is a controller span');
});
