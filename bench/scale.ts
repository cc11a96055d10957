// Memory and settling at the scale the targets name (../shared/design.md: 5,000 Services × 10 nodes):
// every Service with an EndpointSlice, so every speaker plans and announces for real. Measures each
// program's resident set and its peak (VmHWM, what a memory limit must cover) once settled, after a
// speaker's SIGKILL and after the controller's restart, and how long ownership takes to settle, judged
// by which MAC answers each address from lab-client. Prints a table and writes bench/results-scale.json;
// it never fails on a figure. BENCH_SCALE_SERVICES and BENCH_SCALE_NODES change the scale.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { repoRoot } from '../e2e/fixtures.js';
import { kubectlResult } from '../e2e/lab/kubectl.js';
import { labPaths, labUp } from '../e2e/lab/lab.js';
import { restartController } from '../e2e/lab/operator.js';
import { stopDaemon } from '../e2e/lab/processes.js';
import { createScaleServices, memoryOf, scalePoolYaml, settleOwnership, type Settled } from '../e2e/lab/scale.js';
import type { Memory } from '../e2e/lab/processes.js';

const SERVICES = Number(process.env.BENCH_SCALE_SERVICES ?? '5000');
const NODE_COUNT = Number(process.env.BENCH_SCALE_NODES ?? '10');
const NAMESPACE = 'bench-scale';
const NODES = Array.from({ length: NODE_COUNT }, (_, i) => `lab-node-${i + 1}`);
const log = (message: string): void => console.log(`bench scale: ${message}`);

interface Snapshot {
  readonly controller: Memory;
  readonly speakers: { readonly rssMb: { min: number; max: number }; readonly peakMb: { min: number; max: number } };
}

function snapshot(nodes: readonly string[]): Snapshot {
  const speakers = nodes.map((node) => memoryOf(`announcer-${node}`));
  const range = (values: number[]): { min: number; max: number } => ({ min: Math.min(...values), max: Math.max(...values) });
  return { controller: memoryOf('controller'), speakers: { rssMb: range(speakers.map((m) => m.rssMb)), peakMb: range(speakers.map((m) => m.peakMb)) } };
}

function describe(settled: Settled): Record<string, number> {
  return { settledMs: settled.ms, oneMac: settled.seen.single, twoOrMore: settled.seen.multiple, none: settled.seen.none, statuses: settled.statuses, problems: settled.problems.length };
}

async function settle(client: KubeClient, live: readonly string[]): Promise<Settled> {
  const settled = await settleOwnership(client, NAMESPACE, SERVICES, live, 900_000,
    (j) => log(`settling: ${j.seen.single} addresses with one MAC, ${j.seen.multiple} with two or more, ${j.seen.none} with none; ${j.statuses} statuses`));
  if (settled.problems.length > 0) log(`NOT settled: ${settled.problems.length} problems, e.g. ${settled.problems.slice(0, 3).join('; ')}`);
  return settled;
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { measuredAt: new Date().toISOString(), services: SERVICES, nodes: NODE_COUNT };
  log(`lab up (${NODE_COUNT} nodes)`);
  await labUp(NODE_COUNT, (m) => log(m));
  const paths = labPaths();
  const client = await KubeClient.create(loadKubeConfig(paths.kubeconfig), 'l2lb-bench-scale');
  for (const yaml of [`apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NAMESPACE}}\n`, scalePoolYaml()]) {
    const applied = kubectlResult(['apply', '-f', '-'], yaml);
    if (!applied.ok) throw new Error(applied.stderr);
  }
  results.idle = snapshot(NODES);

  // The speakers are stopped while the Services are created and started once all exist: on a two-core
  // lab machine, ten speakers planning every create starve the API server (a Service POST took 3–5 s),
  // and a speaker that starts with every Service present (a node joining, a DaemonSet rollout) is the
  // moment its memory peaks anyway: the whole cache arrives in one list.
  for (const node of NODES) await stopDaemon(join(paths.run, `announcer-${node}.pid`), 'SIGTERM');
  log(`creating ${SERVICES} Services with EndpointSlices (speakers stopped)`);
  let started = Date.now();
  await createScaleServices(client, NAMESPACE, SERVICES, NODES, (n) => log(`${n} of ${SERVICES} created`));
  results.createdMs = Date.now() - started;
  log(`starting ${NODE_COUNT} speakers with ${SERVICES} Services present`);
  started = Date.now();
  await labUp(NODE_COUNT, () => undefined);
  const first = await settle(client, NODES);
  results.settled = { ...describe(first), afterStartMs: Date.now() - started };
  await sleep(30_000);
  results.steady = snapshot(NODES);
  log(`settled: ${JSON.stringify(results.settled)}; memory ${JSON.stringify(results.steady)}`);

  const victim = NODES[1]!;
  const live = NODES.filter((node) => node !== victim);
  log(`SIGKILL of ${victim}'s speaker`);
  started = Date.now();
  await stopDaemon(join(paths.run, `announcer-${victim}.pid`), 'SIGKILL');
  results.afterSpeakerKill = { ...describe(await settle(client, live)), ...snapshot(live) };
  log(`after the SIGKILL: ${JSON.stringify(results.afterSpeakerKill)}`);
  await labUp(NODE_COUNT, () => undefined); // brings the speaker back, as the DaemonSet would
  results.restartedSpeaker = { ...describe(await settle(client, NODES)), ...memoryOf(`announcer-${victim}`) };
  log(`${victim}'s speaker back: ${JSON.stringify(results.restartedSpeaker)}`);

  log('SIGKILL of the controller, and its restart with every Service present');
  await restartController(paths, 'SIGKILL');
  await sleep(30_000);
  results.restartedController = memoryOf('controller');
  log(`controller after its restart: ${JSON.stringify(results.restartedController)}`);

  const steady = results.steady as Snapshot;
  const afterKill = results.afterSpeakerKill as unknown as Snapshot;
  const speakerPeak = Math.max(steady.speakers.peakMb.max, afterKill.speakers.peakMb.max, (results.restartedSpeaker as Memory).peakMb);
  const controllerPeak = Math.max(steady.controller.peakMb, afterKill.controller.peakMb, (results.restartedController as Memory).peakMb);
  results.peakMb = { speaker: speakerPeak, controller: controllerPeak };
  writeFileSync(join(repoRoot, 'bench', 'results-scale.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`\n${SERVICES} Services × ${NODE_COUNT} nodes (${results.measuredAt as string})`);
  console.log(`  settled ${(results.settled as { afterStartMs: number }).afterStartMs} ms after the speakers started: ${first.seen.single} one MAC, ${first.seen.multiple} two or more, ${first.seen.none} none; ${first.statuses} statuses`);
  console.log(`  peak resident set: speaker ${speakerPeak} MB, controller ${controllerPeak} MB`);
  console.log('wrote bench/results-scale.json');
  // The lab comes down after `make bench`; deleting 10,000 objects one by one would take minutes more.
  log('leaving the benchmark\'s Services to the lab\'s teardown');
  client.close();
}

main().catch((error: unknown) => {
  console.error(`bench scale: failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
