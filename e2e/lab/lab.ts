// `make lab-up` / `make lab-down`: the lab of ../../../shared/design.md. Every step checks before it acts,
// so `up` is idempotent and starts again whatever is missing; `down` removes every namespace, process and
// file the lab made.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../operator/kit/kube-client.js';
import { loadKubeConfig } from '../../operator/kit/kubeconfig.js';
import { Nodes, type KubeObject } from '../../operator/kit/resources.js';
import { ControlPlane } from '../controlplane.js';
import { fixtureBin, repoRoot } from '../fixtures.js';
import { writeServiceAccountKubeconfig } from './credentials.js';
import { ensureKubeProxies } from './kube-proxy.js';
import { ensureClient, ensureNode, ensureSegments, listLabNamespaces, removeAllLabNamespaces, removeNode } from './network.js';
import { run, runningPid, startDaemon, stopDaemon, waitFor } from './processes.js';
import { LAB_CLIENT_NS, LAB_CONTROL_PLANE_NS, LAB_NET_NS, labNode, labNodes, NODE_API_PORT, type LabNode } from './topology.js';
import { ensureAnnouncers, ensureController, ensureOperatorConfig, operatorPorts } from './operator.js';
import { CONTROLLER_METRICS_PORT, ensureObservability, type ControllerTarget } from './observability.js';
import { clusterDown, ensureCluster } from './cluster.js';

export interface LabPaths {
  readonly root: string;
  readonly env: string;
  readonly kubeconfig: string;
  readonly run: string;
  readonly logs: string;
  readonly state: string;
  readonly apiSocket: string;
  readonly credentials: string;
  readonly egressSocket: string;
  readonly mode: string;
}

export function labPaths(root = join(repoRoot, '.lab')): LabPaths {
  return {
    root,
    env: join(root, 'env'),
    kubeconfig: join(root, 'kubeconfig'),
    run: join(root, 'run'),
    logs: join(root, 'logs'),
    state: join(root, 'state'),
    apiSocket: join(root, 'run', 'api.sock'),
    credentials: join(root, 'credentials'),
    egressSocket: join(root, 'run', 'egress.sock'),
    mode: join(root, 'mode'),
  };
}

export type Progress = (message: string) => void;

export interface Lab {
  readonly paths: LabPaths;
  readonly plane: ControlPlane;
  readonly nodes: readonly LabNode[];
  readonly kubeBin: string;
}

/** `processes`: the controller and the announcers run as the lab's own processes, nodes have no kubelet
 *  (the lab writes their Node objects). `cluster`: kubelets on the nodes run l2lb from its image and
 *  manifests (cluster.ts). `metallb`: the same cluster running MetalLB v0.15.2 instead, to measure
 *  against (`make lab-up PEER=metallb`). */
export type LabMode = 'processes' | 'cluster' | 'metallb';

export function labMode(paths = labPaths()): LabMode | undefined {
  if (!existsSync(paths.mode)) return existsSync(paths.run) ? 'processes' : undefined;
  const mode = readFileSync(paths.mode, 'utf8').trim();
  return mode === 'cluster' || mode === 'metallb' ? mode : 'processes';
}

export async function labUp(nodeCount: number, progress: Progress, paths = labPaths(), mode: LabMode = 'processes'): Promise<Lab> {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 50) throw new Error(`NODES=${nodeCount}: expected 1 to 50`);
  const running = labMode(paths);
  if (running !== undefined && running !== mode) {
    progress(`the lab runs in ${running} mode and ${mode} was asked for: taking it down first`);
    await labDown(progress, paths);
  }
  const cluster = mode !== 'processes';
  for (const dir of [paths.root, paths.run, paths.logs, paths.credentials]) mkdirSync(dir, { recursive: true });
  writeFileSync(paths.mode, `${mode}\n`);
  progress('fixtures: etcd and kube-apiserver (built once, then cached)');
  const kubeBin = fixtureBin('kube');
  const etcdBin = fixtureBin('etcd');
  const plane = await ControlPlane.up({ stateDir: paths.state, logDir: paths.logs, pidDir: paths.run, kubeBin, etcdBin,
    ...(cluster ? { egressSocket: paths.egressSocket } : {}) }, progress);
  copyFileSync(plane.kubeconfigPath, paths.kubeconfig);
  progress(`control plane ready at ${plane.server}`);

  ensureApiRelay(paths, plane);
  if (ensureSegments()) progress(`segments: ${LAB_NET_NS} with bridges for 192.168.1.0/24 + fd00:1::/64 and 192.168.2.0/24`);
  const nodes = labNodes(nodeCount);
  for (const node of nodes) {
    if (ensureNode(node)) progress(`node ${node.name}: eth0 ${node.eth0.ipv4} ${node.eth0.ipv6}, eth1 ${node.eth1.ipv4}`);
    ensureNodeApiRelay(paths, node);
  }
  for (const extra of extraNodes(nodeCount)) {
    progress(`removing ${extra.name} (NODES=${nodeCount})`);
    await clusterDown(paths, progress, [extra.name]);
    await stopDaemon(join(paths.run, `announcer-${extra.name}.pid`));
    await stopDaemon(join(paths.run, `api-relay-${extra.name}.pid`));
    for (const relay of ['metrics-relay', 'metrics-relay-host', 'otlp-relay']) await stopDaemon(join(paths.run, `${relay}-${extra.name}.pid`));
    removeNode(extra);
  }
  if (ensureClient()) progress(`${LAB_CLIENT_NS}: eth0 192.168.1.2 fd00:1::2, eth1 192.168.2.2`);

  const client = await KubeClient.create(loadKubeConfig(paths.kubeconfig), 'l2lb-lab');
  try {
    // On the cluster lab each kubelet registers its own Node.
    if (!cluster) await registerNodes(client, nodes);
    await forgetExtraNodes(client, nodeCount);
  } finally {
    client.close();
  }
  if (!cluster) progress(`Node objects: ${nodes.map((n) => n.name).join(', ')}`);
  // kube-proxy's part (the VIPs on kube-ipvs0, HTTP on port 80), emulated: see kube-proxy.ts.
  const observe = async (controllers: ReadonlyMap<string, ControllerTarget>): Promise<void> => {
    const observed = await ensureObservability({ paths, nodes: nodes.map((n) => n.name), controllers,
      ...(cluster ? { nodeAddresses: new Map(nodes.map((n) => [n.name, n.eth0.ipv4])) } : {}),
      prometheusBin: fixtureBin('prometheus'), jaegerBin: fixtureBin('jaeger') });
    if (observed.length > 0) progress(`observability: ${observed.join(', ')} (Prometheus 127.0.0.1:9090, OTLP 127.0.0.1:4318, Jaeger query 127.0.0.1:16686)`);
  };
  if (cluster) {
    await ensureCluster({ paths, plane, nodes, kubeBin, kubeconfig: paths.kubeconfig, peer: mode === 'metallb' ? 'metallb' : 'l2lb' }, progress);
    await ensureKubeProxies(paths, plane, kubeBin, nodes);
    await observe(installedControllers(paths, kubeBin));
    writeEnv(paths, nodeCount, kubeBin, etcdBin, mode);
    return { paths, plane, nodes, kubeBin };
  }
  ensureOperatorAccounts(paths, plane, kubeBin);
  await ensureKubeProxies(paths, plane, kubeBin, nodes);
  const controllerHttp = (await operatorPorts(join(paths.root, 'operator-ports.json'))).controllerHttp;
  await observe(new Map([['controller', { address: `127.0.0.1:${controllerHttp}` }]]));
  await ensureOperator(paths, kubeBin, progress);
  const announcers = ensureAnnouncers(paths, nodes.map((n) => n.name));
  if (announcers.length > 0) progress(`announcers: ${announcers.join(', ')}`);
  writeEnv(paths, nodeCount, kubeBin, etcdBin, mode);
  return { paths, plane, nodes, kubeBin };
}

/** The installed controller's running Pods, each reached at its Pod IP from the control-plane namespace. */
function installedControllers(paths: LabPaths, kubeBin: string): Map<string, ControllerTarget> {
  const pods = JSON.parse(run(join(kubeBin, 'kubectl'), [`--kubeconfig=${paths.kubeconfig}`, 'get', 'pods', '-n', 'metallb-system',
    '-l', 'component=controller', '-o', 'json'])) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; status: { podIP?: string } }> };
  return new Map(pods.items.filter((pod) => pod.status.podIP !== undefined && pod.metadata.deletionTimestamp === undefined)
    .map((pod) => [pod.metadata.name, { address: `${pod.status.podIP}:${CONTROLLER_METRICS_PORT}`, netns: LAB_CONTROL_PLANE_NS }]));
}

function ensureApiRelay(paths: LabPaths, plane: ControlPlane): void {
  const pidFile = join(paths.run, 'api-relay.pid');
  if (runningPid(pidFile) !== undefined) return;
  startDaemon({
    name: 'api-relay', command: process.execPath,
    args: [join(repoRoot, 'dist', 'e2e', 'lab', 'relay.js'), '--listen', `unix:${paths.apiSocket}`, '--connect', `tcp:127.0.0.1:${plane.ports.apiServer}`],
    logFile: join(paths.logs, 'api-relay.log'), pidFile,
  });
}

function ensureNodeApiRelay(paths: LabPaths, node: LabNode): void {
  const pidFile = join(paths.run, `api-relay-${node.name}.pid`);
  if (runningPid(pidFile) !== undefined) return;
  startDaemon({
    name: `api-relay-${node.name}`, command: process.execPath, netns: node.name,
    args: [join(repoRoot, 'dist', 'e2e', 'lab', 'relay.js'), '--listen', `tcp:127.0.0.1:${NODE_API_PORT}`, '--connect', `unix:${paths.apiSocket}`, '--log-connections'],
    logFile: join(paths.logs, `api-relay-${node.name}.log`), pidFile,
  });
}

function extraNodes(nodeCount: number): LabNode[] {
  return listLabNamespaces()
    .map((ns) => /^lab-node-(\d+)$/.exec(ns))
    .filter((match): match is RegExpExecArray => match !== null && Number(match[1]) > nodeCount)
    .map((match) => labNode(Number(match[1])));
}

async function registerNodes(client: KubeClient, nodes: readonly LabNode[]): Promise<void> {
  for (const node of nodes) {
    const object: KubeObject = {
      metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux' } },
    };
    await client.apply(Nodes, object, 'l2lb-lab');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // What a kubelet would report: the addresses, and Ready (nothing in the lab would ever flip it). A
    // merge patch, not apply: the API keys addresses by type, so two InternalIPs break server-side apply.
    await client.patch(Nodes, undefined, node.name, {
      status: {
          addresses: [
            { type: 'InternalIP', address: node.eth0.ipv4 },
            { type: 'InternalIP', address: node.eth0.ipv6 },
            { type: 'Hostname', address: node.name },
          ],
          conditions: [{ type: 'Ready', status: 'True', reason: 'LabNodeReady', message: 'lab node namespace is up',
            lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    }, 'merge', 'status');
  }
}

async function forgetExtraNodes(client: KubeClient, nodeCount: number): Promise<void> {
  const { items } = await client.list<KubeObject>(Nodes);
  for (const item of items) {
    const match = /^lab-node-(\d+)$/.exec(item.metadata.name ?? '');
    if (match !== null && Number(match[1]) > nodeCount) await client.delete(Nodes, undefined, item.metadata.name!);
  }
}

/** The operator's namespace, ServiceAccounts and RBAC, and a kubeconfig per component with its own
 *  token. The processes that use them join the lab with the announcer. */
function ensureOperatorAccounts(paths: LabPaths, plane: ControlPlane, kubeBin: string): void {
  const kubectl = (...args: string[]): string => run(join(kubeBin, 'kubectl'), [`--kubeconfig=${paths.kubeconfig}`, ...args]);
  kubectl('apply', '-f', join(repoRoot, 'config', 'manager', 'namespace.yaml'));
  kubectl('apply', '-k', join(repoRoot, 'config', 'rbac'));
  for (const serviceAccount of ['controller', 'speaker']) {
    const path = join(paths.credentials, `${serviceAccount}.kubeconfig`);
    if (existsSync(path)) continue;
    writeServiceAccountKubeconfig({ kubectl, server: plane.server, caFile: plane.caFile, namespace: 'metallb-system', serviceAccount, path });
    // Inside a node namespace the API server is at the relay's address.
    writeServiceAccountKubeconfig({ kubectl, server: `https://127.0.0.1:${NODE_API_PORT}`, caFile: plane.caFile,
      namespace: 'metallb-system', serviceAccount, path: join(paths.credentials, `${serviceAccount}.node.kubeconfig`) });
  }
}

async function ensureOperator(paths: LabPaths, kubeBin: string, progress: Progress): Promise<void> {
  const kubectl = (...args: string[]): string => run(join(kubeBin, 'kubectl'), [`--kubeconfig=${paths.kubeconfig}`, ...args]);
  const ports = await operatorPorts(join(paths.root, 'operator-ports.json'));
  ensureOperatorConfig(kubectl, ports, paths.root);
  if (ensureController(paths, ports)) progress(`controller: metrics and health on 127.0.0.1:${ports.controllerHttp}, webhook on 127.0.0.1:${ports.webhook}`);
  // Ready when admission works end to end: the API server calls the webhook, which trusts its CA.
  const probe = join(paths.root, 'admission-probe.yaml');
  writeFileSync(probe, 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: admission-probe, namespace: metallb-system}\nspec: {addresses: [198.51.100.0/30]}\n');
  await waitFor('the controller and its admission webhook', () => {
    kubectl('create', '--dry-run=server', '-f', probe);
    return true;
  }, 60_000, 250);
}

function writeEnv(paths: LabPaths, nodeCount: number, kubeBin: string, etcdBin: string, mode: LabMode): void {
  const nodes = labNodes(nodeCount).map((n) => n.name).join(' ');
  writeFileSync(paths.env, [
    '# Written by `make lab-up`: `. .lab/env` to use the lab from a shell.',
    `export KUBECONFIG=${paths.kubeconfig}`,
    `export LAB_NODES=${nodeCount}`,
    `export LAB_MODE=${mode}`,
    `export LAB_NODE_NAMESPACES="${nodes}"`,
    `export LAB_CLIENT_NS=${LAB_CLIENT_NS}`,
    `export LAB_NET_NS=${LAB_NET_NS}`,
    `export LAB_RUN=${paths.run}`,
    `export LAB_LOGS=${paths.logs}`,
    `export PATH=${kubeBin}:${etcdBin}:$PATH`,
    '',
  ].join('\n'));
}

/** Stops every process with a pid file (operator first, the control plane last), removes every lab
 *  namespace, then the .lab directory. */
export async function labDown(progress: Progress, paths = labPaths()): Promise<void> {
  await clusterDown(paths, progress);
  const last = ['kube-apiserver.pid', 'etcd.pid'];
  const pidFiles = existsSync(paths.run) ? readdirSync(paths.run).filter((f) => f.endsWith('.pid')) : [];
  const ordered = [...pidFiles.filter((f) => !last.includes(f)), ...last.filter((f) => pidFiles.includes(f))];
  for (const file of ordered) {
    progress(`stopping ${file.replace(/\.pid$/, '')}`);
    await stopDaemon(join(paths.run, file));
  }
  for (const ns of removeAllLabNamespaces()) progress(`removed namespace ${ns}`);
  rmSync(paths.root, { recursive: true, force: true });
  progress('lab is down');
}
