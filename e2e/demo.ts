// `make demo`: the MetalLB guide "How to Configure MetalLB Layer 2 Mode for Local Networks", walked
// through on the lab with l2lb in MetalLB's place. Every kubectl command is the guide's, unchanged; what
// the guide leaves to a real cluster (pods, EndpointSlices, a client machine) the lab provides.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { electOwner } from '../reconcilers/layer2/election.js';
import { repoRoot } from './fixtures.js';
import { setEndpoints } from './lab/endpoints.js';
import { failoverTrial, waitForSingleOwner } from './lab/failover.js';
import { kubectlResult } from './lab/kubectl.js';
import { labDown, labPaths, labUp } from './lab/lab.js';
import { waitFor } from './lab/processes.js';
import { arpAnswers, nodeOfMac, Prober, servedBy } from './lab/wire.js';
import { LAB_OBSERVABILITY_PORTS } from './lab/observability.js';
import { attribute, byStartTime, promQuery, spanTree, tracesOf, type TraceSpan } from './lab/telemetry.js';

const NODES = ['lab-node-1', 'lab-node-2', 'lab-node-3'];
const guides = join(repoRoot, 'config', 'samples', 'guides');
const guideServices = join(repoRoot, 'config', 'samples', 'guide-services');

function say(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

function run(...args: string[]): string {
  console.log(`$ kubectl ${args.map((a) => (a.startsWith(repoRoot) ? a.slice(repoRoot.length + 1) : a)).join(' ')}`);
  const result = kubectlResult(args);
  const output = (result.stdout + result.stderr).trimEnd();
  if (output !== '') console.log(output);
  if (!result.ok) throw new Error(`kubectl ${args.join(' ')} failed`);
  return result.stdout;
}

async function main(): Promise<void> {
  const keep = process.env.KEEP === '1';
  say('Bringing up the lab: a real kube-apiserver, three nodes on one Layer 2 segment, l2lb in MetalLB\'s place');
  await labUp(3, (message) => console.log(`   ${message}`));
  const client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-demo');
  const demoStarted = new Date();
  try {
    say('The nodes, as the API server sees them');
    run('get', 'nodes', '-o', 'wide');

    say('The guide\'s configuration: a primary pool (192.168.1.240-255), a priority pool for workers');
    run('label', 'node', 'lab-node-2', 'lab-node-3', 'node-role.kubernetes.io/worker=true', '--overwrite');
    run('apply', '-f', join(guides, '001-07-complete-primary-pool.yaml'));

    say('The guide\'s Services (the lab has no kube-controller-manager: the demo writes their EndpointSlices)');
    run('apply', '-f', join(guideServices, '001-nginx-demo.yaml'));
    run('apply', '-f', join(guideServices, '001-nginx-specific-ip.yaml'));
    run('apply', '-f', join(guideServices, '001-priority-service.yaml'));
    for (const service of ['nginx-lb', 'nginx-specific-ip', 'priority-service']) {
      await setEndpoints(client, 'default', service, NODES.map((node) => ({ node })));
    }
    process.stdout.write('   waiting for every address to be announced');
    const addresses = { 'nginx-lb': '192.168.1.240', 'nginx-specific-ip': '192.168.1.245', 'priority-service': '192.168.1.200' };
    for (const [service, ip] of Object.entries(addresses)) {
      const eligible = service === 'priority-service' ? ['lab-node-2', 'lab-node-3'] : NODES;
      await waitForSingleOwner(ip, electOwner(ip, eligible)!, 30_000);
      process.stdout.write('.');
    }
    console.log(' done');

    say('What l2lb reports');
    run('get', 'ipaddresspools,l2advertisements,servicel2statuses,svc', '-A');
    run('get', 'service', 'nginx-lb');

    say('From lab-client, a machine on the same network: who answers ARP, who serves HTTP');
    for (const [service, ip] of Object.entries(addresses)) {
      const macs = [...new Set(arpAnswers(ip, { count: 3 }).macs)];
      console.log(`   ${service.padEnd(18)} ${ip.padEnd(14)} ARP answered by ${macs.map((m) => `${nodeOfMac(m)} (${m})`).join(', ')}; curl http://${ip}/ → ${servedBy(ip)}`);
    }

    const ip = addresses['nginx-lb'];
    const owner = electOwner(ip, NODES)!;
    const prober = new Prober(ip, 20);
    try {
      say(`Failover: the announcer on ${owner} (the owner of ${ip}) is killed with SIGKILL`);
      console.log('   lab-client requests http://192.168.1.240/ every 20 ms throughout');
      const killed = await failoverTrial('SIGKILL', ip, owner, prober);
      console.log(`   traffic reached ${killed.to} ${killed.ms} ms after the kill, ${killed.lost} requests lost; ${owner}'s announcer restarted and took its address back`);

      say(`Graceful: \`kubectl cordon ${owner}\` (the guide's maintenance step)`);
      const cordoned = await failoverTrial('cordon', ip, owner, prober);
      console.log(`   traffic reached ${cordoned.to} ${cordoned.ms} ms after the cordon, ${cordoned.lost} requests lost; uncordoned, ${owner} took it back`);
    } finally {
      await prober.stop();
    }
    run('get', 'servicel2statuses', '-n', 'metallb-system');
    run('get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=nginx-lb');
    await showTelemetry(demoStarted);
  } finally {
    client.close();
  }
  await sleep(100);
  if (keep) {
    say('KEEP=1: the lab stays up. `. .lab/env` to use it; `make lab-down` to remove it');
    return;
  }
  say('Tearing the lab down');
  await labDown((message) => console.log(`   ${message}`));
  await waitFor('nothing left', () => true, 1000);
}

/** The guide's pool gauges as the lab's Prometheus scraped them, and nginx-lb's trace from Jaeger:
 *  the controller's reconcile, allocation and status write, then the winning speaker's announce. */
async function showTelemetry(since: Date): Promise<void> {
  const { prometheus, query } = LAB_OBSERVABILITY_PORTS;
  say(`Metrics: the pools in Prometheus (http://127.0.0.1:${prometheus})`);
  let pools: Awaited<ReturnType<typeof promQuery>> = [];
  await waitFor('the pool gauges to be scraped', async () => {
    pools = await promQuery('metallb_allocator_addresses_in_use_total{job="metallb-controller"}');
    return pools.length > 0;
  }, 30_000, 500);
  const totals = new Map((await promQuery('metallb_allocator_addresses_total{job="metallb-controller"}')).map((s) => [s.metric.pool, s.value[1]]));
  for (const sample of pools) console.log(`   pool ${sample.metric.pool!.padEnd(16)} ${sample.value[1]} of ${totals.get(sample.metric.pool) ?? '?'} addresses in use`);
  const alive = await promQuery('l2lb_memberlist_peers_alive');
  console.log(`   memberlist peers alive: ${alive.map((s) => `${s.metric.instance} sees ${s.value[1]}`).join(', ')}`);

  say(`Traces: nginx-lb in Jaeger (http://127.0.0.1:${query}/search?service=l2lb-controller)`);
  let found: TraceSpan[] | undefined;
  await waitFor('nginx-lb\'s trace', async () => {
    for (const spans of (await tracesOf('l2lb-controller', since, 'status write')).values()) {
      const announcesNginx = spans.some((s) => s.name === 'announce' && attribute(s.attributes, 'l2lb.service') === 'default/nginx-lb');
      if (announcesNginx) found ??= spans; // a status-write search: the controller's spans are in every trace it returns
    }
    return found !== undefined;
  }, 30_000, 1000);
  // The address moved in the failover and cordon steps, and each speaker that gained it added an announce
  // under the same status write: the first one is shown, the others counted.
  const announces = found!.filter((s) => s.name === 'announce').sort(byStartTime);
  const first = announces[0]!;
  const shown = found!.filter((s) => s.service === 'l2lb-controller' || s.spanId === first.spanId || s.parentSpanId === first.spanId);
  for (const line of spanTree(shown)) console.log(`   ${line}`);
  if (announces.length > 1) console.log(`   (and ${announces.length - 1} more announce spans under the same status write: the speakers that took the address over in the steps above)`);
  console.log(`   http://127.0.0.1:${query}/trace/${found![0]!.traceId}`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
