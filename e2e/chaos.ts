// `make chaos`: a bounded soak on the lab. 20 addresses (IPv4 and IPv6, two pools, two advertisements,
// externalTrafficPolicy Cluster and Local) are asked for every 20 ms by the independent prober in
// lab-client (e2e/probe/l2probe.py: raw ARP and NDP), while faults drawn at random from a seeded
// generator hit the nodes, the links and the control plane. Per fault kind it reports the count, the
// longest time an address went unanswered, the longest time two MACs answered, and whether any address
// changed; RSS of every program at start and end.
//
// It passes when, after every fault, every address is answered by exactly one node within 1 s of the
// fault's end (API server and etcd restarts: never unanswered at all), no address changed, and no
// program's RSS grew by more than 20 %.
//   MINUTES=10 SEED=7 node dist/e2e/chaos.js

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { isMainModule } from '../operator/kit/main-module.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { L2Watch, type WatchRound } from './lab/census.js';
import { setEndpoints } from './lab/endpoints.js';
import { seededRandom } from './lab/random.js';
import { kubectl, kubectlApply } from './lab/kubectl.js';
import { labMode, labPaths, labUp, type LabMode } from './lab/lab.js';
import { memoryOfPid, stopDaemon, waitFor } from './lab/processes.js';
import { controllerPids, e2eLabMode, restartController, signalSpeaker, speakerBack, speakerLog, speakerPid } from './lab/programs.js';
import { LAB_NET_NS, labNode, SEGMENT2_BRIDGE } from './lab/topology.js';

export const FAULT_KINDS = [
  'speaker SIGKILL', 'speaker SIGSTOP 2s', 'node freeze 3s', 'link flap 50ms', 'link flap 300ms', 'link flap 1s', 'link flap 3s',
  'eth1 re-created', 'controller SIGKILL', 'kube-apiserver restart', 'etcd restart',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const NAMESPACE = 'chaos';
/** How long after a fault's end every address must be answered by exactly one node again. */
const SETTLE_MS = 1_000;
/** How long the prober may go unanswered during a control-plane restart: a lost frame, or the prober
 *  and speakers descheduled while kube-apiserver starting saturates both cores (62 ms seen once). */
const CONTROL_PLANE_GRACE_MS = 100;

/** Once settled, a silence shorter than this is a late reply, not a missing owner (see judgeFault). */
const LATE_REPLY_MS = 100;

/** Whether the fault hits one node (the others hit the control plane). */
export function nodeFault(kind: FaultKind): boolean {
  return !(kind.startsWith('controller') || kind.startsWith('kube-apiserver') || kind.startsWith('etcd'));
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly node?: string;
  readonly startMs: number;
  readonly endMs: number;
}

export interface KindFigures {
  readonly kind: FaultKind;
  count: number;
  longestUnansweredMs: number;
  /** The address, segment and node of the longest gap. */
  worst: string;
  longestDoubleMs: number;
  failures: string[];
}

export interface ChaosReport {
  readonly seed: number;
  readonly minutes: number;
  readonly faults: readonly FaultRecord[];
  readonly byKind: readonly KindFigures[];
  readonly addressesChanged: number;
  readonly rss: ReadonlyArray<{ program: string; startMb: number; warmMb: number; peakMb: number; endMb: number }>;
  readonly passed: boolean;
  readonly failures: readonly string[];
  /** For each failing fault: who answered its worst address, and what the speakers logged (ChaosField.evidence). */
  readonly evidence: readonly string[];
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}

function pidsIn(ns: string): number[] {
  return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number);
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // gone meanwhile
    }
  }
}

function programs(): Array<{ program: string; pid: number | undefined }> {
  const controllers = controllerPids();
  return [...controllers.map((pid, i) => ({ program: controllers.length === 1 ? 'controller' : `controller ${i + 1}`, pid })),
    ...NODES.map((node) => ({ program: `speaker ${node}`, pid: speakerPid(node) }))];
}

async function speakerReady(node: string): Promise<void> {
  await waitFor(`speaker on ${node} ready`, () => {
    try {
      execFileSync('ip', ['netns', 'exec', node, 'curl', '-sf', '-m', '1', 'http://127.0.0.1:7472/readyz'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }, 60_000, 200);
}

/** Starts again what a fault stopped, in the mode the lab runs in. */
async function reviveLab(): Promise<void> {
  await labUp(NODES.length, () => undefined, undefined, labMode() ?? 'processes');
}

export async function inject(kind: FaultKind, node: string): Promise<void> {
  const run = labPaths().run;
  const n = labNode(Number(node.slice('lab-node-'.length)));
  switch (kind) {
    case 'speaker SIGKILL': {
      const pid = signalSpeaker(node, 'SIGKILL');
      await sleep(1_000); // the kubelet's restart delay, roughly (the lab's kubelets take at most that)
      await speakerBack(node, pid);
      await speakerReady(node);
      return;
    }
    case 'speaker SIGSTOP 2s': {
      const pid = speakerPid(node);
      if (pid !== undefined) signal([pid], 'SIGSTOP');
      await sleep(2_000);
      if (pid !== undefined) signal([pid], 'SIGCONT');
      return;
    }
    case 'node freeze 3s': {
      const pids = pidsIn(node);
      signal(pids, 'SIGSTOP');
      ip('-n', node, 'link', 'set', 'eth0', 'down');
      await sleep(3_000);
      ip('-n', node, 'link', 'set', 'eth0', 'up');
      signal(pids, 'SIGCONT');
      return;
    }
    case 'link flap 50ms':
    case 'link flap 300ms':
    case 'link flap 1s':
    case 'link flap 3s': {
      const ms = { 'link flap 50ms': 50, 'link flap 300ms': 300, 'link flap 1s': 1_000, 'link flap 3s': 3_000 }[kind];
      ip('-n', node, 'link', 'set', 'eth0', 'down');
      await sleep(ms);
      ip('-n', node, 'link', 'set', 'eth0', 'up');
      return;
    }
    case 'eth1 re-created':
      ip('-n', LAB_NET_NS, 'link', 'del', n.eth1.peer);
      await sleep(500);
      ip('-n', LAB_NET_NS, 'link', 'add', n.eth1.peer, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', node);
      ip('-n', node, 'link', 'set', 'eth1', 'address', n.eth1.mac);
      ip('-n', LAB_NET_NS, 'link', 'set', n.eth1.peer, 'master', SEGMENT2_BRIDGE);
      ip('-n', LAB_NET_NS, 'link', 'set', n.eth1.peer, 'up');
      ip('-n', node, 'link', 'set', 'eth1', 'up');
      ip('-n', node, 'addr', 'add', `${n.eth1.ipv4}/24`, 'dev', 'eth1');
      return;
    case 'controller SIGKILL':
      await restartController('SIGKILL');
      return;
    case 'kube-apiserver restart':
      await stopDaemon(join(run, 'kube-apiserver.pid'), 'SIGTERM', 15_000);
      await sleep(2_000);
      await reviveLab();
      return;
    case 'etcd restart':
      await stopDaemon(join(run, 'etcd.pid'), 'SIGTERM', 15_000);
      await sleep(2_000);
      await reviveLab();
      return;
  }
}

/** The longest run of rounds in [from, to) where `bad` holds for `ip`, in ms. */
function longestRun(rounds: readonly WatchRound[], ip: string, from: number, to: number, bad: (nodes: readonly string[]) => boolean): number {
  let longest = 0;
  let start: number | undefined;
  let last = from;
  for (const round of rounds) {
    if (round.t < from || round.t >= to) continue;
    const nodes = round.answers.get(ip) ?? [];
    if (bad(nodes)) start ??= round.t;
    else if (start !== undefined) {
      longest = Math.max(longest, round.t - start);
      start = undefined;
    }
    last = round.t;
  }
  if (start !== undefined) longest = Math.max(longest, last - start);
  return longest;
}

async function serviceAddresses(client: KubeClient): Promise<Map<string, string>> {
  const { items } = await client.list<KubeObject & { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }>(Services, NAMESPACE);
  return new Map(items.map((s) => [s.metadata.name ?? '', (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').sort().join(',')]));
}

/** The 20 Services chaos hits and the prober asking for their addresses: on eth0 of lab-client for all
 *  of them, on its eth1 (the second segment, where only the IPv4 pool is announced) for the IPv4 ones. */
export class ChaosField {
  private constructor(
    readonly client: KubeClient,
    /** Service → its addresses, as assigned before any fault. */
    readonly addresses: ReadonlyMap<string, string>,
    readonly ips: readonly string[],
    readonly ipv4: readonly string[],
    readonly watch: L2Watch,
    readonly watchEth1: L2Watch,
  ) {}

  static async open(mode: LabMode): Promise<ChaosField> {
    await labUp(NODES.length, () => undefined, undefined, mode);
    const client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-chaos');
    try {
      // No namespace controller in the lab: the namespace is kept, its contents deleted.
      kubectl('delete', 'services,endpointslices', '--all', '-n', NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=300s');
      kubectl('delete', 'l2advertisements,ipaddresspools', '--all', '-n', 'metallb-system', '--wait=true');
      kubectlApply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: chaos-v4, namespace: metallb-system}
spec: {addresses: [192.168.1.200-192.168.1.213]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: chaos-v6, namespace: metallb-system}
spec: {addresses: ["fd00:1::200-fd00:1::205"]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: chaos-v4, namespace: metallb-system}
spec: {ipAddressPools: [chaos-v4]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: chaos-v6, namespace: metallb-system}
spec: {ipAddressPools: [chaos-v6], interfaces: [eth0]}
`);
      kubectlApply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`);
      for (let i = 0; i < 20; i++) {
        const name = `chaos-${String(i).padStart(2, '0')}`;
        const v6 = i >= 14;
        const local = i % 3 === 0;
        await client.create(Services, {
          apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE },
          ...{ spec: { type: 'LoadBalancer', externalTrafficPolicy: local ? 'Local' : 'Cluster', selector: { app: name },
            ports: [{ port: 80, protocol: 'TCP' }], ...(v6 ? { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' } : {}) } },
        });
        await setEndpoints(client, NAMESPACE, name, local ? [{ node: NODES[i % 3]! }, { node: NODES[(i + 1) % 3]! }] : [{ node: NODES[i % 3]! }]);
      }
      let addresses = new Map<string, string>();
      await waitFor('20 chaos Services with addresses', async () => {
        addresses = await serviceAddresses(client);
        return [...addresses.values()].filter((a) => a !== '').length === 20;
      }, 60_000, 500);
      const ips = [...addresses.values()].flatMap((a) => a.split(','));
      const ipv4 = ips.filter((ip) => !ip.includes(':'));
      const watch = new L2Watch(ips, { intervalMs: 20, durationS: 3_600 });
      const watchEth1 = new L2Watch(ipv4, { intervalMs: 20, durationS: 3_600, iface: 'eth1' });
      const field = new ChaosField(client, addresses, ips, ipv4, watch, watchEth1);
      await waitFor('every address answered by exactly one node', () => field.allSingle(), 60_000, 200);
      return field;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** Whether, in the latest round on each segment, every address is answered by exactly one node. */
  allSingle(): boolean {
    const last = this.watch.rounds.at(-1);
    const last1 = this.watchEth1.rounds.at(-1);
    return last !== undefined && last1 !== undefined && this.ips.every((ip) => (last.answers.get(ip) ?? []).length === 1)
      && this.ipv4.every((ip) => (last1.answers.get(ip) ?? []).length === 1);
  }

  /** The node answering most addresses on eth0 now: the one whose faults matter most. */
  busiestOwner(): string {
    const last = this.watch.rounds.at(-1);
    const counts = new Map<string, number>(NODES.map((n) => [n, 0]));
    for (const ip of this.ips) for (const node of last?.answers.get(ip) ?? []) counts.set(node, (counts.get(node) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  }

  /** Services whose addresses differ from the ones assigned before any fault. */
  async changedAddresses(): Promise<number> {
    const now = await serviceAddresses(this.client);
    return [...this.addresses].filter(([name, addresses]) => now.get(name) !== addresses).length;
  }

  /** Each address's figures over one fault's window, on both segments. */
  judge(fault: FaultRecord, windowEnd: number): FaultVerdict {
    const segments = [{ name: 'eth0', rounds: this.watch.rounds, ips: this.ips }, { name: 'eth1', rounds: this.watchEth1.rounds, ips: this.ipv4 }];
    return mergeVerdicts(segments.map(({ name, rounds, ips }) => judgeFault(rounds, ips, fault, windowEnd, name)));
  }

  /** What a failing fault looked like: the answers to its worst address whenever they changed, and the
   *  speakers' log lines from the fault's start to 2 s after its end (later runs of the lab replace the
   *  logs, so a CI failure keeps only what is printed). */
  evidence(fault: FaultRecord, windowEnd: number, verdict: FaultVerdict): string {
    const [ip, , segment] = verdict.worst.split(' ');
    const rounds = segment === 'eth1' ? this.watchEth1.rounds : this.watch.rounds;
    const at = (t: number): string => `${t - fault.endMs >= 0 ? '+' : ''}${t - fault.endMs}`;
    const lines = [`evidence: ${fault.kind}${fault.node === undefined ? '' : ` on ${fault.node}`}, ${fault.endMs - fault.startMs} ms long; ms after its end`];
    lines.push(`  ${verdict.worst}: ${answerTimeline(rounds, ip ?? '', fault.startMs, windowEnd).map(({ t, nodes }) => `${at(t)}:${nodes.join('+') || 'none'}`).join(' ')}`);
    lines.push(...speakerLogLines(fault.startMs - 200, Math.min(windowEnd, fault.endMs + 2_000), 60).map(({ t, line }) => `  ${at(t)} ${line}`));
    return lines.join('\n');
  }

  /** Stops the probers and removes the Services, slices, pools and advertisements (later tests expect
   *  a lab without them: kube-ipvs0 empty, no address taken). */
  async close(): Promise<void> {
    await Promise.all([this.watch.stop(), this.watchEth1.stop()]);
    kubectl('delete', 'services,endpointslices', '--all', '-n', NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=300s');
    kubectl('delete', 'l2advertisement/chaos-v4', 'l2advertisement/chaos-v6', 'ipaddresspool/chaos-v4', 'ipaddresspool/chaos-v6',
      '-n', 'metallb-system', '--ignore-not-found', '--wait=true');
    this.client.close();
  }
}

/** The rounds of [from, to) at which the nodes answering `ip` changed. */
export function answerTimeline(rounds: readonly WatchRound[], ip: string, from: number, to: number): Array<{ t: number; nodes: readonly string[] }> {
  const changes: Array<{ t: number; nodes: readonly string[] }> = [];
  for (const round of rounds) {
    if (round.t < from || round.t >= to) continue;
    const nodes = round.answers.get(ip) ?? [];
    if (changes.at(-1)?.nodes.join() !== nodes.join()) changes.push({ t: round.t, nodes });
  }
  return changes;
}

/** The speakers' log lines (all but debug) logged in [from, to), oldest first, at most `limit`. */
function speakerLogLines(from: number, to: number, limit: number): Array<{ t: number; line: string }> {
  const lines: Array<{ t: number; line: string }> = [];
  for (const node of NODES) {
    for (const text of speakerLog(node).split('\n')) {
      try {
        // A kubelet's log file prefixes each record with its time and stream.
        const { ts, level, msg, component: _c, node: _n, ...rest } = JSON.parse(text.slice(text.indexOf('{'))) as Record<string, unknown>;
        const t = Date.parse(String(ts));
        if (level === 'debug' || !(t >= from && t < to)) continue;
        lines.push({ t, line: `${node} ${String(level)} ${String(msg)} ${JSON.stringify(rest)}` });
      } catch {
        // not a log record (a runtime's own output)
      }
    }
  }
  lines.sort((a, b) => a.t - b.t);
  return lines.length <= limit ? lines : [...lines.slice(0, limit), { t: lines[limit]!.t, line: `… ${lines.length - limit} more` }];
}

export interface FaultVerdict {
  readonly unansweredMs: number;
  /** Which address on which segment went unanswered longest. */
  readonly worst: string;
  readonly doubleMs: number;
  readonly failures: readonly string[];
}

function mergeVerdicts(verdicts: readonly FaultVerdict[]): FaultVerdict {
  const worst = [...verdicts].sort((a, b) => b.unansweredMs - a.unansweredMs)[0];
  return {
    unansweredMs: worst?.unansweredMs ?? 0,
    worst: worst?.worst ?? '',
    doubleMs: Math.max(0, ...verdicts.map((v) => v.doubleMs)),
    failures: verdicts.flatMap((v) => v.failures),
  };
}

/** One fault judged on one segment's rounds, from its start to the next fault's start: how long an
 *  address went unanswered or answered twice, and what broke the contract (one node within 1 s of the
 *  fault's end; never unanswered through a control-plane fault). */
export function judgeFault(rounds: readonly WatchRound[], ips: readonly string[], fault: FaultRecord, windowEnd: number, segment = 'eth0'): FaultVerdict {
  const controlPlane = fault.kind === 'kube-apiserver restart' || fault.kind === 'etcd restart' || fault.kind === 'controller SIGKILL';
  let unansweredMs = 0;
  let worst = '';
  let doubleMs = 0;
  const failures: string[] = [];
  const settled = rounds.filter((r) => r.t >= fault.endMs + SETTLE_MS && r.t < windowEnd);
  for (const ip of ips) {
    const unanswered = longestRun(rounds, ip, fault.startMs, windowEnd, (nodes) => nodes.length === 0);
    if (unanswered > unansweredMs) [unansweredMs, worst] = [unanswered, `${ip} on ${segment}`];
    doubleMs = Math.max(doubleMs, longestRun(rounds, ip, fault.startMs, windowEnd, (nodes) => nodes.length > 1));
    if (controlPlane && unanswered > CONTROL_PLANE_GRACE_MS) failures.push(`${ip} unanswered on ${segment} for ${unanswered} ms during a ${fault.kind}`);
    // Settled: never two MACs, and never silent for LATE_REPLY_MS or more. A shorter silence is a reply
    // that came after the prober's round (a speaker's event loop stalled, as a freshly started one does
    // for up to ~100 ms: issue 16's reply thread removes that wait), not an address without an owner.
    const double = settled.find((r) => (r.answers.get(ip) ?? []).length > 1);
    const silentMs = settled.length === 0 ? 0 : longestRun(settled, ip, settled[0]!.t, windowEnd, (nodes) => nodes.length === 0);
    const wrong = double ?? (silentMs >= LATE_REPLY_MS ? settled.find((r) => (r.answers.get(ip) ?? []).length === 0) : undefined);
    if (wrong !== undefined) {
      failures.push(`${ip} answered on ${segment} by [${(wrong.answers.get(ip) ?? []).join(', ')}]${double === undefined ? ` for ${silentMs} ms` : ''} `
        + `${wrong.t - fault.endMs} ms after a ${fault.kind}${fault.node === undefined ? '' : ` on ${fault.node}`} ended`);
    }
  }
  if (settled.length === 0) failures.push(`no probe round on ${segment} from 1 s after the ${fault.kind} ended to the next fault`);
  return { unansweredMs, worst, doubleMs, failures };
}

/** RSS of every program, sampled after each fault's quiet window. */
export interface RssSample {
  readonly t: number;
  readonly mb: ReadonlyMap<string, number>;
}

function sampleRss(): RssSample {
  return { t: Date.now(), mb: new Map(programs().map(({ program, pid }) => [program, memoryOfPid(pid).rssMb])) };
}

/** A V8 heap grows to its working size over the first minute or so whatever the load; growth is judged
 *  from the first sample after this warm-up (or the first sample, on a shorter run). */
const RSS_WARM_UP_MS = 45_000;

export function judgeRss(samples: readonly RssSample[]): Array<{ program: string; startMb: number; warmMb: number; peakMb: number; endMb: number }> {
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined) return [];
  const warm = samples.find((s) => s.t - first.t >= RSS_WARM_UP_MS) ?? first;
  return [...first.mb.keys()].map((program) => ({
    program,
    startMb: first.mb.get(program) ?? NaN,
    warmMb: warm.mb.get(program) ?? NaN,
    peakMb: Math.max(...samples.filter((s) => s.t >= warm.t).map((s) => s.mb.get(program) ?? 0)),
    endMb: last.mb.get(program) ?? NaN,
  }));
}

export async function runChaos(options: { minutes: number; seed: number; mode: LabMode; progress?: (line: string) => void }): Promise<ChaosReport> {
  const say = options.progress ?? ((line: string) => console.log(line));
  const next = seededRandom(options.seed);
  say(`chaos: seed ${options.seed}, ${options.minutes} min; bringing the lab up`);
  const field = await ChaosField.open(options.mode);
  try {
    await sleep(2_000);
    const samples: RssSample[] = [sampleRss()];
    const faults: FaultRecord[] = [];
    const deadline = Date.now() + options.minutes * 60_000;
    while (Date.now() < deadline) {
      const kind = FAULT_KINDS[Math.floor(next() * FAULT_KINDS.length)]!;
      const node = NODES[Math.floor(next() * NODES.length)]!;
      const startMs = Date.now();
      say(`chaos: ${kind}${nodeFault(kind) ? ` on ${node}` : ''}`);
      await inject(kind, node);
      faults.push({ kind, node, startMs, endMs: Date.now() });
      await sleep(3_000 + Math.floor(next() * 2_000)); // quiet, and the window in which it must settle
      samples.push(sampleRss());
    }
    const changed = await field.changedAddresses();
    await sleep(200);
    return report(options, field, faults, changed, samples);
  } finally {
    await field.close();
  }
}

function report(options: { minutes: number; seed: number }, field: ChaosField, faults: readonly FaultRecord[], changed: number, samples: readonly RssSample[]): ChaosReport {
  const byKind = new Map<FaultKind, KindFigures>();
  const failures: string[] = [];
  const evidence: string[] = [];
  faults.forEach((fault, i) => {
    const figures = byKind.get(fault.kind) ?? { kind: fault.kind, count: 0, longestUnansweredMs: 0, worst: '', longestDoubleMs: 0, failures: [] };
    byKind.set(fault.kind, figures);
    figures.count++;
    const verdict = field.judge(fault, faults[i + 1]?.startMs ?? Number.MAX_SAFE_INTEGER);
    if (verdict.unansweredMs > figures.longestUnansweredMs) {
      figures.longestUnansweredMs = verdict.unansweredMs;
      figures.worst = `${verdict.worst}${fault.node === undefined || !nodeFault(fault.kind) ? '' : `, fault on ${fault.node}`}`;
    }
    figures.longestDoubleMs = Math.max(figures.longestDoubleMs, verdict.doubleMs);
    figures.failures.push(...verdict.failures);
    if (verdict.failures.length > 0 && evidence.length < 3) evidence.push(field.evidence(fault, faults[i + 1]?.startMs ?? Number.MAX_SAFE_INTEGER, verdict));
  });
  for (const figures of byKind.values()) failures.push(...figures.failures.slice(0, 3));
  if (changed > 0) failures.push(`${changed} Services changed address`);
  const rss = judgeRss(samples);
  for (const { program, warmMb, endMb } of rss) {
    if (endMb > warmMb * 1.2) failures.push(`${program} RSS grew from ${warmMb} MB (warm) to ${endMb} MB`);
  }
  return { seed: options.seed, minutes: options.minutes, faults, byKind: [...byKind.values()], addressesChanged: changed, rss, passed: failures.length === 0, failures, evidence };
}

export function formatReport(report: ChaosReport): string {
  const lines = [`chaos: seed ${report.seed}, ${report.minutes} min, ${report.faults.length} faults`,
    '| fault | count | longest unanswered | (where) | longest two MACs | failures |', '|---|---|---|---|---|---|'];
  for (const f of report.byKind) lines.push(`| ${f.kind} | ${f.count} | ${f.longestUnansweredMs} ms | ${f.worst} | ${f.longestDoubleMs} ms | ${f.failures.length} |`);
  lines.push(`addresses changed: ${report.addressesChanged}`);
  for (const r of report.rss) lines.push(`RSS ${r.program}: start ${r.startMb}, warm ${r.warmMb}, peak ${r.peakMb}, end ${r.endMb} MB`);
  lines.push(report.passed ? 'PASSED' : `FAILED: ${report.failures.join('; ')}`);
  lines.push(...report.evidence);
  return lines.join('\n');
}

if (isMainModule(import.meta.url)) {
  const minutes = Number(process.env.MINUTES ?? '10');
  const seed = process.env.SEED ? Number(process.env.SEED) : Date.now() % 100_000;
  runChaos({ minutes, seed, mode: e2eLabMode() }).then((report) => {
    console.log(formatReport(report));
    process.exit(report.passed ? 0 : 1);
  }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
