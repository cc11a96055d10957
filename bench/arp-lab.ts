// Reply latency of the speaker as the lab runs it, beside the kernel of the node that owns the address,
// measured from lab-client by the independent C prober (bench/l2probe.c): requests for the owner node's
// own address (the kernel answers) and for a LoadBalancer address the node's speaker owns alternate, one
// in flight, ARP and NDP. Twice: with the speaker idle, and while it recomputes its plan for 5,000 Services
// being created with EndpointSlices and then deleted (every change re-plans every Service, and every
// announced address swaps the reply thread's table). bench/arp.ts measures the responder alone; this is
// the whole program. Prints a table and writes bench/results-arp-lab.json; it never fails on a figure.
//
//   node dist/bench/arp-lab.js            (BENCH_STORM_SERVICES=5000, BENCH_ROUNDS=500)

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { EndpointSlices, Services, type KubeObject } from '../operator/kit/resources.js';
import { electOwner } from '../reconcilers/layer2/election.js';
import { repoRoot } from '../e2e/fixtures.js';
import { setEndpoints } from '../e2e/lab/endpoints.js';
import { percentile, waitForSingleOwner } from '../e2e/lab/failover.js';
import { kubectl, kubectlApply } from '../e2e/lab/kubectl.js';
import { labPaths, labUp } from '../e2e/lab/lab.js';
import { deleteAllOf, inParallel } from '../e2e/lab/scale.js';
import { client as labClient, LAB_CLIENT_NS, labNode } from '../e2e/lab/topology.js';
import { buildProber, run } from '../testkit/netns.js';

const STORM = Number(process.env.BENCH_STORM_SERVICES ?? '5000');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? '500');
const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const VIP = { ARP: '192.168.1.170', NDP: 'fd00:1::170' } as const;
type Family = keyof typeof VIP;
const log = (message: string): void => console.log(`bench-arp-lab: ${message}`);

interface Figures {
  readonly samples: number;
  readonly lost: number;
  readonly medianUs: number;
  readonly p99Us: number;
}

interface LatencyRow {
  readonly family: Family;
  readonly load: 'idle' | 'recomputing';
  readonly kernel: Figures;
  readonly speaker: Figures;
  readonly medianRatio: number;
  readonly p99Ratio: number;
}

function figures(samples: readonly number[], lost: number): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { samples: sorted.length, lost, medianUs: percentile(sorted, 50), p99Us: percentile(sorted, 99) };
}

/** One l2probe latency run from lab-client: the kernel's address and ours alternating. */
async function probe(prober: string, family: Family, kernel: string, rounds: number): Promise<{ kernel: number[]; ours: number[]; lostKernel: number; lostOurs: number }> {
  const client = family === 'ARP' ? labClient.eth0.ipv4 : labClient.eth0.ipv6;
  const result = await run(['ip', 'netns', 'exec', LAB_CLIENT_NS, prober, 'latency', 'eth0', client, kernel, VIP[family], '-n', String(rounds), '-t', '200'], 600_000);
  if (result.code !== 0) throw new Error(`l2probe exited ${result.code}: ${result.stderr.trim()}`);
  const { targets } = JSON.parse(result.stdout) as { targets: Record<string, { samples: number[]; lost: number }> };
  // l2probe names IPv6 targets in their canonical form, which is how they are written here.
  const k = targets[kernel];
  const o = targets[VIP[family]];
  return { kernel: k?.samples ?? [], ours: o?.samples ?? [], lostKernel: k?.lost ?? 0, lostOurs: o?.lost ?? 0 };
}

function row(family: Family, load: LatencyRow['load'], runs: ReadonlyArray<Awaited<ReturnType<typeof probe>>>): LatencyRow {
  const kernel = figures(runs.flatMap((r) => r.kernel), runs.reduce((s, r) => s + r.lostKernel, 0));
  const speaker = figures(runs.flatMap((r) => r.ours), runs.reduce((s, r) => s + r.lostOurs, 0));
  return { family, load, kernel, speaker, medianRatio: speaker.medianUs / kernel.medianUs, p99Ratio: speaker.p99Us / kernel.p99Us };
}

const stormName = (i: number): string => `storm-${String(i).padStart(5, '0')}`;

function stormService(i: number): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: stormName(i), namespace: 'default', labels: { 'l2lb-bench-arp': 'storm' }, annotations: { 'metallb.io/address-pool': 'arp-storm' } },
    ...{ spec: { type: 'LoadBalancer', selector: { app: `storm-${i}` }, ports: [{ port: 80 }] } },
  };
}

async function main(): Promise<void> {
  log('bringing the lab up (3 nodes)');
  await labUp(NODES.length, (message) => log(message));
  const client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-bench-arp');
  const results: Record<string, unknown> = { measuredAt: new Date().toISOString(), stormServices: STORM, rounds: ROUNDS,
    method: 'bench/l2probe.c in lab-client; requests for the owner node\'s own address (kernel) and for a VIP its speaker owns alternate, one in flight' };
  const rows: LatencyRow[] = [];
  try {
    await deleteAllOf(client, Services, 'default', 'l2lb-bench-arp');
    kubectlApply(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: arp-bench, namespace: metallb-system}
spec: {addresses: [192.168.1.170/32, "fd00:1::170/128"], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: arp-storm, namespace: metallb-system}
spec: {addresses: [10.230.0.0/18], autoAssign: false}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: arp-bench, namespace: metallb-system}
spec: {ipAddressPools: [arp-bench, arp-storm], interfaces: [eth0]}
`);
    for (const family of ['ARP', 'NDP'] as const) {
      await client.create(Services, {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: `arp-bench-${family.toLowerCase()}`, namespace: 'default', labels: { 'l2lb-bench-arp': 'true' }, annotations: { 'metallb.io/address-pool': 'arp-bench' } },
        ...{ spec: { type: 'LoadBalancer', selector: { app: 'arp-bench' }, ports: [{ port: 80 }],
          ...(family === 'NDP' ? { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' } : {}) } },
      });
      await setEndpoints(client, 'default', `arp-bench-${family.toLowerCase()}`, NODES.map((node) => ({ node })));
    }
    const owners = { ARP: electOwner(VIP.ARP, NODES)!, NDP: electOwner(VIP.NDP, NODES)! };
    for (const family of ['ARP', 'NDP'] as const) await waitForSingleOwner(VIP[family], owners[family], 30_000).catch(() => undefined);
    const kernelOf = (family: Family): string => {
      const node = labNode(Number(owners[family].slice('lab-node-'.length)));
      return family === 'ARP' ? node.eth0.ipv4 : node.eth0.ipv6;
    };
    log(`owners: ${VIP.ARP} on ${owners.ARP} (kernel ${kernelOf('ARP')}), ${VIP.NDP} on ${owners.NDP} (kernel ${kernelOf('NDP')})`);
    const prober = await buildProber();
    for (const family of ['ARP', 'NDP'] as const) await probe(prober, family, kernelOf(family), 50); // warm both answerers

    // Idle means idle: the lab's programs just started (JIT, first scrapes, informer syncs) and the
    // Services above were just announced; let all of that pass first.
    log('letting the lab settle for 20 s');
    await sleep(20_000);
    log(`idle: ${ROUNDS} requests each, ARP and NDP`);
    for (const family of ['ARP', 'NDP'] as const) rows.push(row(family, 'idle', [await probe(prober, family, kernelOf(family), ROUNDS)]));

    log(`recomputing: ${STORM} Services created with EndpointSlices, then deleted, while the prober runs`);
    const runs: Record<Family, Array<Awaited<ReturnType<typeof probe>>>> = { ARP: [], NDP: [] };
    let storming = true;
    const measuring = (async () => {
      while (storming) {
        for (const family of ['ARP', 'NDP'] as const) runs[family].push(await probe(prober, family, kernelOf(family), 100));
      }
    })();
    const t0 = Date.now();
    // 16 writers, as a busy cluster's controllers would be; the speaker re-plans on every change.
    const indexes = Array.from({ length: STORM }, (_, i) => i);
    const storm = async (step: (i: number) => Promise<void>, verb: string): Promise<void> => {
      let done = 0;
      await inParallel(indexes, 16, async (i) => {
        await step(i);
        if (++done % 1000 === 0) log(`  ${done} ${verb}`);
      });
    };
    await storm(async (i) => {
      await client.create(Services, stormService(i));
      await setEndpoints(client, 'default', stormName(i), [{ node: NODES[i % NODES.length]! }]);
    }, 'created');
    const created = Date.now() - t0;
    await storm(async (i) => {
      await client.delete(Services, 'default', stormName(i));
      await client.delete(EndpointSlices, 'default', `${stormName(i)}-lab`);
    }, 'deleted');
    storming = false;
    await measuring;
    results.storm = { createMs: created, totalMs: Date.now() - t0 };
    for (const family of ['ARP', 'NDP'] as const) rows.push(row(family, 'recomputing', runs[family]));
  } finally {
    await deleteAllOf(client, Services, 'default', 'l2lb-bench-arp');
    const slices = kubectl('get', 'endpointslices', '-n', 'default', '-o', 'name').split('\n').filter((n) => /\/(storm-|arp-bench-)/.test(n));
    if (slices.length > 0) kubectl('delete', '-n', 'default', '--ignore-not-found', ...slices);
    kubectl('delete', 'l2advertisement/arp-bench', 'ipaddresspool/arp-bench', 'ipaddresspool/arp-storm', '-n', 'metallb-system', '--ignore-not-found');
    client.close();
  }
  results.latency = rows;
  console.log('\nReply latency of the lab\'s speaker vs its node\'s kernel, from lab-client (bench/l2probe.c)');
  console.log('| protocol | speaker | kernel median | speaker median | kernel p99 | speaker p99 | median ratio (≤ 1.5×) | p99 ratio (≤ 3×) | requests | lost (kernel/speaker) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const us = (v: number): string => `${v.toFixed(1)} µs`;
  for (const r of rows) {
    console.log(`| ${r.family} | ${r.load} | ${us(r.kernel.medianUs)} | ${us(r.speaker.medianUs)} | ${us(r.kernel.p99Us)} | ${us(r.speaker.p99Us)} | ${r.medianRatio.toFixed(2)}× | ${r.p99Ratio.toFixed(2)}× | ${r.speaker.samples} | ${r.kernel.lost}/${r.speaker.lost} |`);
  }
  const path = join(repoRoot, 'bench', 'results-arp-lab.json');
  writeFileSync(path, JSON.stringify(results, null, 2) + '\n');
  console.log(`written to ${path}`);
}

main().catch((error: unknown) => {
  console.error(`bench-arp-lab: not measured: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
