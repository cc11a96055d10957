// Ownership at scale: 1,000 LoadBalancer Services with EndpointSlices spread over three nodes (ETP
// Cluster and Local mixed). Once settled, every address is answered by exactly one MAC (asked from
// lab-client by the independent prober), each announced Service has exactly one ServiceL2Status naming
// that MAC's node, a quiet half-minute has no announce or withdraw and at most one API request a second per
// speaker (the API server's audit log), and all of it holds again after one speaker is SIGKILLed (on the
// installed lab its kubelet restarts it, so all of it holds with the three nodes again).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { readAudit, requestsByAgent } from './lab/audit.js';
import { kubectl, kubectlApply } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { controllerPids, e2eLabMode, signalSpeaker, speakerBack, speakerLog, speakerPid, startSpeakers, stopSpeakers } from './lab/programs.js';
import { memoryOfPid } from './lab/processes.js';
import { HEARTBEAT_LABEL } from '../reconcilers/layer2/node-heartbeat.js';
import { createScaleServices, deleteScaleServices, scalePoolYaml, settleOwnership, type Settled } from './lab/scale.js';

const COUNT = Number(process.env.L2LB_SCALE_SERVICES ?? '1000');
const NAMESPACE = 'scale';
const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const QUIET_MS = 30_000; // long enough to judge a per-second API rate and any flapping; short enough for make test
let client: KubeClient;

before(async () => {
  await labUp(3, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-scale');
  await deleteScaleServices(client, NAMESPACE);
  kubectlApply(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`);
});
after(async () => {
  if (client !== undefined) await deleteScaleServices(client, NAMESPACE);
  client?.close();
});

/** Per node, the speaker's log lines matching `pattern` and stamped in [from, to). By time, not by a
 *  count taken twice: a kubelet removes a deleted Pod's logs. */
function logLines(pattern: RegExp, from: number, to = Infinity): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of NODES) {
    counts.set(node, speakerLog(node).split('\n').filter((line) => {
      const ts = Date.parse(/"ts":"([^"]+)"/.exec(line)?.[1] ?? '');
      return ts >= from && ts < to && pattern.test(line);
    }).length);
  }
  return counts;
}

async function settle(live: readonly string[], timeoutMs: number): Promise<Settled> {
  const settled = await settleOwnership(client, NAMESPACE, COUNT, live, timeoutMs);
  if (settled.problems.length > 0) {
    assert.fail(`not settled after ${timeoutMs} ms: ${settled.problems.length} problems, e.g. ${settled.problems.slice(0, 5).join('; ')}`);
  }
  return settled;
}

/** Settles until `node` answers again every address of `share`, its own before a crash its kubelet
 *  restarted (until then its peers answer them, and the census alone would call that settled). */
async function settleBack(node: string, share: readonly string[], timeoutMs: number): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const settled = await settle(NODES, Math.max(0, deadline - Date.now()));
    const back = share.filter((ip) => settled.seen.owners.get(ip)?.join() === node).length;
    if (back === share.length) return settled;
    if (Date.now() > deadline) assert.fail(`${node} answers ${back} of its ${share.length} addresses ${timeoutMs} ms after its crash`);
    await sleep(2_000);
  }
}

/** A minute of nothing: no announce or withdraw in any speaker's log, at most one request a second each. */
async function quietWindow(live: readonly string[]): Promise<void> {
  const from = Date.now();
  await sleep(QUIET_MS);
  const to = Date.now();
  await sleep(2_000); // the audit log is written in batches, at most a second late; logs a little less
  const moved = logLines(/"msg":"(announcing|withdrew)"/, from, to);
  const byAgent = requestsByAgent(readAudit(join(labPaths().logs, 'audit.log')), from, to);
  const figures = live.map((node) => {
    const requests = byAgent.get(`l2lb-speaker/${node}`) ?? [];
    return { node, moves: moved.get(node) ?? 0, requests: requests.length,
      verbs: [...new Set(requests.map((r) => `${r.verb} ${r.resource}`))].join(', '), rssMb: memoryOfPid(speakerPid(node)).rssMb };
  });
  console.log(`quiet ${QUIET_MS / 1000} s: ${JSON.stringify(figures)}; controller RSS ${controllerPids().map((pid) => memoryOfPid(pid).rssMb).join(' and ')} MB`);
  for (const figure of figures) {
    assert.equal(figure.moves, 0, `${figure.node} announced or withdrew ${figure.moves} times in a quiet ${QUIET_MS / 1000} s`);
    assert.ok(figure.requests <= QUIET_MS / 1000, `${figure.node} sent ${figure.requests} API requests in a quiet ${QUIET_MS / 1000} s (${figure.verbs})`);
  }
}

test(`${COUNT} Services over three nodes: one MAC per address, one status per Service, quiet when nothing changes, and again after a SIGKILL`, { timeout: 1_500_000 }, async () => {
  kubectlApply(scalePoolYaml());
  const created = Date.now();
  await createScaleServices(client, NAMESPACE, COUNT, NODES);
  console.log(`created ${COUNT} Services and EndpointSlices in ${Date.now() - created} ms`);

  const first = await settle(NODES, 600_000);
  console.log(`settled ${first.ms} ms after the last create: ${first.seen.single} addresses with one MAC, ${first.seen.multiple} with two or more, ${first.seen.none} with none; ${first.statuses} ServiceL2Statuses`);
  assert.equal(first.seen.single, COUNT);
  assert.equal(first.statuses, COUNT);
  await quietWindow(NODES);

  // One speaker crashes: its addresses move, and its statuses go with it. On the installed lab its
  // kubelet restarts it within a second, and they come back to it.
  const victim = 'lab-node-2';
  const restarted = e2eLabMode() === 'cluster';
  const live = restarted ? NODES : NODES.filter((node) => node !== victim);
  const share = [...first.seen.owners].filter(([, owners]) => owners.join() === victim).map(([ip]) => ip);
  const killed = Date.now();
  const pid = signalSpeaker(victim, 'SIGKILL');
  if (restarted) await speakerBack(victim, pid);
  const second = restarted ? await settleBack(victim, share, 300_000) : await settle(live, 300_000);
  console.log(`after SIGKILL of ${victim}${restarted ? ' (restarted by its kubelet)' : ''}: settled in ${Date.now() - killed} ms: ${second.seen.single} addresses with one MAC, ${second.seen.multiple} with two or more, ${second.seen.none} with none; ${second.statuses} ServiceL2Statuses`);
  assert.equal(second.seen.single, COUNT);
  assert.equal(second.statuses, COUNT);
  await quietWindow(live);
  await labUp(3, () => undefined, undefined, e2eLabMode()); // the process lab restarts what is missing, as a kubelet would
});

// A fresh install over Services that already have addresses (moving from MetalLB): every speaker starts
// at once and no heartbeat Lease exists yet. A first plan that read "no Lease" as "no interface" judged
// every peer ineligible and announced every address (at 10 × 5,000: all ten speakers, all 5,000
// addresses, for 55 s). Each address must be announced once, by one node.
test(`every speaker stopped, its Lease gone, and all started together with ${COUNT} Services present: each address announced once, by one node`, { timeout: 900_000 }, async () => {
  await settle(NODES, 300_000);
  await stopSpeakers(NODES);
  kubectl('delete', 'leases', '-n', 'metallb-system', '-l', `${HEARTBEAT_LABEL}=true`, '--ignore-not-found');
  const started = Date.now();
  await startSpeakers(NODES);
  const settled = await settle(NODES, 600_000);
  const after = logLines(/"msg":"announcing"/, started);
  const announced = NODES.map((node) => after.get(node) ?? 0);
  const total = announced.reduce((sum, n) => sum + n, 0);
  console.log(`started together: settled ${Date.now() - started} ms after the start; addresses announced per node ${JSON.stringify(announced)}, ${total} in all for ${COUNT} addresses; ${settled.seen.multiple} with two or more MACs when settled`);
  assert.equal(settled.seen.single, COUNT);
  assert.equal(total, COUNT, `${total} announcements for ${COUNT} addresses: speakers starting together took addresses that were not theirs`);
});
