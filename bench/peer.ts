// l2lb beside MetalLB v0.15.2 in one run, on the same cluster lab (kubelets; each system installed from
// its own image and manifests), with the same prober (e2e/probe/l2probe.py in lab-client, which imports
// nothing of either), the same Services and the same Pods. Each scenario runs against both; a scenario
// that fails prints "not measured" for that system, never an older figure. Writes
// bench/results-peer.json (with the run's time) and bench/failover.svg (the failover CDFs).
//   BENCH_PEER_NODES (3), BENCH_PEER_SERVICES (Services present, with endpoints; 100),
//   BENCH_PEER_CREATES (Services timed from create; 10), BENCH_PEER_TRIALS (speaker crashes; 10)

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { repoRoot } from '../e2e/fixtures.js';
import { ensureBackends } from '../e2e/lab/backends.js';
import { census, L2Watch } from '../e2e/lab/census.js';
import { percentile } from '../e2e/lab/failover.js';
import { kubectl, kubectlApply, kubectlResult } from '../e2e/lab/kubectl.js';
import { labDown, labPaths, labUp, type LabMode } from '../e2e/lab/lab.js';
import { pidsInNamespace, waitFor } from '../e2e/lab/processes.js';
import { deleteAllOf, inParallel, scalePoolYaml } from '../e2e/lab/scale.js';
import { cdfSvg } from './cdf-svg.js';

const NODES = Number(process.env.BENCH_PEER_NODES ?? 3);
const SERVICES = Number(process.env.BENCH_PEER_SERVICES ?? 100);
const CREATES = Number(process.env.BENCH_PEER_CREATES ?? 10);
const TRIALS = Number(process.env.BENCH_PEER_TRIALS ?? 10);
const NS = 'bench-peer';
const APP = 'bench-peer';
const log = (message: string): void => console.log(`bench/peer: ${message}`);

type Peer = 'l2lb' | 'metallb';
const PEERS: readonly Peer[] = ['l2lb', 'metallb'];
const MODE: Record<Peer, LabMode> = { l2lb: 'cluster', metallb: 'metallb' };
/** Each system's programs, as their command lines show them from the host. */
const PROGRAM: Record<Peer, { speaker: RegExp; controller: RegExp }> = {
  l2lb: { speaker: /speaker-main\.js/, controller: /controller-main\.js/ },
  metallb: { speaker: /^\/speaker /, controller: /^\/controller / },
};

interface Distribution {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly values: readonly number[];
}

interface PeerResult {
  prepareMs?: number;
  createToIngressMs?: Distribution;
  createToAnswerMs?: Distribution;
  crashFailoverMs?: Distribution;
  /** How each crash ended: another node took the address, or the owner's restarted speaker did. */
  crashRecoveredBy?: { moved: number; restarted: number };
  speakerRssMB?: number;
  controllerRssMB?: number;
  errors: Record<string, string>;
}

function distribution(values: readonly number[]): Distribution {
  return { samples: values.length, p50: percentile(values, 50), p99: percentile(values, 99), values: [...values].sort((a, b) => a - b) };
}

function serviceObject(name: string, ip?: string): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: NS, labels: { bench: 'peer' }, ...(ip === undefined ? {} : { annotations: { 'metallb.universe.tf/loadBalancerIPs': ip } }) },
    spec: { type: 'LoadBalancer', selector: { app: APP }, ports: [{ port: 80, targetPort: 8080 }] },
  } as KubeObject;
}

function ingressOf(object: unknown): string {
  return (object as { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }).status?.loadBalancer?.ingress?.[0]?.ip ?? '';
}


/** Every matching process on the lab's nodes (the controller's Pods have namespaces of their own, so
 *  they are found by their command line among all processes). */
function pidsAnywhere(command: RegExp): number[] {
  return execFileSync('ps', ['-e', '-o', 'pid='], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((pid) => {
    try {
      return pid > 0 && command.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      return false;
    }
  });
}

function rssMB(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb ?? 0) / 102.4) / 10;
}

async function timed<T>(result: PeerResult, scenario: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    result.errors[scenario] = error instanceof Error ? error.message : String(error);
    log(`${scenario}: not measured: ${result.errors[scenario]}`);
    return undefined;
  }
}

/** The lab in the peer's mode, Pods behind every Service, and SERVICES Services answered. */
async function prepare(client: KubeClient): Promise<string[]> {
  kubectlResult(['create', 'namespace', NS]);
  await deleteAllOf(client, Services, NS, 'bench=peer');
  kubectlApply(scalePoolYaml());
  await ensureBackends(APP, NS, NODES);
  const names = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
  await inParallel(names, 16, async (name) => client.apply(Services, serviceObject(name), 'bench-peer'));
  let ips: string[] = [];
  await waitFor(`${SERVICES} Services with an address`, async () => {
    const { items } = await client.list<KubeObject>(Services, NS, { labelSelector: 'bench=peer' });
    ips = items.map(ingressOf).filter((ip) => ip !== '');
    return ips.length === SERVICES;
  }, 600_000, 1000);
  await waitFor(`all ${SERVICES} addresses answered by one node`, () => {
    const seen = census(ips, { rounds: 2 });
    return ips.every((ip) => seen.owners.get(ip)?.length === 1);
  }, 600_000, 2000);
  return ips;
}

/** Create → an address in the Service's status, and → the first ARP answer at lab-client. */
async function creates(client: KubeClient, result: PeerResult): Promise<void> {
  const toIngress: number[] = [];
  const toAnswer: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const ip = `10.220.60.${10 + i}`;
    const name = `probe-${i}`;
    const watch = new L2Watch([ip], { intervalMs: 5 });
    try {
      await waitFor('the prober to start', () => watch.rounds.length > 0, 10_000, 10);
      const started = Date.now();
      await client.apply(Services, serviceObject(name, ip), 'bench-peer');
      await waitFor(`${name}'s address`, async () => ingressOf(await client.get(Services, NS, name)) === ip, 30_000, 5);
      toIngress.push(Date.now() - started);
      await waitFor(`${ip} answered`, () => watch.since(started).some((round) => (round.answers.get(ip)?.length ?? 0) > 0), 30_000, 5);
      toAnswer.push(watch.since(started).find((round) => (round.answers.get(ip)?.length ?? 0) > 0)!.t - started);
    } finally {
      await watch.stop();
    }
  }
  result.createToIngressMs = distribution(toIngress);
  result.createToAnswerMs = distribution(toAnswer);
}

/** When a round after the kill first shows `ip` served again: by another node, or by the owner's
 *  restarted speaker after at least one unanswered round (the kubelet restarts a killed container at
 *  once the first time, so on a real cluster either can come first). */
export function recovery(rounds: ReadonlyArray<{ t: number; answers: ReadonlyMap<string, readonly string[]> }>, ip: string, owner: string):
  { t: number; by: string } | undefined {
  let silent = false;
  for (const round of rounds) {
    const nodes = round.answers.get(ip) ?? [];
    if (nodes.length === 0) silent = true;
    else if (nodes.some((n) => n !== owner)) return { t: round.t, by: nodes.find((n) => n !== owner)! };
    else if (silent) return { t: round.t, by: owner };
  }
  return undefined;
}

/** SIGKILL of the owner's speaker process → `ip` answered again (recovery()). The killed Pod is then
 *  deleted (its DaemonSet makes a fresh one, without the kubelet's crash back-off) and ownership settles
 *  before the next trial. */
async function crashes(peer: Peer, ips: readonly string[], result: PeerResult): Promise<void> {
  const times: number[] = [];
  const heirs: string[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const ip = ips[trial % ips.length]!;
    const owners = census([ip]).owners.get(ip) ?? [];
    if (owners.length !== 1) throw new Error(`${ip}: answered by ${owners.length} nodes before trial ${trial}`);
    const owner = owners[0]!;
    const [pid] = pidsInNamespace(owner, PROGRAM[peer].speaker);
    if (pid === undefined) throw new Error(`no ${peer} speaker process in ${owner}`);
    const watch = new L2Watch([ip], { intervalMs: 5 });
    try {
      await waitFor(`${owner} answering ${ip} in the prober`, () => watch.rounds.at(-1)?.answers.get(ip)?.[0] === owner, 10_000, 10);
      const killed = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor(`${ip} answered again`, () => recovery(watch.since(killed), ip, owner) !== undefined, 60_000, 5);
      const recovered = recovery(watch.since(killed), ip, owner)!;
      times.push(recovered.t - killed);
      heirs.push(recovered.by === owner ? 'restarted' : 'moved');
    } finally {
      await watch.stop();
    }
    kubectl('delete', 'pod', '-n', 'metallb-system', '-l', 'component=speaker', `--field-selector=spec.nodeName=${owner}`, '--wait=true');
    kubectl('rollout', 'status', '-n', 'metallb-system', 'daemonset/speaker', '--timeout=120s');
    await waitFor(`${ip} answered by one node again`, () => census([ip]).owners.get(ip)?.length === 1, 60_000, 500);
    await sleep(3000);
  }
  result.crashFailoverMs = distribution(times);
  result.crashRecoveredBy = { moved: heirs.filter((h) => h === 'moved').length, restarted: heirs.filter((h) => h === 'restarted').length };
}

function memory(peer: Peer, result: PeerResult): void {
  const speakers = Array.from({ length: NODES }, (_, i) => pidsInNamespace(`lab-node-${i + 1}`, PROGRAM[peer].speaker)).flat();
  const controllers = pidsAnywhere(PROGRAM[peer].controller);
  if (speakers.length === 0 || controllers.length === 0) throw new Error(`found ${speakers.length} speakers and ${controllers.length} controllers`);
  result.speakerRssMB = Math.max(...speakers.map(rssMB));
  result.controllerRssMB = Math.max(...controllers.map(rssMB));
}

async function measure(peer: Peer): Promise<PeerResult> {
  const result: PeerResult = { errors: {} };
  log(`${peer}: the cluster lab with ${NODES} nodes`);
  const ok = await timed(result, 'lab', async () => {
    await labUp(NODES, (message) => log(`${peer}: ${message}`), undefined, MODE[peer]);
    return true;
  });
  if (ok === undefined) return result;
  const client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-bench-peer');
  try {
    const started = Date.now();
    const ips = await timed(result, 'prepare', async () => prepare(client));
    if (ips === undefined) return result;
    result.prepareMs = Date.now() - started;
    log(`${peer}: ${SERVICES} Services answered ${result.prepareMs} ms after the first create`);
    await timed(result, 'memory', async () => memory(peer, result));
    await timed(result, 'create', async () => creates(client, result));
    log(`${peer}: create → ingress p99 ${result.createToIngressMs?.p99 ?? '-'} ms, → first answer p99 ${result.createToAnswerMs?.p99 ?? '-'} ms`);
    await timed(result, 'crash', async () => crashes(peer, ips, result));
    log(`${peer}: speaker SIGKILL → answered again: p50 ${result.crashFailoverMs?.p50 ?? '-'} ms, p99 ${result.crashFailoverMs?.p99 ?? '-'} ms`);
  } finally {
    await deleteAllOf(client, Services, NS, 'bench=peer').catch(() => undefined);
    client.close();
  }
  return result;
}

function cell(d: Distribution | undefined): string {
  return d === undefined ? 'not measured' : `${d.p50} / ${d.p99} ms (n=${d.samples})`;
}

function recoveredBy(result: PeerResult): string {
  const by = result.crashRecoveredBy;
  return by === undefined ? '' : `; moved ${by.moved}, restarted ${by.restarted}`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
}

async function main(): Promise<void> {
  rmSync(join(repoRoot, 'bench', 'results-peer.json'), { force: true });
  rmSync(join(repoRoot, 'bench', 'failover.svg'), { force: true });
  const measuredAt = new Date().toISOString();
  log(`${NODES} nodes, ${SERVICES} Services present, ${CREATES} timed creates, ${TRIALS} speaker crashes, each system in turn`);
  const results: Partial<Record<Peer, PeerResult>> = {};
  for (const peer of PEERS) results[peer] = await measure(peer);
  await labDown(() => undefined);
  const l2lb = results.l2lb!;
  const metallb = results.metallb!;
  const rows: Array<[string, string, string, string]> = [
    ['create → ingress (p50 / p99)', cell(l2lb.createToIngressMs), cell(metallb.createToIngressMs), ratio(l2lb.createToIngressMs?.p99, metallb.createToIngressMs?.p99)],
    ['create → first ARP answer (p50 / p99)', cell(l2lb.createToAnswerMs), cell(metallb.createToAnswerMs), ratio(l2lb.createToAnswerMs?.p99, metallb.createToAnswerMs?.p99)],
    ['speaker SIGKILL → answered again (p50 / p99)', cell(l2lb.crashFailoverMs) + recoveredBy(l2lb), cell(metallb.crashFailoverMs) + recoveredBy(metallb), ratio(l2lb.crashFailoverMs?.p99, metallb.crashFailoverMs?.p99)],
    ['speaker RSS (largest)', l2lb.speakerRssMB === undefined ? 'not measured' : `${l2lb.speakerRssMB} MB`, metallb.speakerRssMB === undefined ? 'not measured' : `${metallb.speakerRssMB} MB`, ratio(l2lb.speakerRssMB, metallb.speakerRssMB)],
    ['controller RSS (largest)', l2lb.controllerRssMB === undefined ? 'not measured' : `${l2lb.controllerRssMB} MB`, metallb.controllerRssMB === undefined ? 'not measured' : `${metallb.controllerRssMB} MB`, ratio(l2lb.controllerRssMB, metallb.controllerRssMB)],
  ];
  console.log(`\nl2lb beside MetalLB v0.15.2, ${measuredAt}: ${NODES} nodes, ${SERVICES} Services with Pods; ratio = l2lb / MetalLB (p99)`);
  console.log('| scenario | l2lb | MetalLB | ratio |\n|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  writeFileSync(join(repoRoot, 'bench', 'results-peer.json'), JSON.stringify({ measuredAt, nodes: NODES, services: SERVICES, creates: CREATES, trials: TRIALS,
    method: 'e2e/probe/l2probe.py watch in lab-client every 5 ms (ARP); both systems from their own images on the cluster lab', results }, null, 2));
  const series = PEERS.flatMap((peer) => (results[peer]?.crashFailoverMs === undefined ? [] : [{ name: peer === 'l2lb' ? 'l2lb' : 'MetalLB v0.15.2', values: results[peer]!.crashFailoverMs!.values }]));
  if (series.length > 0) {
    writeFileSync(join(repoRoot, 'bench', 'failover.svg'), cdfSvg(`Speaker SIGKILL → address answered again over ARP (${NODES} nodes, ${SERVICES} Services, ${measuredAt.slice(0, 10)})`, 'ms', series));
    log('wrote bench/failover.svg');
  }
}

if (process.argv[1]?.endsWith('peer.js') === true) main().catch((error: unknown) => {
  console.error(`bench/peer: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
