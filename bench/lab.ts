// The lab's figures, measured end to end with a real API server and real clients: Service → ingress
// latency and Service → first answer with many Services present, steady-state API writes, memory,
// controller restart convergence, and failover (SIGKILL, SIGTERM, cordon). Prints a table and writes
// bench/results-lab.json. It measures; it never fails on a figure.

import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer } from '../operator/kit/informer.js';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { electOwner } from '../reconcilers/layer2/election.js';
import type { Service } from '../reconcilers/services.js';
import { repoRoot } from '../e2e/fixtures.js';
import { setEndpoints } from '../e2e/lab/endpoints.js';
import { failoverTrial, percentile, waitForSingleOwner, type FailoverKind } from '../e2e/lab/failover.js';
import { kubectl, kubectlApply } from '../e2e/lab/kubectl.js';
import { labPaths, labUp } from '../e2e/lab/lab.js';
import { restartController } from '../e2e/lab/operator.js';
import { memoryOfPid, readPid, waitFor } from '../e2e/lab/processes.js';
import { Prober } from '../e2e/lab/wire.js';

const SERVICES = Number(process.env.BENCH_SERVICES ?? '1000');
const TRIALS = Number(process.env.BENCH_TRIALS ?? '20');
const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const LABEL = 'l2lb-bench=true';
const results: Record<string, unknown> = { measuredAt: new Date().toISOString(), services: SERVICES, trials: TRIALS };
const log = (message: string): void => console.log(`bench: ${message}`);

function serviceBody(name: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: { 'l2lb-bench': 'true' } },
    ...{ spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }] } },
  };
}

function summary(values: readonly number[]): { p50: number; p99: number; max: number; n: number } {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values), n: values.length };
}

async function createMany(client: KubeClient, names: readonly string[]): Promise<void> {
  await Promise.all(Array.from({ length: 16 }, async (_, w) => {
    for (let i = w; i < names.length; i += 16) await client.create(Services, serviceBody(names[i]!));
  }));
}

function rssMb(pidFile: string): number {
  return memoryOfPid(readPid(pidFile)).rssMb;
}

async function apiWrites(): Promise<number> {
  const paths = labPaths();
  const kubeconfig = readFileSync(paths.kubeconfig, 'utf8');
  const server = /server: (\S+)/.exec(kubeconfig)![1]!;
  const token = /token: (\S+)/.exec(kubeconfig)![1]!;
  const ca = readFileSync(/certificate-authority: (\S+)/.exec(kubeconfig)![1]!);
  const text = await new Promise<string>((resolve, reject) => {
    https.get(`${server}/metrics`, { ca, headers: { Authorization: `Bearer ${token}` } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
  let writes = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!/verb="(POST|PUT|PATCH|DELETE|APPLY)"/.test(line)) continue;
    writes += Number(line.split(' ').at(-1));
  }
  return writes;
}

async function main(): Promise<void> {
  log('lab up (3 nodes)');
  await labUp(3, (m) => log(m));
  const paths = labPaths();
  const client = await KubeClient.create(loadKubeConfig(paths.kubeconfig), 'l2lb-bench');
  kubectl('delete', 'services', '-n', 'default', '-l', LABEL, '--wait=true');
  kubectl('delete', 'l2advertisements,ipaddresspools', '--all', '-n', 'metallb-system', '--wait=true');
  kubectlApply('apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bench-pool, namespace: metallb-system}\nspec: {addresses: [10.220.0.0/18]}\n');
  kubectlApply('apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: wire-pool, namespace: metallb-system}\nspec: {addresses: [192.168.1.180-192.168.1.219], autoAssign: false}\n');
  kubectlApply('apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: bench-adv, namespace: metallb-system}\nspec: {}\n');

  log(`creating ${SERVICES} Services`);
  const names = Array.from({ length: SERVICES }, (_, i) => `bulk-${String(i).padStart(5, '0')}`);
  let t = Date.now();
  await createMany(client, names);
  const services = new Informer<Service>(client, Services, { namespace: 'default' });
  const ingressSeen = new Map<string, number>();
  services.on({
    add: (s) => { if (s.status?.loadBalancer?.ingress?.length) ingressSeen.set(s.metadata.name ?? '', Date.now()); },
    update: (_o, s) => { if (s.status?.loadBalancer?.ingress?.length && !ingressSeen.has(s.metadata.name ?? '')) ingressSeen.set(s.metadata.name ?? '', Date.now()); },
  });
  services.start();
  await services.waitForSync();
  await waitFor('every Service assigned', () => names.every((n) => ingressSeen.has(n)), 300_000, 200);
  log(`${SERVICES} Services assigned in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  log('Service created → ingress written (100 samples)');
  const ingressMs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const name = `latency-${i}`;
    const started = Date.now();
    await client.create(Services, serviceBody(name));
    await waitFor('ingress', () => ingressSeen.has(name), 10_000, 1);
    ingressMs.push(ingressSeen.get(name)! - started);
  }
  results.ingressLatencyMs = summary(ingressMs);

  log('Service created → first answer at lab-client (20 samples)');
  const answerMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const name = `wire-${i}`;
    const ip = `192.168.1.${180 + i}`;
    const prober = new Prober(ip, 10, 100);
    await sleep(200);
    const started = Date.now();
    await client.create(Services, { ...serviceBody(name), metadata: { name, namespace: 'default', labels: { 'l2lb-bench': 'true' },
      annotations: { 'metallb.io/address-pool': 'wire-pool' } } });
    await setEndpoints(client, 'default', name, NODES.map((node) => ({ node })));
    await waitFor(`${ip} to answer`, () => prober.since(started).some((s) => s.node !== undefined), 10_000, 5);
    answerMs.push(prober.since(started).find((s) => s.node !== undefined)!.t - started);
    await prober.stop();
  }
  results.firstAnswerMs = summary(answerMs);

  log('steady state: API writes over 30 s');
  await sleep(3000);
  const before = await apiWrites();
  t = Date.now();
  await sleep(30_000);
  const writesPerSecond = (await apiWrites() - before) / ((Date.now() - t) / 1000);
  results.steadyStateWrites = { perSecond: Number(writesPerSecond.toFixed(2)), perNodePerSecond: Number((writesPerSecond / NODES.length).toFixed(2)), services: SERVICES + 120 };

  results.rssMb = {
    controller: rssMb(join(paths.run, 'controller.pid')),
    announcer: Math.max(...NODES.map((n) => rssMb(join(paths.run, `announcer-${n}.pid`)))),
    services: SERVICES + 120,
  };

  log('controller restart: time to converge, addresses changed');
  const snapshot = new Map(services.list().map((s) => [s.metadata.name, JSON.stringify(s.status?.loadBalancer?.ingress ?? [])]));
  const restartMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    await restartController(paths, 'SIGKILL');
    const probe = `restart-probe-${i}`;
    await client.create(Services, serviceBody(probe));
    await waitFor('probe assigned', () => ingressSeen.has(probe), 60_000, 10);
    restartMs.push(ingressSeen.get(probe)! - started);
  }
  const changed = services.list().filter((s) => snapshot.has(s.metadata.name) && snapshot.get(s.metadata.name) !== JSON.stringify(s.status?.loadBalancer?.ingress ?? [])).length;
  results.controllerRestart = { convergedMs: summary(restartMs), addressesChanged: changed, services: SERVICES + 120 };

  const failover: Record<string, unknown> = {};
  for (const kind of ['SIGKILL', 'SIGTERM', 'cordon'] as FailoverKind[]) {
    log(`failover ${kind}: ${TRIALS} trials`);
    const name = `failover-${kind.toLowerCase()}`;
    await client.create(Services, { ...serviceBody(name), metadata: { name, namespace: 'default', labels: { 'l2lb-bench': 'true' },
      annotations: { 'metallb.io/loadBalancerIPs': '192.168.1.210' } } });
    await setEndpoints(client, 'default', name, NODES.map((node) => ({ node })));
    const ip = '192.168.1.210';
    const owner = electOwner(ip, NODES)!;
    await waitForSingleOwner(ip, owner);
    const prober = new Prober(ip, 20);
    const trials = [];
    for (let i = 0; i < TRIALS; i++) trials.push(await failoverTrial(kind, ip, owner, prober));
    await prober.stop();
    failover[kind] = { ...summary(trials.map((x) => x.ms)), lostProbes: trials.reduce((sum, x) => sum + x.lost, 0) };
    await client.delete(Services, 'default', name);
    await sleep(500);
  }
  results.failoverMs = failover;

  writeFileSync(join(repoRoot, 'bench', 'results-lab.json'), JSON.stringify(results, null, 2) + '\n');
  log('wrote bench/results-lab.json');
  await services.stop();
  log('removing the benchmark\'s Services');
  kubectl('delete', 'services', '-n', 'default', '-l', LABEL, '--wait=false');
  client.close();
}

main().catch((error: unknown) => {
  console.error(`bench: lab figures failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
