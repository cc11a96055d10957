// Observability in the lab, judged by the real tools (e2e/lab/observability.ts starts them with the lab):
//  - the guide's MetalLBPoolExhausted: a pool filled past 90% is what its expression returns, and the alert
//    (its `for` shortened in the lab's copy) reaches pending or firing;
//  - a killed controller is `up{job="metallb-controller"} == 0`;
//  - a created Service is one trace in Jaeger: the controller's reconcile, allocation and status write,
//    and under the status write the winning speaker's announce (plan, election, responder add, each
//    gratuitous round an event);
//  - a SIGKILL failover is a trace of the successor's: failover (peer declared dead) → announce → ….
// On the installed lab tracing is turned on as its users would (OTEL_EXPORTER_OTLP_ENDPOINT on both
// workloads), and a controller that stops answering is a frozen one: a killed one is back from its
// kubelet within a second, before the 2 s scrape could notice.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools, L2Advertisements } from '../schemas/resources.js';
import { setEndpoints } from './lab/endpoints.js';
import { kubectl } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { promAlerts, promQuery, spanTree, tracesOf, type TraceSpan } from './lab/telemetry.js';
import { ensureController, operatorPorts } from './lab/operator.js';
import { stopDaemon, waitFor } from './lab/processes.js';
import { waitForSingleOwner } from './lab/failover.js';
import { controllerPids, e2eLabMode, signalSpeaker, speakerBack } from './lab/programs.js';
import { L2Watch } from './lab/census.js';
import { electOwner } from '../reconcilers/layer2/election.js';

const NS = 'metallb-system';
const TEST_LABEL = 'l2lb-e2e=observability';
const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const installed = e2eLabMode() === 'cluster';
let client: KubeClient;

before(async () => {
  await labUp(NODES.length, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-observability');
  reset();
  if (installed) await traced(true);
});
after(async () => {
  reset();
  if (installed) await traced(false);
  client?.close();
});

/** Tracing turned on or off on the installed l2lb as its users would: OpenTelemetry's standard variable
 *  on both workloads, the speakers' at their node's loopback and the controller's at its node's address
 *  (status.hostIP), where the lab's OTLP relays listen. */
async function traced(on: boolean): Promise<void> {
  if (on) {
    kubectl('set', 'env', '-n', NS, 'daemonset/speaker', 'OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318');
    kubectl('patch', 'deployment', 'controller', '-n', NS, '--type=json', '-p', JSON.stringify([
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } } },
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://$(HOST_IP):4318' } },
    ]));
  } else {
    kubectl('set', 'env', '-n', NS, 'daemonset/speaker', 'OTEL_EXPORTER_OTLP_ENDPOINT-');
    kubectl('set', 'env', '-n', NS, 'deployment/controller', 'OTEL_EXPORTER_OTLP_ENDPOINT-', 'HOST_IP-');
  }
  for (const workload of ['daemonset/speaker', 'deployment/controller']) kubectl('rollout', 'status', '-n', NS, workload, '--timeout=180s');
  await labUp(NODES.length, () => undefined, undefined, 'cluster'); // the new controller Pods become Prometheus's targets
}

function reset(): void {
  kubectl('delete', 'services', '-n', 'default', '-l', TEST_LABEL, '--wait=true');
  kubectl('delete', 'l2advertisements,ipaddresspools', '-n', NS, '-l', TEST_LABEL, '--wait=true');
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
    (await promQuery(expr)).some((s) => s.metric.pool === 'obs-small' && Number(s.value[1]) === 1), 30_000, 500);
  console.log(`${expr} →\n  ${(await promQuery(expr)).map((s) => `${JSON.stringify(s.metric)} ${s.value[1]}`).join('\n  ')}`);
  const gauges = await promQuery('metallb_allocator_addresses_in_use_total{pool="obs-small"}');
  assert.equal(gauges[0]?.metric.job, 'metallb-controller');
  // The leader's alone: with the standby's too, every alert on them would fire once per replica.
  assert.equal(gauges.length, 1, `series from ${gauges.map((g) => g.metric.instance).join(', ')}`);
  await waitFor('MetalLBPoolExhausted pending or firing for obs-small', async () =>
    (await promAlerts()).some((a) => a.labels.alertname === 'MetalLBPoolExhausted' && a.labels.pool === 'obs-small' && a.state !== 'inactive'), 30_000, 500);
  // The lab's `for` is 10 s: firing follows.
  await waitFor('MetalLBPoolExhausted firing for obs-small', async () =>
    (await promAlerts()).some((a) => a.labels.alertname === 'MetalLBPoolExhausted' && a.labels.pool === 'obs-small' && a.state === 'firing'), 40_000, 500);
  console.log(`alerts: ${(await promAlerts()).map((a) => `${a.labels.alertname}{pool="${a.labels.pool ?? ''}"} ${a.state}`).join(', ')}`);
  assert.equal((await promAlerts()).filter((a) => a.labels.alertname === 'MetalLBPoolExhausted' && a.labels.pool === 'obs-small').length, 1, 'one alert, not one per controller replica');
});

test('every speaker is scraped as job metallb-speaker, named by its node, with MetalLB\'s and memberlist series', async () => {
  await waitFor('every speaker up', async () => (await promQuery('up{job="metallb-speaker"} == 1')).length === NODES.length, 30_000, 500);
  const instances = (await promQuery('up{job="metallb-speaker"}')).map((s) => s.metric.instance).sort();
  assert.deepEqual(instances, NODES);
  await waitFor('memberlist peer gauges', async () => (await promQuery('l2lb_memberlist_peers_alive')).length === NODES.length, 30_000, 500);
});

test(installed ? 'a frozen controller is up{job="metallb-controller"} == 0' : 'a killed controller is up{job="metallb-controller"} == 0', async () => {
  const paths = labPaths();
  const replicas = controllerPids().length;
  await waitFor('the controller scraped up', async () => (await promQuery('up{job="metallb-controller"} == 1')).length === replicas, 30_000, 500);
  const frozen = installed ? controllerPids() : [];
  if (installed) for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  else await stopDaemon(join(paths.run, 'controller.pid'), 'SIGKILL');
  try {
    await waitFor('up{job="metallb-controller"} to read 0', async () =>
      (await promQuery('up{job="metallb-controller"}')).some((s) => s.value[1] === '0'), 20_000, 500);
  } finally {
    if (installed) for (const pid of frozen) process.kill(pid, 'SIGCONT');
    else ensureController(paths, await operatorPorts(join(paths.root, 'operator-ports.json')));
  }
  await waitFor('the controller scraped up again', async () => (await promQuery('up{job="metallb-controller"} == 1')).length === replicas, 60_000, 500);
});

test('a created Service is one trace across l2lb-controller and l2lb-speaker in Jaeger', async () => {
  await createPool('obs-trace', ['192.168.1.238']);
  const since = new Date(Date.now() - 1000);
  await client.create(Services, lbService('obs-traced', 'obs-trace'));
  await setEndpoints(client, 'default', 'obs-traced', NODES.map((node) => ({ node })));
  let found: TraceSpan[] | undefined;
  // The speaker's announce span ends (and is exported) after its last gratuitous round, 2 s after its
  // children: wait for it, not just for the first speaker span.
  await waitFor('a trace with the controller\'s spans and the speaker\'s announce', async () => {
    for (const spans of (await tracesOf('l2lb-controller', since, 'status write')).values()) {
      if (spans.some((s) => s.service === 'l2lb-speaker' && s.name === 'announce')) found = spans;
    }
    return found !== undefined;
  }, 45_000, 1000);
  const names = (found ?? []).map((s) => `${s.service}: ${s.name}`);
  console.log(`trace:\n  ${spanTree(found ?? []).join('\n  ')}`);
  for (const expected of ['l2lb-controller: reconcile services', 'l2lb-controller: allocation', 'l2lb-controller: status write']) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  }
  // The speaker's spans hang under one of the controller's: one tree, not two traces side by side.
  const controllerSpans = new Set((found ?? []).filter((s) => s.service === 'l2lb-controller').map((s) => s.spanId));
  assert.ok(found?.some((s) => s.service === 'l2lb-speaker' && controllerSpans.has(s.parentSpanId ?? '')), 'a speaker span whose parent is a controller span');
});

test('a SIGKILL failover is one trace of the successor: failover (peer declared dead) → announce → election, responder add, gratuitous rounds', async () => {
  await createPool('obs-failover', ['192.168.1.239']);
  await client.create(Services, lbService('obs-failover', 'obs-failover'));
  await setEndpoints(client, 'default', 'obs-failover', NODES.map((node) => ({ node })));
  const ip = '192.168.1.239';
  const owner = electOwner(ip, NODES)!;
  const successor = electOwner(ip, NODES.filter((n) => n !== owner))!;
  await waitForSingleOwner(ip, owner);
  await sleep(2_500); // the owner's gratuitous rounds are over
  // Watched every 20 ms: on the installed lab the kubelet restarts the owner within a second or two.
  const watch = new L2Watch([ip], { intervalMs: 20 });
  const since = new Date(Date.now() - 1000);
  const killed = Date.now();
  const pid = signalSpeaker(owner, 'SIGKILL');
  let found: TraceSpan[] | undefined;
  try {
    await waitFor(`${successor} to answer ${ip} alone`, () => watch.rounds.some((round) => round.t >= killed && (round.answers.get(ip) ?? []).join() === successor), 10_000, 50);
    await waitFor(`a failover trace from ${successor}`, async () => {
      for (const spans of (await tracesOf('l2lb-speaker', since, 'failover')).values()) {
        // Root and announce end after the last gratuitous round, possibly in different export batches.
        if (spans.some((s) => s.name === 'failover' && !s.parentSpanId) && spans.some((s) => s.name === 'announce')) found = spans;
      }
      return found !== undefined;
    }, 45_000, 1000);
  } finally {
    await watch.stop();
    await speakerBack(owner, pid);
  }
  const spans = found ?? [];
  console.log(`failover trace:\n  ${spanTree(spans).join('\n  ')}`);
  const root = spans.find((s) => s.name === 'failover')!;
  assert.ok((root.events ?? []).some((e) => e.name === 'peer declared dead'), 'the root span records the peer declared dead');
  const announce = spans.find((s) => s.name === 'announce' && s.parentSpanId === root.spanId);
  assert.ok(announce !== undefined, 'an announce span under the failover');
  for (const child of ['election', 'responder add']) {
    assert.ok(spans.some((s) => s.name === child && s.parentSpanId === announce.spanId), `${child} under announce`);
  }
  assert.ok((announce.events ?? []).some((e) => e.name === 'gratuitous round'), 'gratuitous rounds as events of announce');
  assert.ok(spans.every((s) => s.service === 'l2lb-speaker'), 'every span from the speaker');
});
