// l2lb installed the way users install it, on the cluster lab: kubelets on every node run its image from
// `kubectl apply -k config/default` (e2e/lab/cluster.ts). The speakers' Pods, the controller's leader
// election and the webhook through its Service are the cluster's own; ownership is judged by the MAC
// that answers ARP in lab-client; a speaker's process killed is restarted by its kubelet.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from './fixtures.js';
import { labUp } from './lab/lab.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { pidsInNamespace, waitFor } from './lab/processes.js';
import { arpOwners } from './lab/wire.js';
import { L2Watch, type WatchRound } from './lab/census.js';
import { endpointCount, guidesServiceWithPods } from './lab/backends.js';

const NS = 'metallb-system';
const NODES = 3;
const APP = 'cluster-e2e';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string; hostNetwork?: boolean; containers: Array<{ securityContext?: { capabilities?: { add?: string[]; drop?: string[] }; readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean } }> };
  status: {
    phase?: string; podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ ready: boolean; restartCount: number; lastState?: { terminated?: { reason?: string; exitCode?: number } } }>;
  };
}

function pods(selector: string, namespace = NS): Pod[] {
  return (JSON.parse(kubectl('get', 'pods', '-n', namespace, '-l', selector, '-o', 'json')) as { items: Pod[] }).items
    .filter((p) => p.metadata.deletionTimestamp === undefined);
}

const ready = (pod: Pod): boolean => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The host pid of the speaker process in `node`'s network namespace (the container's, seen from here). */
const speakerPid = (node: string): number | undefined => pidsInNamespace(node, /speaker-main\.js/)[0];

function serviceIP(): string {
  const service = JSON.parse(kubectl('get', 'service', APP, '-n', 'default', '-o', 'json')) as { status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } } };
  return service.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
}

before(async () => {
  await labUp(NODES, (message) => console.log(`lab: ${message}`), undefined, 'cluster');
});

after(() => {
  kubectlResult(['delete', 'service,deployment', APP, '-n', 'default', '--ignore-not-found']);
  kubectlResult(['delete', '-f', join(repoRoot, 'config', 'samples', 'guides', '000-04-l2advertisement-all.yaml'), '--ignore-not-found']);
  kubectlResult(['delete', '-f', join(repoRoot, 'config', 'samples', 'guides', '000-01-ipaddresspool-cidr.yaml'), '--ignore-not-found']);
});

test('every node runs a Ready kubelet, and a Ready speaker Pod with the host network, NET_RAW alone and a read-only root', () => {
  const nodes = JSON.parse(kubectl('get', 'nodes', '-o', 'json')) as { items: Array<{ metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } } }> };
  assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['lab-node-1', 'lab-node-2', 'lab-node-3']);
  for (const node of nodes.items) {
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.34.4');
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
  }
  const speakers = pods('component=speaker');
  assert.deepEqual(speakers.map((p) => p.spec.nodeName).sort(), ['lab-node-1', 'lab-node-2', 'lab-node-3']);
  for (const pod of speakers) {
    assert.ok(ready(pod), `${pod.metadata.name} is not Ready`);
    assert.equal(pod.spec.hostNetwork, true);
    const security = pod.spec.containers[0]?.securityContext;
    assert.deepEqual(security?.capabilities, { drop: ['ALL'], add: ['NET_RAW'] });
    assert.equal(security?.readOnlyRootFilesystem, true);
  }
});

test('the controller Deployment runs two Pods, and exactly one of them holds the leader Lease', () => {
  const controllers = pods('component=controller');
  assert.equal(controllers.length, 2);
  for (const pod of controllers) assert.ok(ready(pod) || pod.status.phase === 'Running', `${pod.metadata.name}: ${pod.status.phase}`);
  const holder = kubectl('get', 'lease', 'l2lb-controller', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}').trim();
  assert.ok(controllers.some((p) => p.metadata.name === holder), `the Lease names ${holder}, not one of ${controllers.map((p) => p.metadata.name).join(', ')}`);
});

test('the webhook admits and rejects through its Service (the API server calls the controller Pod)', () => {
  const good = 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: cluster-e2e-good, namespace: metallb-system}\nspec: {addresses: [198.51.100.0/30]}\n';
  const admitted = kubectlResult(['create', '--dry-run=server', '-f', '-'], good);
  assert.ok(admitted.ok, admitted.stderr);
  const bad = good.replace('cluster-e2e-good', 'cluster-e2e-bad').replace('198.51.100.0/30', '10.0.0.300/30');
  const rejected = kubectlResult(['create', '--dry-run=server', '-f', '-'], bad);
  assert.equal(rejected.ok, false);
  assert.match(rejected.stderr, /admission webhook "ipaddresspoolvalidationwebhook\.metallb\.io" denied the request/);
  assert.match(rejected.stderr, /"10\.0\.0\.300\/30": not an IP prefix/);
});

test('the guides’ pool and advertisement: a Service with real Pods gets an address, and the node its status names answers ARP for it alone', async () => {
  await guidesServiceWithPods(APP, 'default', 2);
  // The EndpointSlice is kube-controller-manager's, from the Pods' real addresses.
  await waitFor('an EndpointSlice with both Pods', () => endpointCount(APP, 'default') === 2, 60_000, 500);
  let ip = '';
  await waitFor('an address', () => (ip = serviceIP()) !== '', 30_000, 250);
  assert.match(ip, /^192\.168\.1\.2[45][0-9]$/);
  let announcer = '';
  await waitFor('a ServiceL2Status naming the announcing node', () => {
    const statuses = JSON.parse(kubectl('get', 'servicel2statuses', '-n', NS, '-o', 'json')) as { items: Array<{ status?: { serviceName?: string; node?: string } }> };
    announcer = statuses.items.find((s) => s.status?.serviceName === APP)?.status?.node ?? '';
    return announcer !== '';
  }, 30_000, 250);
  await waitFor(`${ip} answered by ${announcer} alone`, () => JSON.stringify(arpOwners(ip)) === JSON.stringify([announcer]), 15_000, 200);
});

/** The node answering `ip` alone in any of `rounds` other than `not`, or ''. */
function answeredAlone(rounds: readonly WatchRound[], ip: string, not: string): string {
  for (const round of rounds) {
    const owners = round.answers.get(ip) ?? [];
    if (owners.length === 1 && owners[0] !== not) return owners[0]!;
  }
  return '';
}

/** Whether `node` alone answered `ip` in every round of the last half second (and there were some). */
function aloneLately(watch: L2Watch, ip: string, node: string): boolean {
  const recent = watch.since(Date.now() - 500);
  return recent.length > 0 && recent.every((round) => JSON.stringify(round.answers.get(ip) ?? []) === JSON.stringify([node]));
}

/** A handover's silence bound: below the 500 ms UDP deadline a wrong order would cost, with room for a
 *  loaded two-core machine. */
const SILENCE_BOUND_MS = 300;

/** The longest time `ip` went unanswered from `from` on: between two answered rounds with an unanswered
 *  one in between. A gap with no round in it is the prober stalled (a loaded machine), not evidence. */
function longestSilence(rounds: readonly WatchRound[], ip: string, from: number): number {
  let longest = 0;
  let lastAnswered: number | undefined;
  let askedSince = false;
  for (const round of rounds.filter((r) => r.t >= from)) {
    if ((round.answers.get(ip) ?? []).length === 0) {
      askedSince = true;
      continue;
    }
    if (lastAnswered !== undefined && askedSince) longest = Math.max(longest, round.t - lastAnswered);
    lastAnswered = round.t;
    askedSince = false;
  }
  return longest;
}

function restartsOf(node: string): number {
  return pods('component=speaker').find((p) => p.spec.nodeName === node)?.status.containerStatuses?.[0]?.restartCount ?? 0;
}

async function restartedAndReady(node: string, restartsBefore: number): Promise<void> {
  await waitFor(`the kubelet to restart ${node}'s speaker`, () => {
    const pod = pods('component=speaker').find((p) => p.spec.nodeName === node);
    return (pod?.status.containerStatuses?.[0]?.restartCount ?? 0) > restartsBefore && pod !== undefined && ready(pod);
  }, 60_000, 250);
}

/** The node answering `ip` alone and its speaker's pid, asserted. */
function ownerOf(ip: string): { owner: string; pid: number } {
  const [owner] = arpOwners(ip);
  assert.ok(owner !== undefined, `nobody answers ARP for ${ip}`);
  const pid = speakerPid(owner);
  assert.ok(pid !== undefined, `no speaker process in ${owner}'s namespace`);
  return { owner, pid };
}

/** Waits for a node other than `not` to answer `ip` alone after `since`; returns it and when it did. */
async function heirOf(watch: L2Watch, ip: string, not: string, since: number): Promise<{ heir: string; afterMs: number }> {
  let heir = '';
  await waitFor(`a node other than ${not} to answer ${ip} alone`, () => (heir = answeredAlone(watch.since(since), ip, not)) !== '', 10_000, 50);
  const first = watch.since(since).find((round) => JSON.stringify(round.answers.get(ip) ?? []) === JSON.stringify([heir]))!;
  return { heir, afterMs: first.t - since };
}

// A crash-looping or frozen peer leaves its heartbeat Lease behind, stale. A speaker that restarted took
// such a Lease for a fresh one (dated when it first saw it), deferred to the dead peer for the Lease's
// 10 s while the live peers, hearing it, handed it the address: nobody answered for 10 s.
test('the owner’s speaker frozen, then the new owner’s killed: the restarted one answers at once, never deferring to the frozen node, and the thawed one takes the address back', async () => {
  const ip = serviceIP();
  const { owner: frozen, pid: frozenPid } = ownerOf(ip);
  const watch = new L2Watch([ip], { intervalMs: 20 });
  try {
    await waitFor(`the prober to hear ${frozen}`, () => aloneLately(watch, ip, frozen), 10_000, 100);
    process.kill(frozenPid, 'SIGSTOP');
    const stopped = Date.now();
    const { heir, afterMs } = await heirOf(watch, ip, frozen, stopped);
    console.log(`# ${frozen}'s speaker frozen (SIGSTOP): ${heir} answered ${ip} alone after ${afterMs} ms`);
    // Past the frozen node's heartbeat Lease (10 s, renewed every 2 s): its renewTime is stale by then.
    await sleep(Math.max(0, stopped + 12_500 - Date.now()));
    const heirPid = speakerPid(heir);
    assert.ok(heirPid !== undefined, `no speaker process in ${heir}'s namespace`);
    const restartsBefore = restartsOf(heir);
    const killed = Date.now();
    process.kill(heirPid, 'SIGKILL');
    // The failover to the third node is the kill's; the restart's silence is counted from there on.
    const third = await heirOf(watch, ip, heir, killed);
    await restartedAndReady(heir, restartsBefore);
    await waitFor(`${heir} (restarted) to answer ${ip} alone`, () => aloneLately(watch, ip, heir), 20_000, 100);
    const silence = longestSilence(watch.rounds, ip, killed + third.afterMs);
    console.log(`# ${heir}'s speaker SIGKILLed and restarted beside a frozen ${frozen}: longest silence of ${ip} after the first answer ${silence} ms`);
    // Ordering, not timing: the live peers answer until the restarted one says alive, so any silence is
    // a few probe rounds (22–28 ms measured); waiting out the 500 ms UDP deadline is the bug this catches.
    assert.ok(silence < SILENCE_BOUND_MS, `${ip} went unanswered for ${silence} ms while ${heir}'s restarted speaker joined`);
  } finally {
    process.kill(frozenPid, 'SIGCONT');
  }
  try {
    await waitFor(`${frozen} (thawed) to answer ${ip} alone again`, () => aloneLately(watch, ip, frozen), 20_000, 100);
  } finally {
    await watch.stop();
  }
});

test('a speaker’s process killed: another node answers within seconds, the kubelet restarts it, and it takes the address back', async () => {
  const ip = serviceIP();
  const { owner, pid } = ownerOf(ip);
  const restartsBefore = restartsOf(owner);
  // Every 20 ms, not arping's whole seconds: a kubelet restarts a first crash at once, and the heir may
  // answer alone for only a second or two before the restarted speaker takes the address back.
  const watch = new L2Watch([ip], { intervalMs: 20 });
  try {
    await waitFor(`the prober to hear ${owner}`, () => aloneLately(watch, ip, owner), 10_000, 100);
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    const { heir, afterMs } = await heirOf(watch, ip, owner, killed);
    console.log(`# ${owner}'s speaker SIGKILLed: ${heir} answered ${ip} alone after ${afterMs} ms (l2probe in lab-client)`);
    await restartedAndReady(owner, restartsBefore);
    assert.notEqual(speakerPid(owner), pid);
    await waitFor(`${owner} to answer ${ip} alone again`, () => aloneLately(watch, ip, owner), 20_000, 100);
    const silence = longestSilence(watch.rounds, ip, killed + afterMs); // from the heir's first answer
    console.log(`# the handback to ${owner}'s restarted speaker: longest silence of ${ip} after the first answer ${silence} ms`);
    assert.ok(silence < SILENCE_BOUND_MS, `${ip} went unanswered for ${silence} ms while ${owner}'s restarted speaker took it back`);
  } finally {
    await watch.stop();
  }
});

test('no l2lb container was OOM-killed', () => {
  for (const pod of pods('app=metallb')) {
    for (const status of pod.status.containerStatuses ?? []) {
      assert.notEqual(status.lastState?.terminated?.reason, 'OOMKilled', `${pod.metadata.name} was OOM-killed`);
    }
  }
});
