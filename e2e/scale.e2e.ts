// Ownership at scale: 1,000 LoadBalancer Services with EndpointSlices spread over three nodes (ETP
// Cluster and Local mixed). Once settled, every address is answered by exactly one MAC (asked from
// lab-client by the independent prober), each announced Service has exactly one ServiceL2Status naming
// that MAC's node, a quiet minute has no announce or withdraw and at most one API request a second per
// speaker (the API server's audit log), and all of it holds again after one speaker is SIGKILLed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { EndpointSlices, Services, type KubeObject } from '../operator/kit/resources.js';
import { ServiceL2Statuses } from '../schemas/resources.js';
import { readAudit, requestsByAgent } from './lab/audit.js';
import { census, type Census } from './lab/census.js';
import { endpointSlice } from './lab/endpoints.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { readPid, stopDaemon } from './lab/processes.js';

const COUNT = Number(process.env.L2LB_SCALE_SERVICES ?? '1000');
const NAMESPACE = 'scale';
const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const QUIET_MS = 60_000;
let client: KubeClient;

interface ServiceView extends KubeObject {
  spec?: { externalTrafficPolicy?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}
interface StatusView extends KubeObject {
  status?: { node?: string; serviceName?: string; serviceNamespace?: string };
}

before(async () => {
  await labUp(3, () => undefined);
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-scale');
  cleanUp();
  const ns = kubectlResult(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`);
  assert.ok(ns.ok, ns.stderr);
});
after(() => {
  cleanUp();
  client?.close();
});

/** The lab has no namespace controller (no kube-controller-manager): a deleted namespace would stay
 *  Terminating for good, so its contents are deleted and the namespace kept. */
function cleanUp(): void {
  kubectl('delete', 'services,endpointslices', '--all', '-n', NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=600s');
  kubectl('delete', 'l2advertisements,ipaddresspools', '--all', '-n', 'metallb-system', '--wait=true');
}

function apply(yaml: string): void {
  const result = kubectlResult(['apply', '-f', '-'], yaml);
  assert.ok(result.ok, result.stderr);
}

/** Runs `work` over `items`, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

function logLines(pattern: RegExp): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of NODES) {
    const text = readFileSync(join(labPaths().logs, `announcer-${node}.log`), 'utf8');
    counts.set(node, text.split('\n').filter((line) => pattern.test(line)).length);
  }
  return counts;
}

function rssMb(name: string): number {
  const pid = readPid(join(labPaths().run, `${name}.pid`));
  if (pid === undefined) return NaN;
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

async function addresses(): Promise<Map<string, string>> {
  const { items } = await client.list<ServiceView>(Services, NAMESPACE);
  return new Map(items.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => [i.ip ?? '', s.metadata.name ?? ''] as const)));
}

async function statusesByService(): Promise<Map<string, string[]>> {
  const { items } = await client.list<StatusView>(ServiceL2Statuses, 'metallb-system');
  const byService = new Map<string, string[]>();
  for (const item of items) {
    if (item.status?.serviceNamespace !== NAMESPACE) continue;
    const name = item.status.serviceName ?? '';
    byService.set(name, [...(byService.get(name) ?? []), item.status.node ?? '']);
  }
  return byService;
}

/** What is wrong, if anything: every address answered by exactly one live node, and one status per
 *  Service naming that node. */
async function judge(live: readonly string[]): Promise<{ problems: string[]; seen: Census; statuses: number }> {
  const byIp = await addresses();
  const seen = census([...byIp.keys()]);
  const statuses = await statusesByService();
  const problems: string[] = [];
  if (byIp.size !== COUNT) problems.push(`${COUNT - byIp.size} Services have no address yet`);
  for (const [ip, service] of byIp) {
    const owners = seen.owners.get(ip) ?? [];
    if (owners.length !== 1 || !live.includes(owners[0]!)) {
      problems.push(`${ip} (${service}) answered by [${owners.join(', ')}]`);
      continue;
    }
    const named = statuses.get(service) ?? [];
    if (named.length !== 1 || named[0] !== owners[0]) problems.push(`${service}: ServiceL2Status names [${named.join(', ')}], ARP says ${owners[0]}`);
  }
  let count = 0;
  for (const nodes of statuses.values()) count += nodes.length;
  return { problems, seen, statuses: count };
}

async function settle(live: readonly string[], timeoutMs: number): Promise<{ seen: Census; statuses: number; ms: number }> {
  const started = Date.now();
  let last: string[] = [];
  while (Date.now() - started < timeoutMs) {
    const { problems, seen, statuses } = await judge(live);
    if (problems.length === 0) return { seen, statuses, ms: Date.now() - started };
    last = problems;
    await sleep(2_000);
  }
  assert.fail(`not settled after ${timeoutMs} ms: ${last.length} problems, e.g. ${last.slice(0, 5).join('; ')}`);
}

/** A minute of nothing: no announce or withdraw in any speaker's log, at most one request a second each. */
async function quietMinute(live: readonly string[]): Promise<void> {
  const moves = /"msg":"(announcing|withdrew)"/;
  const before = logLines(moves);
  const from = Date.now();
  await sleep(QUIET_MS);
  const to = Date.now();
  const afterwards = logLines(moves);
  await sleep(2_000); // the audit log is written in batches, at most a second late
  const byAgent = requestsByAgent(readAudit(join(labPaths().logs, 'audit.log')), from, to);
  const figures = live.map((node) => {
    const requests = byAgent.get(`l2lb-speaker/${node}`) ?? [];
    return { node, moves: (afterwards.get(node) ?? 0) - (before.get(node) ?? 0), requests: requests.length,
      verbs: [...new Set(requests.map((r) => `${r.verb} ${r.resource}`))].join(', '), rssMb: rssMb(`announcer-${node}`) };
  });
  console.log(`quiet minute: ${JSON.stringify(figures)}; controller RSS ${rssMb('controller')} MB`);
  for (const figure of figures) {
    assert.equal(figure.moves, 0, `${figure.node} announced or withdrew ${figure.moves} times in a quiet minute`);
    assert.ok(figure.requests <= QUIET_MS / 1000, `${figure.node} sent ${figure.requests} API requests in a quiet minute (${figure.verbs})`);
  }
}

test(`${COUNT} Services over three nodes: one MAC per address, one status per Service, quiet when nothing changes, and again after a SIGKILL`, { timeout: 1_500_000 }, async () => {
  apply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: scale-pool, namespace: metallb-system}
spec: {addresses: [10.220.0.0/18]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: scale-all, namespace: metallb-system}
`);
  const names = Array.from({ length: COUNT }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
  const created = Date.now();
  await inParallel(names, 16, async (name) => {
    const i = Number(name.slice(4));
    const local = i % 4 === 0; // a quarter with externalTrafficPolicy Local: only endpoint nodes may announce
    await client.create(Services, {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE },
      ...{ spec: { type: 'LoadBalancer', externalTrafficPolicy: local ? 'Local' : 'Cluster', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] } },
    });
    const endpoints = local ? [{ node: NODES[i % 3]! }, { node: NODES[(i + 1) % 3]! }] : [{ node: NODES[i % 3]! }];
    await client.create(EndpointSlices, endpointSlice(NAMESPACE, name, endpoints));
  });
  console.log(`created ${COUNT} Services and EndpointSlices in ${Date.now() - created} ms`);

  const first = await settle(NODES, 600_000);
  console.log(`settled ${first.ms} ms after the last create: ${first.seen.single} addresses with one MAC, ${first.seen.multiple} with two or more, ${first.seen.none} with none; ${first.statuses} ServiceL2Statuses`);
  assert.equal(first.seen.single, COUNT);
  assert.equal(first.statuses, COUNT);
  await quietMinute(NODES);

  // One speaker crashes: its addresses move, and its statuses go with it.
  const victim = 'lab-node-2';
  const live = NODES.filter((node) => node !== victim);
  const killed = Date.now();
  await stopDaemon(join(labPaths().run, `announcer-${victim}.pid`), 'SIGKILL');
  const second = await settle(live, 300_000);
  console.log(`after SIGKILL of ${victim}: settled in ${Date.now() - killed} ms: ${second.seen.single} addresses with one MAC, ${second.seen.multiple} with two or more, ${second.seen.none} with none; ${second.statuses} ServiceL2Statuses`);
  assert.equal(second.seen.single, COUNT);
  assert.equal(second.statuses, COUNT);
  await quietMinute(live);
  await labUp(3, () => undefined); // the lab restarts what is missing, as a kubelet would
});
