// Peers are authenticated on the wire. From lab-client, an attacker that imports nothing of l2lb
// (e2e/probe/heartbeat-forge.py) sends the owner's peers goodbyes in the old plain JSON, well-formed
// goodbyes without a MAC or with a wrong one (from its own address and from the owner's, spoofed), and
// real heartbeats of the owner captured on the wire, replayed from its own address and from the owner's.
// No address moves (the independent prober sees the owner alone answer throughout) and every kind is
// dropped and counted by reason. Then Secret memberlist's key is rotated: no address moves, and no
// heartbeat is dropped for a bad MAC.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Secrets, Services } from '../operator/kit/resources.js';
import { electOwner } from '../reconcilers/layer2/election.js';
import { repoRoot } from './fixtures.js';
import { L2Watch } from './lab/census.js';
import { setEndpoints } from './lab/endpoints.js';
import { waitForSingleOwner } from './lab/failover.js';
import { kubectl, kubectlApply } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { e2eLabMode } from './lab/programs.js';
import { LAB_CLIENT_NS, labNode } from './lab/topology.js';

const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const NAMESPACE = 'forgery';
const IP = '192.168.1.229';
const FORGE = join(repoRoot, 'e2e', 'probe', 'heartbeat-forge.py');
const CAPTURE = join(labPaths().root, 'heartbeats.pcap');
let client: KubeClient;
let watch: L2Watch;
let owner: string;
let peers: string[];

const addressOf = (node: string): string => labNode(Number(node.slice('lab-node-'.length))).eth0.ipv4;

/** A speaker's heartbeat drops by reason, from its /metrics. */
function drops(node: string): Map<string, number> {
  const text = execFileSync('ip', ['netns', 'exec', node, 'curl', '-sf', 'http://127.0.0.1:7472/metrics'], { encoding: 'utf8' });
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^l2lb_memberlist_heartbeat_drops_total\{reason="([^"]+)"\} (\d+)/gm)) counts.set(match[1]!, Number(match[2]));
  return counts;
}

function forge(...args: string[]): number {
  return Number(execFileSync('ip', ['netns', 'exec', LAB_CLIENT_NS, 'python3', FORGE, ...args, '--to', peers.map(addressOf).join(',')], { encoding: 'utf8' }).trim());
}

/** Rounds in [from, to) answered by anyone but the owner, and the longest unanswered stretch. */
function judge(from: number, to: number): { others: number; unansweredMs: number } {
  let others = 0;
  let unansweredMs = 0;
  let since: number | undefined;
  for (const round of watch.rounds) {
    if (round.t < from || round.t >= to) continue;
    const nodes = round.answers.get(IP) ?? [];
    if (nodes.some((node) => node !== owner)) others++;
    if (nodes.length === 0) since ??= round.t;
    else if (since !== undefined) {
      unansweredMs = Math.max(unansweredMs, round.t - since);
      since = undefined;
    }
  }
  return { others, unansweredMs };
}

before(async () => {
  await labUp(3, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-forgery');
  owner = electOwner(IP, NODES)!;
  peers = NODES.filter((node) => node !== owner);
  kubectlApply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`);
  kubectlApply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: forgery-pool, namespace: metallb-system}
spec: {addresses: [${IP}/32], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: forgery-adv, namespace: metallb-system}
spec: {ipAddressPools: [forgery-pool]}
`);
  await client.create(Services, {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'forgery', namespace: NAMESPACE, annotations: { 'metallb.io/loadBalancerIPs': IP } },
    ...{ spec: { type: 'LoadBalancer', selector: { app: 'forgery' }, ports: [{ port: 80, protocol: 'TCP' }] } },
  });
  await setEndpoints(client, NAMESPACE, 'forgery', NODES.map((node) => ({ node })));
  await waitForSingleOwner(IP, owner, 30_000);
  watch = new L2Watch([IP], { intervalMs: 20, durationS: 300 });
  await sleep(2_500); // the gratuitous burst is over
});
after(async () => {
  await watch?.stop();
  rmSync(CAPTURE, { force: true });
  kubectl('delete', 'services,endpointslices', '--all', '-n', NAMESPACE, '--ignore-not-found', '--wait=true');
  kubectl('delete', 'l2advertisement/forgery-adv', 'ipaddresspool/forgery-pool', '-n', 'metallb-system', '--ignore-not-found', '--wait=true');
  client?.close();
});

test('forged and replayed heartbeats from lab-client move no address, and each is dropped and counted by reason', { timeout: 120_000 }, async () => {
  // Real heartbeats of the owner, as a peer receives them.
  execFileSync('ip', ['netns', 'exec', peers[0]!, 'timeout', '10', 'tcpdump', '-i', 'eth0', '-c', '4', '-w', CAPTURE,
    `udp dst port 7946 and src host ${addressOf(owner)}`], { stdio: 'ignore' });
  const before = new Map(peers.map((node) => [node, drops(node)]));
  const from = Date.now();
  const sent = {
    json: forge('json', '--node', owner, '--count', '20'),
    noMac: forge('forged', '--node', owner, '--no-mac', '--count', '20'),
    wrongMac: forge('forged', '--node', owner, '--count', '20'),
    wrongMacSpoofed: forge('forged', '--node', owner, '--count', '20', '--source', addressOf(owner)),
    replayOwnAddress: forge('replay', '--pcap', CAPTURE, '--count', '3'),
    replaySpoofed: forge('replay', '--pcap', CAPTURE, '--count', '3', '--source', 'original'),
  };
  await sleep(3_000); // longer than the liveness deadline: a goodbye or a silence believed would have moved it
  const seen = judge(from, Date.now());
  const delta = peers.map((node) => {
    const now = drops(node);
    return { node, ...Object.fromEntries([...now].map(([reason, n]) => [reason, n - (before.get(node)?.get(reason) ?? 0)]).filter(([, n]) => n !== 0)) };
  });
  console.log(`sent ${JSON.stringify(sent)}; dropped ${JSON.stringify(delta)}; answered by others in ${seen.others} rounds, longest unanswered ${seen.unansweredMs} ms`);
  assert.equal(seen.others, 0, `another node answered ${IP} in ${seen.others} rounds`);
  assert.ok(seen.unansweredMs <= 100, `${IP} unanswered for ${seen.unansweredMs} ms`);
  for (const figures of delta) {
    const count = (reason: string): number => (figures as Record<string, number | string>)[reason] as number | undefined ?? 0;
    assert.ok(count('unauthenticated') >= 40, `${figures.node}: ${count('unauthenticated')} unauthenticated drops (JSON and MAC-less goodbyes)`);
    assert.ok(count('bad-mac') >= 40, `${figures.node}: ${count('bad-mac')} bad-mac drops`);
    assert.ok(count('spoofed-source') >= 3, `${figures.node}: ${count('spoofed-source')} spoofed-source drops (replays from lab-client's address)`);
    assert.ok(count('replay') >= 3, `${figures.node}: ${count('replay')} replay drops (replays from the owner's address)`);
  }
});

test('rotating Secret memberlist\'s key moves no address and drops no heartbeat for a bad MAC', { timeout: 120_000 }, async () => {
  const before = new Map(NODES.map((node) => [node, drops(node).get('bad-mac') ?? 0]));
  const from = Date.now();
  await client.patch(Secrets, 'metallb-system', 'memberlist', { data: { secretkey: randomBytes(32).toString('base64') } });
  await sleep(15_000); // past the senders' adoption delay (5 s): every speaker seals with the new key
  const seen = judge(from, Date.now());
  const badMac = NODES.map((node) => ({ node, badMac: (drops(node).get('bad-mac') ?? 0) - before.get(node)! }));
  console.log(`key rotated: answered by others in ${seen.others} rounds, longest unanswered ${seen.unansweredMs} ms; ${JSON.stringify(badMac)}`);
  assert.equal(seen.others, 0, `another node answered ${IP} in ${seen.others} rounds after the rotation`);
  assert.ok(seen.unansweredMs <= 100, `${IP} unanswered for ${seen.unansweredMs} ms after the rotation`);
  for (const figure of badMac) assert.equal(figure.badMac, 0, `${figure.node} dropped ${figure.badMac} heartbeats for a bad MAC after the rotation`);
});
