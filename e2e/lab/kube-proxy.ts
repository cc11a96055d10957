// kube-proxy's part, emulated for the lab (there is no kube-proxy and no kubelet): one process per node
// namespace keeps every assigned LoadBalancer IP on the node's kube-ipvs0, as kube-proxy's IPVS mode does,
// and answers HTTP on port 80 of every address with the node's name, so `curl http://<VIP>/` from
// lab-client shows which node the traffic reached.
//   ip netns exec lab-node-1 node dist/e2e/lab/kube-proxy.js --node lab-node-1 --kubeconfig PATH
//
// The kernel must hold these addresses without ever answering for them, or every node would claim every
// address and l2lb would have nothing to decide:
//  - IPv4: arp_ignore=1 / arp_announce=2 on the node (network.ts) keep ARP to addresses on the receiving
//    interface, and the VIPs are on kube-ipvs0, never on eth0;
//  - IPv6: Linux answers a neighbor solicitation only for an address on the interface it arrived on (no
//    sysctl needed; proxy_ndp stays off), so a /128 on kube-ipvs0 is never answered on eth0. Checked with
//    ndisc6 from lab-client; e2e/kube-proxy.e2e.ts keeps checking it. `nodad`: nothing on kube-ipvs0 could
//    answer a DAD probe, and DAD would hold the address "tentative" (unusable) for a second.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { Informer } from '../../operator/kit/informer.js';
import { KubeClient } from '../../operator/kit/kube-client.js';
import { loadKubeConfig } from '../../operator/kit/kubeconfig.js';
import { createLogger, errorText, type Logger } from '../../operator/kit/log.js';
import { Services, type KubeObject } from '../../operator/kit/resources.js';
import { formatIP, parseIP } from '../../arp/ipaddr.js';
import type { ControlPlane } from '../controlplane.js';
import { repoRoot } from '../fixtures.js';
import { writeServiceAccountKubeconfig } from './credentials.js';
import type { LabPaths } from './lab.js';
import { run, runningPid, startDaemon, stopDaemon } from './processes.js';
import { NODE_API_PORT, type LabNode } from './topology.js';
import { isMainModule } from '../../operator/kit/main-module.js';

const DEVICE = 'kube-ipvs0';
const SERVICE_ACCOUNT = 'lab-kube-proxy';
/** Repairs drift nobody told us about (an address removed by hand) without waiting for a Service event. */
const RESYNC_MS = 30_000;
/** The most time between two syncs while changes keep coming (kube-proxy's --ipvs-min-sync-period). */
const MIN_SYNC_PERIOD_MS = 1_000;

interface Service extends KubeObject {
  spec?: { type?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

/** Every assigned LoadBalancer IP, in the kernel's spelling (so the diff against `ip addr` is exact). */
export function loadBalancerAddresses(services: readonly Service[]): Set<string> {
  const addresses = new Set<string>();
  for (const service of services) {
    if (service.spec?.type !== 'LoadBalancer') continue;
    for (const ingress of service.status?.loadBalancer?.ingress ?? []) {
      const parsed = ingress.ip === undefined ? undefined : parseIP(ingress.ip);
      if (parsed !== undefined) addresses.add(formatIP(parsed.family, parsed.value));
    }
  }
  return addresses;
}

const execFileAsync = promisify(execFile);

async function ip(...args: string[]): Promise<string> {
  return (await execFileAsync('ip', args, { encoding: 'utf8' })).stdout;
}

interface AddrInfo {
  readonly family?: string;
  readonly local?: string;
  readonly scope?: string;
}

/** The global addresses on kube-ipvs0 (its own link-local address is not ours to manage). */
async function presentAddresses(): Promise<Set<string>> {
  const links = JSON.parse(await ip('-j', 'addr', 'show', 'dev', DEVICE)) as Array<{ addr_info?: AddrInfo[] }>;
  const present = new Set<string>();
  for (const info of links.flatMap((link) => link.addr_info ?? [])) {
    if (info.scope === 'global' && info.local !== undefined) present.add(info.local);
  }
  return present;
}

function prefixFor(address: string): string[] {
  return address.includes(':') ? [`${address}/128`, 'nodad'] : [`${address}/32`];
}

/** Owns the addresses of kube-ipvs0: syncs run one at a time, and a change during a sync runs one more. */
class AddressSync {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly desired: () => Set<string>, private readonly logger: Logger) {}

  request(): void {
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => { this.running = undefined; });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const started = Date.now();
      try {
        await this.syncOnce();
      } catch (error) {
        this.logger.error('sync failed, retrying at the next change or resync', { error: errorText(error) });
      }
      // While Services keep changing, syncs are spaced by three times their own cost (at least 50 ms, at
      // most kube-proxy's 1 s minSyncPeriod): ten of these on a two-core lab machine, each listing
      // thousands of addresses, must not starve the API server, and a handful of Services must not wait
      // a second for their address (a failover test's heir would not serve it yet).
      if (this.again) await sleep(Math.min(MIN_SYNC_PERIOD_MS, Math.max(50, 3 * (Date.now() - started))));
    } while (this.again);
  }

  private async syncOnce(): Promise<void> {
    const present = await presentAddresses();
    // Read the cache only after the await: the informer calls its handlers while it (re-)lists, and a
    // desired set taken then would be partial and remove live addresses for a moment.
    const desired = this.desired();
    const removed = [...present].filter((address) => !desired.has(address));
    const added = [...desired].filter((address) => !present.has(address));
    if (removed.length + added.length === 0) return;
    // One `ip -batch` per sync: a thousand Services must not cost a thousand processes per node.
    const commands = [
      ...removed.map((address) => `addr del ${prefixFor(address)[0]} dev ${DEVICE}`),
      ...added.map((address) => `addr add ${prefixFor(address).join(' ')} dev ${DEVICE}`),
    ];
    await ipBatch(commands);
    this.logger.info('addresses synced', { added: added.length, removed: removed.length, ...(commands.length <= 4 ? { addresses: [...added.map((a) => `+${a}`), ...removed.map((a) => `-${a}`)] } : {}) });
  }
}

/** Runs iproute2 commands from standard input; `-force` goes on past a command that fails. */
async function ipBatch(commands: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', ['-force', '-batch', '-'], { encoding: 'utf8' }, (error) => (error === null ? resolve() : reject(error)));
    child.stdin?.end(commands.join('\n') + '\n');
  });
}

function startResponder(node: string, port: number, logger: Logger): Server {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain', Connection: 'close' });
    response.end(`${node}\n`);
  });
  // `::` without ipv6Only takes IPv4 too, on every address, including those added later.
  server.listen({ port, host: '::' }, () => logger.info('HTTP responder listening', { port }));
  return server;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { node: { type: 'string' }, kubeconfig: { type: 'string' }, port: { type: 'string', default: '80' } } });
  if (values.node === undefined || values.kubeconfig === undefined) throw new Error('usage: kube-proxy --node NAME --kubeconfig PATH [--port 80]');
  const logger = createLogger({ fields: { component: 'lab-kube-proxy', node: values.node } });
  const client = await KubeClient.create(loadKubeConfig(values.kubeconfig), `l2lb-lab-kube-proxy/${values.node}`);
  const services = new Informer<Service>(client, Services, { logger });
  const sync = new AddressSync(() => loadBalancerAddresses(services.list()), logger);
  services.on({ add: () => sync.request(), update: () => sync.request(), delete: () => sync.request() });
  const server = startResponder(values.node, Number(values.port), logger);
  services.start();
  await services.waitForSync();
  // At start, even with no Service at all: removes whatever a previous run left behind.
  sync.request();
  const resync = setInterval(() => sync.request(), RESYNC_MS);
  process.on('SIGTERM', () => {
    clearInterval(resync);
    server.close();
    void services.stop().finally(() => {
      client.close();
      process.exit(0);
    });
  });
}

// ----- the lab's side: credentials and one daemon per node (called by labUp) -----

/** The lab-kube-proxy ServiceAccount and its read-only RBAC, a kubeconfig for it through each node's API
 *  relay, and a kube-proxy in every node namespace that has none running; stops those of removed nodes. */
export async function ensureKubeProxies(paths: LabPaths, plane: ControlPlane, kubeBin: string, nodes: readonly LabNode[]): Promise<void> {
  const kubectl = (...args: string[]): string => run(join(kubeBin, 'kubectl'), [`--kubeconfig=${paths.kubeconfig}`, ...args]);
  kubectl('apply', '-f', join(repoRoot, 'e2e', 'lab', 'manifests', 'kube-proxy-rbac.yaml'));
  const kubeconfig = join(paths.credentials, `${SERVICE_ACCOUNT}.node.kubeconfig`);
  if (!existsSync(kubeconfig)) {
    writeServiceAccountKubeconfig({ kubectl, server: `https://127.0.0.1:${NODE_API_PORT}`, caFile: plane.caFile,
      namespace: 'kube-system', serviceAccount: SERVICE_ACCOUNT, path: kubeconfig });
  }
  for (const node of nodes) {
    const pidFile = join(paths.run, `kube-proxy-${node.name}.pid`);
    if (runningPid(pidFile) !== undefined) continue;
    startDaemon({
      name: `kube-proxy-${node.name}`, command: process.execPath, netns: node.name,
      args: [join(repoRoot, 'dist', 'e2e', 'lab', 'kube-proxy.js'), '--node', node.name, '--kubeconfig', kubeconfig],
      logFile: join(paths.logs, `kube-proxy-${node.name}.log`), pidFile,
    });
  }
  const wanted = new Set(nodes.map((node) => `kube-proxy-${node.name}.pid`));
  for (const file of readdirSync(paths.run).filter((f) => /^kube-proxy-lab-node-\d+\.pid$/.test(f) && !wanted.has(f))) {
    await stopDaemon(join(paths.run, file));
  }
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`lab kube-proxy: ${errorText(error)}\n`);
    process.exit(1);
  });
}
