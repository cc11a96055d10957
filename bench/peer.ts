// l2lb beside MetalLB v0.15.2 in one run, on the same cluster lab (kubelets; each system installed from
// its own image and manifests), with the same prober (e2e/probe/l2probe.py in lab-client, which imports
// nothing of either), the same Services and the same Pods. Each scenario runs against both; a scenario
// that fails prints "not measured" for that system, never an older figure. Writes
// bench/results-peer.json (with the run's time) and bench/failover.svg (the failover CDFs).
//   BENCH_PEER_NODES (10), BENCH_PEER_SERVICES (Services present, with Pods; half of them
//   externalTrafficPolicy Local; 5000), BENCH_PEER_V6_SERVICES (IPv6 Services besides them, each with
//   endpoints on every node, so every failover trial watches an NDP address of the same owner too; 40),
//   BENCH_PEER_CREATES (Services timed from create, every other one IPv6; 10),
//   BENCH_PEER_TRIALS (speaker SIGKILLs, and as many SIGTERMs and drains; 10), BENCH_PEER_NODE_LOSSES
//   (nodes lost, each the one owning the most addresses left; 3), BENCH_PEER_QUIET_S (the window API
//   writes and CPU are counted in; 60), BENCH_PEER_SCENARIOS (only these after the cold start, e.g.
//   "drain"; all)

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { EndpointSlices, Nodes, Services, type KubeObject } from '../operator/kit/resources.js';
import { repoRoot } from '../e2e/fixtures.js';
import { ensureBackends } from '../e2e/lab/backends.js';
import { readAudit, readAuditTail, requestsByAgent } from '../e2e/lab/audit.js';
import { setEndpoints } from '../e2e/lab/endpoints.js';
import { census, L2Watch } from '../e2e/lab/census.js';
import { lostRequests, percentile } from '../e2e/lab/failover.js';
import { kubectl, kubectlApply, kubectlAsync, kubectlResult } from '../e2e/lab/kubectl.js';
import { labDown, labPaths, labUp, type LabMode } from '../e2e/lab/lab.js';
import { memoryOfPid, pidsInNamespace, processesMatching, waitFor } from '../e2e/lab/processes.js';
import { deleteAllOf, inParallel, scalePoolYaml } from '../e2e/lab/scale.js';
import { LAB_CLIENT_NS, labNode } from '../e2e/lab/topology.js';
import { recordsAbout, speakerLog } from '../e2e/lab/programs.js';
import { Prober } from '../e2e/lab/wire.js';
import { cdfSvg, stackedSvg } from './cdf-svg.js';

const NODES = Number(process.env.BENCH_PEER_NODES ?? 10);
const SERVICES = Number(process.env.BENCH_PEER_SERVICES ?? 5000);
const V6_SERVICES = Number(process.env.BENCH_PEER_V6_SERVICES ?? 40);
const CREATES = Number(process.env.BENCH_PEER_CREATES ?? 10);
const TRIALS = Number(process.env.BENCH_PEER_TRIALS ?? 10);
const NODE_LOSSES = Number(process.env.BENCH_PEER_NODE_LOSSES ?? 3);
const QUIET_S = Number(process.env.BENCH_PEER_QUIET_S ?? 60);
const NS = 'bench-peer';
const APP = 'bench-peer';
const log = (message: string): void => console.log(`bench/peer: ${message}`);

type Peer = 'l2lb' | 'metallb';
/** BENCH_PEER_ONLY=l2lb (or metallb) measures one system: a re-run after a change to one of them.
 *  The other's column then says "not measured", never a figure from another run. */
const ONLY = process.env.BENCH_PEER_ONLY;
/** BENCH_PEER_SCENARIOS=drain,crash (any of quiet, memory, create, crash, sigterm, drain, node loss)
 *  measures only those after the cold start: a look at one scenario without the whole hour. */
const ONLY_SCENARIOS = process.env.BENCH_PEER_SCENARIOS?.split(',').map((name) => name.trim()).filter((name) => name !== '');
const PEERS: readonly Peer[] = (['l2lb', 'metallb'] as const).filter((peer) => ONLY === undefined || ONLY === '' || ONLY === peer);
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

/** A speaker signalled on the owner of an address (SIGKILL or SIGTERM), or its node drained. */
interface Handover {
  /** Signal or drain → the address answered again (recovery()), over the trials in which it was
   *  (undefined when none was: see stayed and silent). */
  readonly answeredMs: Distribution | undefined;
  /** A drain: from the cordon stored (kubectl takes seconds to get there on a starved machine, the same
   *  for either system) to the address answered by another node. */
  readonly answeredAfterCordonMs?: Distribution;
  /** The longest stretch in which nobody answered, per trial (0 when another node answered first). */
  readonly silenceMs: Distribution;
  /** How each trial ended: another node took the address, or the owner's restarted speaker did. */
  readonly moved: number;
  readonly restarted: number;
  /** Trials the window ended without either: the owner still answering (MetalLB keeps announcing
   *  from a drained node), or nobody answering. Their silences and lost requests still count. */
  readonly stayed: number;
  readonly silent: number;
  /** HTTP requests from lab-client every REQUEST_MS, from the fault to the trial's end, and how many of
   *  them were lost (lostRequests()), per trial. */
  readonly requests: number;
  readonly lost: readonly number[];
}

interface PeerResult {
  /** Every speaker started with SERVICES Services present → each address answered by one node. */
  prepareMs?: number;
  createToIngressMs?: Distribution;
  createToAnswerMs?: Distribution;
  /** Each fault watched at an IPv4 address (ARP) and at an IPv6 address of the same owner (NDP). */
  crash?: Handover;
  crash6?: Handover;
  sigterm?: Handover;
  sigterm6?: Handover;
  drain?: Handover;
  drain6?: Handover;
  createToAnswer6Ms?: Distribution;
  /** Node loss, each address the lost node owned: the loss → another node answering it (IPv4, IPv6). */
  nodeLossMs?: Distribution;
  nodeLoss6Ms?: Distribution;
  /** Node loss: the loss → the last of the lost node's addresses answered, per trial, with how many. */
  massFailoverMs?: Distribution;
  massAddresses?: number[];
  speakerRssMB?: number;
  /** The largest speaker's heap in use, from its own /metrics (V8's, or Go's): how much of its RSS is
   *  live data rather than runtime and slack. */
  speakerHeapMB?: number;
  controllerRssMB?: number;
  /** Container restarts in metallb-system before the first fault (a probe or a lost lease under load). */
  restarts?: number;
  /** In a quiet window: API writes (create, update, patch, delete) per second, per node's speaker and for
   *  the controllers together, and CPU in millicores (the busiest speaker, the busiest controller). */
  speakerWritesPerNodePerS?: number;
  /** How long after the last change the quiet window began (the speakers' backlog written). */
  quietAfterS?: number;
  controllerWritesPerS?: number;
  speakerCpuMillicores?: number;
  controllerCpuMillicores?: number;
  errors: Record<string, string>;
}

function distribution(values: readonly number[]): Distribution {
  return { samples: values.length, p50: percentile(values, 50), p99: percentile(values, 99), values: [...values].sort((a, b) => a - b) };
}

/** Every other Service keeps its traffic on the node it arrives at, so that node must have a Pod. An
 *  IPv6 Service selects no Pod (the lab's Pods have IPv4 addresses only): labEndpoints() writes its
 *  EndpointSlice, with an endpoint on every node. */
function serviceObject(name: string, options: { ip?: string; local?: boolean; ipv6?: boolean } = {}): KubeObject {
  const family = options.ipv6 === true ? { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' } : { selector: { app: APP } };
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: NS, labels: { bench: 'peer' }, ...(options.ip === undefined ? {} : { annotations: { 'metallb.universe.tf/loadBalancerIPs': options.ip } }) },
    // No NodePorts (30000–32767 holds 2,768; an L2 address needs none); a Local one still takes a
    // health-check port, so at most 2,768 of them.
    spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ...family, ports: [{ port: 80, targetPort: 8080 }], externalTrafficPolicy: options.local === true ? 'Local' : 'Cluster' },
  } as KubeObject;
}

async function labEndpoints(client: KubeClient, name: string): Promise<void> {
  await setEndpoints(client, NS, name, Array.from({ length: NODES }, (_, i) => ({ node: labNode(i + 1).name })));
}

/** The IPv6 pool beside scalePoolYaml()'s IPv4 one (the L2Advertisement there names no pool). */
const V6_POOL_YAML = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench-v6, namespace: metallb-system}
spec: {addresses: ['fd00:1::5:0/112']}
`;
const isV6 = (ip: string): boolean => ip.includes(':');
const SCALE_POOL = '10.220.0.0/18';

function ingressOf(object: unknown): string {
  return (object as { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } }).status?.loadBalancer?.ingress?.[0]?.ip ?? '';
}

/** User plus system CPU time a process has used, in clock ticks (fields 14 and 15 of /proc/<pid>/stat,
 *  counted after the command name, which may hold spaces). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
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

type Rounds = ReadonlyArray<{ t: number; answers: ReadonlyMap<string, readonly string[]> }>;

/** The address → the nodes answering it, from a census; every address answered by exactly one node. */
function settledOwners(ips: readonly string[]): Map<string, string> | undefined {
  const seen = census(ips, { rounds: 2 });
  if (!ips.every((ip) => seen.owners.get(ip)?.length === 1)) return undefined;
  return new Map(ips.map((ip) => [ip, seen.owners.get(ip)![0]!]));
}

async function settle(ips: readonly string[], timeoutMs = 600_000): Promise<Map<string, string>> {
  let owners: Map<string, string> | undefined;
  await waitFor(`all ${ips.length} addresses answered by one node`, () => (owners = settledOwners(ips)) !== undefined, timeoutMs, 2000);
  return owners!;
}

/** The speakers paused (their DaemonSet selects no node) or back. On a two-core lab, ten speakers taking
 *  in 5,000 creates one by one starve everything else (the API server, the controller's Lease); paused,
 *  the Services are created and allocated first, and every speaker then starts with all of them
 *  present, as after an upgrade. The same for both systems. */
function pauseSpeakers(paused: boolean): void {
  kubectl('patch', 'daemonset', 'speaker', '-n', 'metallb-system', '--type=strategic', '-p',
    JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'l2lb.dev/bench-paused': paused ? 'true' : null } } } } }));
  kubectl('rollout', 'status', '-n', 'metallb-system', 'daemonset/speaker', '--timeout=600s');
}

/** Pods behind every Service, SERVICES Services with an address (speakers paused), then the speakers
 *  started: returns the addresses, and how long after the start every one was answered by one node. */
async function prepare(client: KubeClient): Promise<{ ips: string[]; speakersStartedMs: number }> {
  kubectlResult(['create', 'namespace', NS]);
  await deleteAllOf(client, Services, NS, 'bench=peer');
  kubectlApply(scalePoolYaml(SCALE_POOL));
  kubectlApply(V6_POOL_YAML);
  // lab-client's HTTP requests: the IPv4 pool is not in its subnet, so it is made on-link, as a pool in
  // the nodes' own subnet would be (the IPv6 pool is in fd00:1::/64 already). ARP asks as before.
  execFileSync('ip', ['-n', LAB_CLIENT_NS, 'route', 'replace', SCALE_POOL, 'dev', 'eth0']);
  await ensureBackends(APP, NS, NODES);
  pauseSpeakers(true);
  const names = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
  let created = 0;
  await inParallel(names, 16, async (name, i) => {
    await client.apply(Services, serviceObject(name, { local: i % 2 === 1 }), 'bench-peer');
    if (++created % 1000 === 0) log(`${created}/${SERVICES} Services created`);
  });
  await inParallel(Array.from({ length: V6_SERVICES }, (_, i) => `svc6-${i}`), 8, async (name) => {
    await client.apply(Services, serviceObject(name, { ipv6: true }), 'bench-peer');
    await labEndpoints(client, name);
  });
  let ips: string[] = [];
  await waitFor(`${SERVICES + V6_SERVICES} Services with an address`, async () => {
    const { items } = await client.list<KubeObject>(Services, NS, { labelSelector: 'bench=peer' });
    ips = items.map(ingressOf).filter((ip) => ip !== '');
    return ips.length === SERVICES + V6_SERVICES;
  }, 900_000, 1000);
  const started = Date.now();
  pauseSpeakers(false);
  await settle(ips);
  return { ips, speakersStartedMs: Date.now() - started };
}

/** API writes and CPU over QUIET_S seconds with nothing changing, 15 s after the last change. */
/** Waits, at least 15 s and at most 3 min, until the speakers have written what the start left them to
 *  write (statuses, Events): at most one write a second per node over the last 10 s. A quiet window
 *  begun earlier measured that backlog, not the steady state (32.9 writes/s per node at 10 × 5,000,
 *  where the audit log showed 0.5/s once it was written). Returns how long it waited. */
async function caughtUp(): Promise<number> {
  const started = Date.now();
  await sleep(15_000);
  for (;;) {
    const now = Date.now();
    await sleep(2_000); // the audit log is written in 1 s batches
    const recent = readAuditTail(join(labPaths().logs, 'audit.log'), 64 << 20)
      .filter((e) => /speaker/.test(e.userAgent) && WRITES.has(e.verb) && e.receivedMs >= now - 10_000 && e.receivedMs < now);
    if (recent.length <= NODES * 10 || Date.now() - started > 180_000) return Date.now() - started;
    await sleep(3_000);
  }
}

async function quiet(peer: Peer, result: PeerResult): Promise<void> {
  result.quietAfterS = Math.round((await caughtUp()) / 1000);
  const speakers = speakerPids(peer);
  const controllers = processesMatching(PROGRAM[peer].controller);
  const before = new Map([...speakers, ...controllers].map((pid) => [pid, cpuTicks(pid)]));
  const from = Date.now();
  await sleep(QUIET_S * 1000);
  const to = Date.now();
  await sleep(2000); // the audit log is written in 1 s batches
  // A process gone by the end (a restarted container) has no figure; a restart shows in `restarts`.
  const millicores = (pids: number[]): number => Math.max(...pids.flatMap((pid) => {
    try {
      return [((cpuTicks(pid) - before.get(pid)!) / 100) / ((to - from) / 1000) * 1000];
    } catch {
      return [];
    }
  }));
  const rounded = (m: number): number | undefined => (Number.isFinite(m) ? Math.round(m) : undefined);
  result.speakerCpuMillicores = rounded(millicores(speakers));
  result.controllerCpuMillicores = rounded(millicores(controllers));
  const writes = [...requestsByAgent(readAudit(join(labPaths().logs, 'audit.log')), from, to)]
    .map(([agent, entries]) => [agent, entries.filter((e) => WRITES.has(e.verb)).length] as const);
  const count = (speaker: boolean): number => writes.filter(([agent]) => /speaker/.test(agent) === speaker).reduce((sum, [, n]) => sum + n, 0);
  result.speakerWritesPerNodePerS = Math.round(count(true) / NODES / QUIET_S * 1000) / 1000;
  result.controllerWritesPerS = Math.round(count(false) / QUIET_S * 1000) / 1000;
}

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Create → an address in the Service's status, and → the first ARP (or NDP, every other one) answer
 *  at lab-client. An IPv6 Service's EndpointSlice is written right after it (no Pod has an IPv6
 *  address), where kube-controller-manager writes an IPv4 one's. */
async function creates(client: KubeClient, result: PeerResult): Promise<void> {
  const toIngress: number[] = [];
  const toAnswer: number[] = [];
  const toAnswer6: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const ipv6 = i % 2 === 1;
    const ip = ipv6 ? `fd00:1::5:ff${(i + 16).toString(16)}` : `10.220.60.${10 + i}`;
    const name = `probe-${i}`;
    const watch = new L2Watch([ip], { intervalMs: 5 });
    const stamps: Stamps = {};
    const done = new AbortController();
    try {
      await waitFor('the prober to start', () => watch.rounds.length > 0, 10_000, 10);
      const started = Date.now();
      // Where a create's time goes: its EndpointSlice (kube-controller-manager's, or the lab's for IPv6),
      // its address, then the speakers' plans (timeline()).
      const sliced = stampWhen(stamps, 'EndpointSlice stored', async () =>
        (await client.list(EndpointSlices, NS, `kubernetes.io/service-name=${name}`)).items.length > 0, done.signal);
      await client.apply(Services, serviceObject(name, { ip, ipv6 }), 'bench-peer');
      if (ipv6) await labEndpoints(client, name);
      // Two minutes: in two runs at 10 × 5,000, MetalLB's controller had not assigned the first one
      // an address after 30 s, and a figure says more than "not measured".
      await waitFor(`${name}'s address`, async () => ingressOf(await client.get(Services, NS, name)) === ip, 120_000, 5);
      toIngress.push(Date.now() - started);
      stamps['address in status'] = Date.now();
      await waitFor(`${ip} answered`, () => watch.since(started).some((round) => (round.answers.get(ip)?.length ?? 0) > 0), 30_000, 5);
      const first = watch.since(started).find((round) => (round.answers.get(ip)?.length ?? 0) > 0)!;
      (ipv6 ? toAnswer6 : toAnswer).push(first.t - started);
      done.abort();
      await sliced;
      const by = first.answers.get(ip)![0]!;
      log(`create ${i + 1}: ${timeline(stamps, started, [ip], by, () => ({ t: first.t, by }))}`);
    } finally {
      done.abort();
      await watch.stop();
    }
  }
  result.createToIngressMs = distribution(toIngress);
  result.createToAnswerMs = distribution(toAnswer);
  result.createToAnswer6Ms = distribution(toAnswer6);
}

/** When a round after the kill first shows `ip` served again: by another node, or by the owner's
 *  restarted speaker after a silence of at least `ownerSilenceMs` (the kubelet restarts a killed
 *  container at once the first time, so on a real cluster either can come first). A restart takes
 *  far longer than a round the prober missed while the old process still answered (a SIGTERMed
 *  speaker answers on for a second after its goodbye), which is no recovery. */
export function recovery(rounds: Rounds, ip: string, owner: string, ownerSilenceMs = 0): { t: number; by: string } | undefined {
  let silentSince: number | undefined;
  for (const round of rounds) {
    const nodes = round.answers.get(ip) ?? [];
    if (nodes.length === 0) silentSince ??= round.t;
    else if (nodes.some((n) => n !== owner)) return { t: round.t, by: nodes.find((n) => n !== owner)! };
    else if (silentSince !== undefined && round.t - silentSince >= ownerSilenceMs) return { t: round.t, by: owner };
    else silentSince = undefined;
  }
  return undefined;
}

/** When a round after the fault first shows a node other than `owner` answering `ip`. */
export function movedAway(rounds: Rounds, ip: string, owner: string): { t: number; by: string } | undefined {
  for (const round of rounds) {
    const other = (round.answers.get(ip) ?? []).find((n) => n !== owner);
    if (other !== undefined) return { t: round.t, by: other };
  }
  return undefined;
}

/** The longest run of rounds in which nobody answered `ip`, from its first silent round to the next
 *  answered one (a silence still running at the end counts to the last round). */
export function longestSilence(rounds: Rounds, ip: string): number {
  let since: number | undefined;
  let longest = 0;
  for (const round of rounds) {
    if ((round.answers.get(ip)?.length ?? 0) === 0) since ??= round.t;
    else if (since !== undefined) {
      longest = Math.max(longest, round.t - since);
      since = undefined;
    }
  }
  if (since !== undefined && rounds.length > 0) longest = Math.max(longest, rounds.at(-1)!.t - since);
  return longest;
}

/** The shortest silence after which the owner's own answer counts as its restarted speaker's. */
const OWNER_SILENCE_MS = 100;

/** How long a handover trial waits for the address to move or come back after its fault. */
const HANDOVER_WINDOW_MS = 30_000;

/** How often lab-client sends an HTTP request to each watched address during a failover trial. */
const REQUEST_MS = 10;

/** One trial's figures at one address. */
interface TrialAt {
  readonly answeredMs: number | undefined;
  readonly answeredAfterCordonMs?: number;
  readonly silenceMs: number;
  readonly heir: 'moved' | 'restarted' | 'stayed' | 'silent';
  readonly requests: number;
  readonly lost: number;
}

function handover(trials: readonly TrialAt[]): Handover | undefined {
  if (trials.length === 0) return undefined;
  const answered = trials.flatMap((t) => (t.answeredMs === undefined ? [] : [t.answeredMs]));
  const afterCordon = trials.flatMap((t) => (t.answeredAfterCordonMs === undefined ? [] : [t.answeredAfterCordonMs]));
  const count = (heir: TrialAt['heir']): number => trials.filter((t) => t.heir === heir).length;
  return {
    answeredMs: answered.length === 0 ? undefined : distribution(answered), silenceMs: distribution(trials.map((t) => t.silenceMs)),
    ...(afterCordon.length === 0 ? {} : { answeredAfterCordonMs: distribution(afterCordon) }),
    moved: count('moved'), restarted: count('restarted'), stayed: count('stayed'), silent: count('silent'),
    requests: trials.reduce((sum, t) => sum + t.requests, 0), lost: trials.map((t) => t.lost),
  };
}

/** A fresh speaker Pod on `node` (its DaemonSet makes one without the kubelet's crash back-off), then
 *  every watched address answered by one node before the next trial. */
async function freshSpeaker(node: string, ips: readonly string[]): Promise<void> {
  kubectl('delete', 'pod', '-n', 'metallb-system', '-l', 'component=speaker', `--field-selector=spec.nodeName=${node}`, '--wait=true');
  kubectl('rollout', 'status', '-n', 'metallb-system', 'daemonset/speaker', '--timeout=120s');
  await oneOwnerAgain(ips);
}

/** Each of `ips` answered by one node, and 3 s more for the handover's writes, before the next trial. */
async function oneOwnerAgain(ips: readonly string[]): Promise<void> {
  await waitFor(`${ips.join(', ')} answered by one node again`, () => {
    const seen = census(ips);
    return ips.every((ip) => seen.owners.get(ip)?.length === 1);
  }, 60_000, 500);
  await sleep(3000);
}

/** Runs `disrupt` on the owner of each trial's IPv4 address and of an IPv6 address it also owns (NDP),
 *  watching both every 5 ms until each is answered again (recovery()); when `ownerReturns` (a
 *  signalled speaker's restart), until the owner answers again too, since taking an address back may
 *  open a silence of its own. lab-client sends HTTP requests to both meanwhile (lostRequests()).
 *  `restore` always runs. */
async function handovers(ips: readonly string[], ownerReturns: boolean, disrupt: (owner: string) => Promise<Stamps | void>,
  restore: (owner: string, ips: readonly string[]) => Promise<void>): Promise<{ arp?: Handover; ndp?: Handover }> {
  const ips4 = ips.filter((ip) => !isV6(ip));
  const ips6 = ips.filter(isV6);
  const arp: TrialAt[] = [];
  const ndp: TrialAt[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const ip4 = ips4[(trial * 7) % ips4.length]!;
    const owners = census([ip4]).owners.get(ip4) ?? [];
    if (owners.length !== 1) throw new Error(`${ip4}: answered by ${owners.length} nodes before trial ${trial}`);
    const owner = owners[0]!;
    const seen6 = census(ips6);
    const ip6 = ips6.find((ip) => seen6.owners.get(ip)?.length === 1 && seen6.owners.get(ip)![0] === owner);
    if (ip6 === undefined) log(`trial ${trial + 1}: none of the ${ips6.length} IPv6 addresses is ${owner}'s alone: ARP only`);
    const watched = ip6 === undefined ? [ip4] : [ip4, ip6];
    const watch = new L2Watch(watched, { intervalMs: 5 });
    const probers = new Map(watched.map((ip) => [ip, new Prober(ip, REQUEST_MS)]));
    try {
      await waitFor(`${owner} answering ${watched.join(' and ')} in the prober, and serving them`, () => watched.every((ip) =>
        watch.rounds.at(-1)?.answers.get(ip)?.[0] === owner && probers.get(ip)!.samples.at(-1)?.node === owner), 10_000, 10);
      const started = Date.now();
      const stamps = (await disrupt(owner)) ?? {};
      // A drained owner's speaker keeps running: its answer after a round the prober missed is no
      // recovery, only another node's is (in the run at 4a99b50 every drain trial of both systems
      // "recovered" that way, so that row timed a missed round, not the move).
      const recovered = (ip: string): { t: number; by: string } | undefined => (ownerReturns
        ? recovery(watch.since(started), ip, owner, OWNER_SILENCE_MS) : movedAway(watch.since(started), ip, owner));
      // A window that ends unresolved is a result too (MetalLB does not move an address off a drained
      // node): its silences and lost requests count, and the row says how many trials stayed.
      await waitFor(`${watched.join(' and ')} answered by another node, or again after a silence`, () => watched.every((ip) => recovered(ip) !== undefined), HANDOVER_WINDOW_MS, 5)
        .catch(() => log(`trial ${trial + 1}: ${watched.filter((ip) => recovered(ip) === undefined).join(' and ')} neither moved nor answered again after a silence within ${HANDOVER_WINDOW_MS / 1000} s`));
      for (const ip of watched) {
        const back = recovered(ip);
        if (ownerReturns && back !== undefined && back.by !== owner) {
          await waitFor(`${owner} answering ${ip} again`, () => watch.since(back.t).some((round) => round.answers.get(ip)?.includes(owner)), 30_000, 20).catch(() => undefined);
        }
      }
      await sleep(1000);
      const ended = Date.now();
      if (Object.keys(stamps).length > 0) log(`trial ${trial + 1}: ${timeline(stamps, started, watched, owner, recovered)}`);
      for (const ip of watched) {
        const rounds = watch.since(started);
        const samples = probers.get(ip)!.since(started).filter((s) => s.t <= ended);
        const back = recovered(ip);
        const heir = back !== undefined ? (back.by === owner ? 'restarted' : 'moved') : (rounds.at(-1)?.answers.get(ip)?.length ?? 0) > 0 ? 'stayed' : 'silent';
        const cordoned = stamps[CORDON_STORED];
        (isV6(ip) ? ndp : arp).push({ answeredMs: back === undefined ? undefined : back.t - started, silenceMs: longestSilence(rounds, ip), heir,
          ...(heir === 'moved' && cordoned !== undefined ? { answeredAfterCordonMs: back!.t - cordoned } : {}),
          requests: samples.length, lost: lostRequests(samples, rounds, ip).length });
      }
    } finally {
      await Promise.all([watch.stop(), ...[...probers.values()].map((prober) => prober.stop())]);
      await restore(owner, watched);
    }
  }
  return { arp: handover(arp), ndp: handover(ndp) };
}

function signalSpeaker(peer: Peer, signal: NodeJS.Signals): (owner: string) => Promise<void> {
  return async (owner) => {
    const [pid] = pidsInNamespace(owner, PROGRAM[peer].speaker);
    if (pid === undefined) throw new Error(`no ${peer} speaker process in ${owner}`);
    process.kill(pid, signal);
  };
}

/** Moments in a trial (absolute ms), by what happened then. */
type Stamps = Record<string, number>;
const CORDON_STORED = 'cordon stored';

/** Where a trial's time went: its stamps, what each node's speaker logged about the watched addresses
 *  (the first record of each kind, by node), and when the prober first saw them answered elsewhere; all
 *  in ms after the fault. */
function timeline(stamps: Stamps, started: number, ips: readonly string[], owner: string,
  recovered: (ip: string) => { t: number; by: string } | undefined): string {
  const parts = Object.entries(stamps).map(([what, t]) => `${what} +${t - started}`);
  for (const ip of ips) {
    const back = recovered(ip);
    const nodes = back === undefined || back.by === owner ? [owner] : [owner, back.by];
    const said = nodes.flatMap((node) => firstRecords(speakerLog(node), ip, started).map((record) => `${node} ${record}`));
    parts.push(`${ip}: ${said.join(', ') || 'nothing logged'}; prober saw ${back === undefined ? 'no move' : `${back.by} +${back.t - started}`}`);
  }
  return parts.join('; ');
}

/** The first record of each message about `ip` logged from `since` on, as "message +ms". */
export function firstRecords(log: string, ip: string, since: number): string[] {
  const first = new Map<string, number>();
  for (const { t, msg } of recordsAbout(log, ip)) if (t >= since && !first.has(msg)) first.set(msg, t);
  return [...first].sort((a, b) => a[1] - b[1]).map(([msg, t]) => `${msg} +${t - since}`);
}

/** `kubectl drain` (cordon, then evict the node's Pods but the speaker's) → the address answered by
 *  another node; the node is uncordoned after. Asynchronous, so the prober's rounds keep being read.
 *  Stamps when the cordon was stored and when kubectl returned. */
function drainWith(client: KubeClient): (owner: string) => Promise<Stamps> {
  return async (owner) => {
    const stamps: Stamps = {};
    const done = new AbortController();
    const cordoned = stampWhen(stamps, CORDON_STORED, async () =>
      (await client.get<{ spec?: { unschedulable?: boolean } }>(Nodes, undefined, owner)).spec?.unschedulable === true, done.signal);
    try {
      await kubectlAsync('drain', owner, '--ignore-daemonsets', '--force', '--grace-period=1', '--timeout=60s');
      stamps['kubectl drain returned'] = Date.now();
    } finally {
      done.abort(); // a drain that failed stops the polling too
      await cordoned;
    }
    return stamps;
  };
}

/** Stamps `what` in `stamps` when `happened` first holds, asked every 20 ms until `signal` aborts (a
 *  failed ask counts as not yet). */
async function stampWhen(stamps: Stamps, what: string, happened: () => Promise<boolean>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    if (await happened().catch(() => false)) {
      stamps[what] = Date.now();
      return;
    }
    await sleep(20);
  }
}

async function uncordon(owner: string, ips: readonly string[]): Promise<void> {
  kubectl('uncordon', owner);
  await oneOwnerAgain(ips);
}

/** The node owning the most addresses lost: every process in its namespace stopped (SIGSTOP: kubelet,
 *  containerd, the speaker) and its eth0 down, until every address it owned is answered by another
 *  node; then it comes back and ownership settles. One trial per node, most addresses first. */
async function nodeLosses(ips: readonly string[], owners: Map<string, string>, result: PeerResult): Promise<void> {
  const perAddress: number[] = [];
  const perAddress6: number[] = [];
  const mass: number[] = [];
  const counts: number[] = [];
  for (let trial = 0; trial < NODE_LOSSES; trial++) {
    const byNode = new Map<string, string[]>();
    for (const [ip, node] of owners) byNode.set(node, [...(byNode.get(node) ?? []), ip]);
    const [node, lost] = [...byNode].sort((a, b) => b[1].length - a[1].length)[trial % byNode.size]!;
    const watch = new L2Watch(lost, { intervalMs: 5 });
    const pids = pidsInNamespace(node, /(?:)/); // every process: kubelet, containerd, shims, the speaker
    try {
      await waitFor(`${node} answering its ${lost.length} addresses in the prober`, () => lost.every((ip) => watch.rounds.at(-1)?.answers.get(ip)?.[0] === node), 30_000, 10);
      const started = Date.now();
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      execFileSync('ip', ['-n', node, 'link', 'set', 'eth0', 'down']);
      await waitFor(`${lost.length} addresses of ${node} answered by another node`, () => lost.every((ip) => recovery(watch.since(started), ip, node) !== undefined), 120_000, 20);
      const times = lost.map((ip) => recovery(watch.since(started), ip, node)!.t - started);
      lost.forEach((ip, i) => (isV6(ip) ? perAddress6 : perAddress).push(times[i]!));
      mass.push(Math.max(...times));
      counts.push(lost.length);
      log(`node loss ${trial + 1}/${NODE_LOSSES}: ${node}'s ${lost.length} addresses all answered elsewhere after ${Math.max(...times)} ms`);
    } finally {
      await watch.stop();
      execFileSync('ip', ['-n', node, 'link', 'set', 'eth0', 'up']);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // exited meanwhile
        }
      }
    }
    owners = await settle(ips);
  }
  result.nodeLossMs = distribution(perAddress);
  if (perAddress6.length > 0) result.nodeLoss6Ms = distribution(perAddress6);
  result.massFailoverMs = distribution(mass);
  result.massAddresses = counts;
}

/** The speaker processes, one per node, found in the nodes' namespaces. */
function speakerPids(peer: Peer): number[] {
  return Array.from({ length: NODES }, (_, i) => pidsInNamespace(`lab-node-${i + 1}`, PROGRAM[peer].speaker)).flat();
}

function restarts(): number {
  const pods = JSON.parse(kubectl('get', 'pods', '-n', 'metallb-system', '-o', 'json')) as { items: Array<{ status?: { containerStatuses?: Array<{ restartCount?: number }> } }> };
  return pods.items.flatMap((pod) => pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
}

function memory(peer: Peer, result: PeerResult): void {
  const speakers = speakerPids(peer);
  const controllers = processesMatching(PROGRAM[peer].controller);
  if (speakers.length === 0 || controllers.length === 0) throw new Error(`found ${speakers.length} speakers and ${controllers.length} controllers`);
  result.speakerRssMB = Math.max(...speakers.map((pid) => memoryOfPid(pid).rssMb));
  result.controllerRssMB = Math.max(...controllers.map((pid) => memoryOfPid(pid).rssMb));
  const heaps = Array.from({ length: NODES }, (_, i) => speakerHeapMB(labNode(i + 1).name, labNode(i + 1).eth0.ipv4)).filter((mb) => mb !== undefined);
  if (heaps.length > 0) result.speakerHeapMB = Math.max(...heaps);
}

/** l2lb's nodejs_heap_size_used_bytes or MetalLB's go_memstats_heap_inuse_bytes, from the speaker's
 *  metrics on port 7472 (l2lb listens on every address, MetalLB on the node's). */
function speakerHeapMB(node: string, nodeIp: string): number | undefined {
  for (const host of ['127.0.0.1', nodeIp]) {
    try {
      const text = execFileSync('ip', ['netns', 'exec', node, 'curl', '-s', '--max-time', '3', `http://${host}:7472/metrics`], { encoding: 'utf8' });
      const match = /^(?:nodejs_heap_size_used_bytes|go_memstats_heap_inuse_bytes)\s+(\S+)$/m.exec(text);
      if (match !== null) return Math.round(Number(match[1]) / 1e5) / 10;
    } catch {
      // not listening on that address: try the next
    }
  }
  return undefined;
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
    const prepared = await timed(result, 'prepare', async () => prepare(client));
    if (prepared === undefined) return result;
    const { ips } = prepared;
    result.prepareMs = prepared.speakersStartedMs;
    log(`${peer}: speakers started with ${SERVICES} Services present: all answered after ${result.prepareMs} ms`);
    // A scenario left out says so, like one that failed: never an older figure.
    const wanted = (scenario: string): boolean => {
      if (ONLY_SCENARIOS === undefined || ONLY_SCENARIOS.includes(scenario)) return true;
      result.errors[scenario] = `not in this run (BENCH_PEER_SCENARIOS=${ONLY_SCENARIOS.join(',')})`;
      return false;
    };
    if (wanted('quiet')) await timed(result, 'quiet', async () => quiet(peer, result));
    log(`${peer}: quiet ${QUIET_S} s, from ${result.quietAfterS ?? '-'} s after the last change: ${result.speakerWritesPerNodePerS ?? '-'} writes/s per node, speaker ${result.speakerCpuMillicores ?? '-'}m CPU, controller ${result.controllerCpuMillicores ?? '-'}m`);
    if (wanted('memory')) await timed(result, 'memory', async () => memory(peer, result));
    if (wanted('create')) await timed(result, 'create', async () => creates(client, result));
    log(`${peer}: create → ingress p99 ${result.createToIngressMs?.p99 ?? '-'} ms, → first answer p99 ${result.createToAnswerMs?.p99 ?? '-'} ms`);
    await timed(result, 'restarts', async () => (result.restarts = restarts()));
    if (wanted('crash')) await timed(result, 'crash', async () => ({ arp: result.crash, ndp: result.crash6 } = await handovers(ips, true, signalSpeaker(peer, 'SIGKILL'), freshSpeaker)));
    log(`${peer}: speaker SIGKILL → answered again: p50 ${result.crash?.answeredMs?.p50 ?? '-'} ms, p99 ${result.crash?.answeredMs?.p99 ?? '-'} ms`);
    if (wanted('sigterm')) await timed(result, 'sigterm', async () => ({ arp: result.sigterm, ndp: result.sigterm6 } = await handovers(ips, true, signalSpeaker(peer, 'SIGTERM'), freshSpeaker)));
    log(`${peer}: speaker SIGTERM → silence p99 ${result.sigterm?.silenceMs.p99 ?? '-'} ms`);
    if (wanted('drain')) await timed(result, 'drain', async () => ({ arp: result.drain, ndp: result.drain6 } = await handovers(ips, false, drainWith(client), uncordon)));
    log(`${peer}: drain → answered elsewhere p99 ${result.drain?.answeredMs?.p99 ?? '-'} ms`);
    const owners = wanted('node loss') ? await timed(result, 'node loss', async () => settle(ips)) : undefined;
    if (owners !== undefined) await timed(result, 'node loss', async () => nodeLosses(ips, owners, result));
    log(`${peer}: node loss → answered elsewhere p99 ${result.nodeLossMs?.p99 ?? '-'} ms; all of a node's addresses p99 ${result.massFailoverMs?.p99 ?? '-'} ms`);
  } finally {
    await deleteAllOf(client, Services, NS, 'bench=peer').catch(() => undefined);
    client.close();
  }
  return result;
}

/** The trials of one fault at both families, as one Handover (the silences and lost requests of both). */
function merged(a: Handover | undefined, b: Handover | undefined): Handover | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const both = (x: Distribution, y: Distribution): Distribution => distribution([...x.values, ...y.values]);
  const answered = [...a.answeredMs?.values ?? [], ...b.answeredMs?.values ?? []];
  return { answeredMs: answered.length === 0 ? undefined : distribution(answered), silenceMs: both(a.silenceMs, b.silenceMs),
    moved: a.moved + b.moved, restarted: a.restarted + b.restarted, stayed: a.stayed + b.stayed, silent: a.silent + b.silent,
    requests: a.requests + b.requests, lost: [...a.lost, ...b.lost] };
}

function cell(d: Distribution | undefined, error?: string): string {
  if (d !== undefined) return `${d.p50} / ${d.p99} ms (n=${d.samples})`;
  return error === undefined ? 'not measured' : `not measured: ${error.slice(0, 80)}`;
}

/** How the trials ended; a cell with no figure (no trial resolved) says so instead of "not measured". */
function heirs(h: Handover | undefined): string {
  if (h === undefined) return '';
  const unresolved = [h.stayed > 0 ? `${h.stayed} still with the owner` : '', h.silent > 0 ? `${h.silent} answered by nobody` : ''].filter(Boolean);
  const after = unresolved.length === 0 ? '' : `; after ${HANDOVER_WINDOW_MS / 1000} s: ${unresolved.join(', ')}`;
  return `; moved ${h.moved}, restarted ${h.restarted}${after}`;
}

function figure(value: number | undefined, unit: string): string {
  return value === undefined ? 'not measured' : unit === '' ? String(value) : `${value} ${unit}`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
}

export function table(l2lb: PeerResult, metallb: PeerResult): Array<[string, string, string, string]> {
  const row = (name: string, pick: (r: PeerResult) => Distribution | undefined, scenario: string, extra: (r: PeerResult) => string = () => ''): [string, string, string, string] => {
    // Trials ran but none ended as the row times (heirs() says how they ended): not "not measured".
    const text = (r: PeerResult): string => (pick(r) === undefined && r.errors[scenario] === undefined && extra(r) !== '' ? `no trial${extra(r)}` : cell(pick(r), r.errors[scenario]) + extra(r));
    return [name, text(l2lb), text(metallb), ratio(pick(l2lb)?.p99, pick(metallb)?.p99)];
  };
  const plain = (name: string, pick: (r: PeerResult) => number | undefined, unit: string): [string, string, string, string] =>
    [name, figure(pick(l2lb), unit), figure(pick(metallb), unit), ratio(pick(l2lb), pick(metallb))];
  const both = (a: Distribution | undefined, b: Distribution | undefined): Distribution | undefined =>
    (a === undefined || b === undefined ? a ?? b : distribution([...a.values, ...b.values]));
  const addresses = (r: PeerResult): string => (r.massAddresses === undefined ? '' : `; ${r.massAddresses.join(', ')} addresses`);
  const prepared = (r: PeerResult): number | undefined => (r.prepareMs === undefined ? undefined : Math.round(r.prepareMs / 100) / 10);
  const lostRow = (name: string, pick: (r: PeerResult) => Handover | undefined, scenario: string): [string, string, string, string] => {
    const lost = (r: PeerResult): number | undefined => (pick(r) === undefined ? undefined : pick(r)!.lost.reduce((sum, n) => sum + n, 0));
    const text = (r: PeerResult): string => {
      const h = pick(r);
      return h === undefined ? cell(undefined, r.errors[scenario]) : `${lost(r)} of ${h.requests} (most in one trial: ${Math.max(...h.lost)})`;
    };
    return [name, text(l2lb), text(metallb), ratio(lost(l2lb), lost(metallb))];
  };
  return [
    plain(`every speaker started with ${SERVICES} Services present → each address answered by one node`, prepared, 's'),
    row('create → ingress (p50 / p99)', (r) => r.createToIngressMs, 'create'),
    row('create → first ARP answer (p50 / p99)', (r) => r.createToAnswerMs, 'create'),
    row('create → first NDP answer (p50 / p99)', (r) => r.createToAnswer6Ms, 'create'),
    row('speaker SIGKILL → answered again, ARP', (r) => r.crash?.answeredMs, 'crash', (r) => heirs(r.crash)),
    row('speaker SIGKILL → answered again, NDP', (r) => r.crash6?.answeredMs, 'crash', (r) => heirs(r.crash6)),
    lostRow('speaker SIGKILL → HTTP requests lost, IPv4 + IPv6', (r) => merged(r.crash, r.crash6), 'crash'),
    row('speaker SIGTERM → longest silence, ARP', (r) => r.sigterm?.silenceMs, 'sigterm', (r) => heirs(r.sigterm)),
    row('speaker SIGTERM → longest silence, NDP', (r) => r.sigterm6?.silenceMs, 'sigterm', (r) => heirs(r.sigterm6)),
    lostRow('speaker SIGTERM → HTTP requests lost, IPv4 + IPv6', (r) => merged(r.sigterm, r.sigterm6), 'sigterm'),
    row('kubectl drain → answered by another node, ARP', (r) => r.drain?.answeredMs, 'drain', (r) => heirs(r.drain)),
    row('kubectl drain → answered by another node, NDP', (r) => r.drain6?.answeredMs, 'drain', (r) => heirs(r.drain6)),
    row('kubectl drain: cordon stored → answered by another node, ARP and NDP', (r) => both(r.drain?.answeredAfterCordonMs, r.drain6?.answeredAfterCordonMs), 'drain',
      (r) => heirs(merged(r.drain, r.drain6))),
    row('kubectl drain → longest silence, ARP and NDP', (r) => merged(r.drain, r.drain6)?.silenceMs, 'drain'),
    lostRow('kubectl drain → HTTP requests lost, IPv4 + IPv6', (r) => merged(r.drain, r.drain6), 'drain'),
    row('node loss → each address answered elsewhere, ARP', (r) => r.nodeLossMs, 'node loss'),
    row('node loss → each address answered elsewhere, NDP', (r) => r.nodeLoss6Ms, 'node loss'),
    row('node loss → all its addresses answered', (r) => r.massFailoverMs, 'node loss', addresses),
    plain('quiet window began after (the speakers\' backlog written)', (r) => r.quietAfterS, 's'),
    plain('API writes per node (speaker), quiet', (r) => r.speakerWritesPerNodePerS, '/s'),
    plain('API writes (controllers), quiet', (r) => r.controllerWritesPerS, '/s'),
    plain('speaker CPU (busiest), quiet', (r) => r.speakerCpuMillicores, 'm'),
    plain('controller CPU (busiest), quiet', (r) => r.controllerCpuMillicores, 'm'),
    plain('container restarts before the first fault', (r) => r.restarts, ''),
    plain('speaker RSS (largest)', (r) => r.speakerRssMB, 'MB'),
    plain('speaker heap in use (largest), from its /metrics', (r) => r.speakerHeapMB, 'MB'),
    plain('controller RSS (largest)', (r) => r.controllerRssMB, 'MB'),
  ];
}

const CHARTS: ReadonlyArray<[string, (r: PeerResult) => Distribution | undefined]> = [
  ['Speaker SIGKILL → address answered again (ARP and NDP)', (r) => merged(r.crash, r.crash6)?.answeredMs],
  ['Speaker SIGTERM → longest silence (ARP and NDP)', (r) => merged(r.sigterm, r.sigterm6)?.silenceMs],
  ['kubectl drain → answered by another node (ARP and NDP)', (r) => merged(r.drain, r.drain6)?.answeredMs],
  ['Node loss → each address answered elsewhere (ARP and NDP)', (r) => (r.nodeLossMs === undefined ? undefined : distribution([...r.nodeLossMs.values, ...(r.nodeLoss6Ms?.values ?? [])]))],
];

async function main(): Promise<void> {
  rmSync(join(repoRoot, 'bench', 'results-peer.json'), { force: true });
  rmSync(join(repoRoot, 'bench', 'failover.svg'), { force: true });
  const measuredAt = new Date().toISOString();
  log(`${NODES} nodes, ${SERVICES} Services present (and ${V6_SERVICES} IPv6), ${CREATES} timed creates, ${TRIALS} speaker SIGKILLs, SIGTERMs and drains, ${NODE_LOSSES} nodes lost, each system in turn`);
  const results: Partial<Record<Peer, PeerResult>> = {};
  for (const peer of PEERS) results[peer] = await measure(peer);
  await labDown(() => undefined);
  console.log(`\nl2lb beside MetalLB v0.15.2, ${measuredAt}: ${NODES} nodes, ${SERVICES} Services with Pods (half externalTrafficPolicy Local); ratio = l2lb / MetalLB (p99)`);
  console.log('| scenario | l2lb | MetalLB | ratio |\n|---|---|---|---|');
  const skipped: PeerResult = { errors: Object.fromEntries(['prepare', 'create', 'crash', 'sigterm', 'drain', 'node loss'].map((s) => [s, `not in this run (BENCH_PEER_ONLY=${ONLY})`])) };
  for (const row of table(results.l2lb ?? skipped, results.metallb ?? skipped)) console.log(`| ${row.join(' | ')} |`);
  writeFileSync(join(repoRoot, 'bench', 'results-peer.json'), JSON.stringify({ measuredAt, nodes: NODES, services: SERVICES, creates: CREATES, trials: TRIALS, nodeLosses: NODE_LOSSES, quietS: QUIET_S,
    v6Services: V6_SERVICES, requestMs: REQUEST_MS,
    method: 'e2e/probe/l2probe.py watch in lab-client every 5 ms (ARP and NDP) and e2e/lab/probe.ts HTTP every 10 ms; both systems from their own images on the cluster lab', results }, null, 2));
  const charts = CHARTS.flatMap(([title, pick]) => {
    const series = PEERS.flatMap((peer) => {
      const d = results[peer] === undefined ? undefined : pick(results[peer]!);
      return d === undefined ? [] : [{ name: peer === 'l2lb' ? 'l2lb' : 'MetalLB v0.15.2', values: d.values }];
    });
    return series.length === 0 ? [] : [cdfSvg(`${title} (${NODES} nodes, ${SERVICES} Services, ${measuredAt.slice(0, 10)})`, 'ms', series)];
  });
  if (charts.length > 0) {
    writeFileSync(join(repoRoot, 'bench', 'failover.svg'), stackedSvg(charts));
    log('wrote bench/failover.svg');
  }
}

if (process.argv[1]?.endsWith('peer.js') === true) main().catch((error: unknown) => {
  console.error(`bench/peer: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
