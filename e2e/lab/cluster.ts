// The cluster lab (`make lab-up CLUSTER=1`): every lab node runs containerd and a real kubelet, the
// control plane adds kube-scheduler and kube-controller-manager (the pinned kube module), and l2lb is
// installed from its image with `kubectl apply -k config/default`, as a user would.
//
// How a node hosts a kubelet without touching the host (docs/decisions.md, "The cluster lab"):
//  - a holder process per node (`sleep infinity`) owns a private mount namespace inside the node's network
//    namespace; containerd and the kubelet join both with nsenter (never `ip netns exec`, which remounts
//    /sys and hides the cgroup v1 mounts the kubelet needs);
//  - in that mount namespace the host-wide sysctl files the kubelet would set are bind-mounted over with
//    files already holding its values, and /run/netns is a private tmpfs for the Pods' namespaces;
//  - one cgroup root per kubelet (/l2lb-<node> in every hierarchy), one root, state, socket and runc root
//    per containerd, restrict_oom_score_adj (this VM's bounding set lacks CAP_SYS_RESOURCE);
//  - Pods get a bridge per node (the CNI bridge plugin); nodes route each other's Pod subnets, and Pods
//    reach the API server at the `kubernetes` Service's ClusterIP, held on each node's lo and relayed.

import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubeconfigYaml, type ControlPlane } from '../controlplane.js';
import { fixtureBin, repoRoot } from '../fixtures.js';
import { ensureL2lbImage, ensurePauseImage, metallbImages, PAUSE_IMAGE, type LabImage } from './images.js';
import { ensureControlPlaneHost, ensurePodNetwork } from './network.js';
import { run, runningPid, startDaemon, stopDaemon, waitFor } from './processes.js';
import { KUBERNETES_SERVICE_IP, LAB_CONTROL_PLANE_NS, NODE_API_PORT, podCidr, type LabNode } from './topology.js';

const execFileAsync = promisify(execFile);

export interface ClusterPaths {
  readonly root: string; // .lab
  readonly run: string;
  readonly logs: string;
  readonly apiSocket: string;
  readonly egressSocket: string;
}

/** Where one node's containerd and kubelet keep their files. Sockets live under /run: a Unix socket's
 *  path must stay short, wherever the checkout is. */
export function nodeDirs(paths: ClusterPaths, node: LabNode): { state: string; run: string } {
  return { state: join(paths.root, 'cluster', node.name), run: join('/run/l2lb-lab', node.name) };
}

export function cgroupRoot(node: LabNode): string {
  return `l2lb-${node.name}`;
}

/** The host-wide sysctls the kubelet sets at start (unless protectKernelDefaults), with its values: the
 *  node's mount namespace shows it files already holding them, so it writes nothing to the host. */
export const KUBELET_SYSCTLS: ReadonlyArray<readonly [string, string]> = [
  ['vm/overcommit_memory', '1'], ['vm/panic_on_oom', '0'], ['kernel/panic', '10'], ['kernel/panic_on_oops', '1'],
  ['kernel/keys/root_maxkeys', '1000000'], ['kernel/keys/root_maxbytes', '25000000'],
];

export function holderScript(sysDir: string): string {
  const binds = KUBELET_SYSCTLS.map(([key, value]) => {
    const file = join(sysDir, key.replaceAll('/', '.'));
    return `echo ${value} > ${file} && mount --bind ${file} /proc/sys/${key}`;
  });
  return ['set -e', 'mount -t tmpfs lab-pod-netns /run/netns', ...binds, 'exec sleep infinity'].join('\n');
}

export function containerdConfig(dirs: { state: string; run: string }): string {
  return `version = 2
root = "${dirs.state}/containerd"
state = "${dirs.run}/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${dirs.run}/containerd.sock"
[ttrpc]
  address = "${dirs.run}/containerd-ttrpc.sock"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dirs.state}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "${dirs.run}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dirs.state}/cni"
`;
}

export function cniConfig(node: LabNode, ipamDir: string): string {
  return JSON.stringify({
    cniVersion: '0.4.0', name: 'lab', plugins: [{
      type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: podCidr(node) }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
    }],
  }, null, 2);
}

export function kubeletConfig(node: LabNode, dirs: { state: string; run: string }, caFile: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Only the API server's kubelet client certificate (signed by the lab's CA) gets in; it may do anything.
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: ${caFile}}}
authorization: {mode: AlwaysAllow}
address: ${node.eth0.ipv4}
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
cgroupDriver: cgroupfs
cgroupRoot: /${cgroupRoot(node)}
containerRuntimeEndpoint: unix://${dirs.run}/containerd.sock
podLogsDir: ${dirs.state}/pod-logs
# A host-namespace kubelet added DROP chains; these nodes' netfilter is the lab's own business.
makeIPTablesUtilChains: false
failSwapOn: false
resolvConf: ""
serializeImagePulls: false
# No registry: every image is imported, so none may be collected, and nothing is evicted for the
# shared disk's use (the lab's nodes all report the same disk).
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
localStorageCapacityIsolation: false
maxPods: 30
# A crashed container is restarted within 1 s, not after a back-off doubling to 5 min: the failover
# scenarios kill the same speaker ten times in a row, each expecting its kubelet to bring it back.
featureGates: {KubeletCrashLoopBackOffMax: true}
crashLoopBackOff: {maxContainerRestartPeriod: 1s}
`;
}

type Kubectl = (args: readonly string[], input?: string) => string;

function kubectlWith(kubeBin: string, kubeconfig: string): Kubectl {
  return (args, input) => run(join(kubeBin, 'kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { input });
}

/** The egress proxy in the control-plane namespace, which the API server's egress selector names. */
export function ensureEgressProxy(paths: ClusterPaths, nodes: readonly LabNode[]): boolean {
  ensureControlPlaneHost(nodes);
  const pidFile = join(paths.run, 'egress-proxy.pid');
  if (runningPid(pidFile) !== undefined) return false;
  startDaemon({
    name: 'egress-proxy', command: process.execPath, netns: LAB_CONTROL_PLANE_NS,
    args: [join(repoRoot, 'dist', 'e2e', 'lab', 'relay.js'), '--listen', `unix:${paths.egressSocket}`, '--connect', 'http-connect'],
    logFile: join(paths.logs, 'egress-proxy.log'), pidFile,
  });
  return true;
}

/** kube-controller-manager (EndpointSlices, Deployments, DaemonSets, ServiceAccounts, the root CA
 *  ConfigMap every Pod's token volume needs, garbage collection) and kube-scheduler, on the host's
 *  loopback beside the API server, with its admin credentials. */
export function ensureControllers(paths: ClusterPaths, plane: ControlPlane, nodeBin: string): string[] {
  const pki = join(plane.layout.stateDir, 'pki');
  const started: string[] = [];
  const daemons: Array<{ name: string; args: string[] }> = [
    { name: 'kube-controller-manager', args: [
      `--kubeconfig=${plane.kubeconfigPath}`, '--leader-elect=false', '--secure-port=0',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`, `--root-ca-file=${join(pki, 'ca.crt')}`,
      '--use-service-account-credentials=false', '--controllers=*,-nodeipam', '--v=1',
    ] },
    { name: 'kube-scheduler', args: [`--kubeconfig=${plane.kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=1'] },
  ];
  for (const daemon of daemons) {
    const pidFile = join(paths.run, `${daemon.name}.pid`);
    if (runningPid(pidFile) !== undefined) continue;
    startDaemon({ name: daemon.name, command: join(nodeBin, daemon.name), args: daemon.args, logFile: join(paths.logs, `${daemon.name}.log`), pidFile });
    started.push(daemon.name);
  }
  return started;
}

function makeCgroups(node: LabNode): void {
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', hierarchy);
    if (!statSync(base).isDirectory() || !existsSync(join(base, 'cgroup.procs'))) continue;
    const dir = join(base, cgroupRoot(node));
    mkdirSync(dir, { recursive: true });
    // A cgroup v1 cpuset starts with no CPUs and no memory nodes: nothing could run in it.
    if (hierarchy === 'cpuset' && readFileSync(join(dir, 'cpuset.cpus'), 'utf8').trim() === '') {
      writeFileSync(join(dir, 'cpuset.cpus'), readFileSync(join(base, 'cpuset.cpus'), 'utf8'));
      writeFileSync(join(dir, 'cpuset.mems'), readFileSync(join(base, 'cpuset.mems'), 'utf8'));
    }
  }
}

/** Imports an archive into the node's containerd unless this very archive (path, size, mtime) was;
 *  says whether it replaced an image imported before (whose Pods then run the old one). */
async function importImage(dirs: { state: string; run: string }, image: LabImage): Promise<boolean> {
  const stat = statSync(image.archive);
  const stamp = `${image.archive} ${stat.size} ${stat.mtimeMs}`;
  const marker = join(dirs.state, `imported-${image.ref.replace(/[^a-zA-Z0-9.-]/g, '_')}`);
  const before = existsSync(marker) ? readFileSync(marker, 'utf8') : undefined;
  if (before === stamp) return false;
  await execFileAsync('ctr', ['-a', join(dirs.run, 'containerd.sock'), '-n', 'k8s.io', 'images', 'import', image.archive]);
  writeFileSync(marker, stamp);
  return before !== undefined;
}

/** Every image into every node's containerd, the nodes side by side; whether any replaced an older one. */
async function importImages(paths: ClusterPaths, nodes: readonly LabNode[], images: readonly LabImage[]): Promise<boolean> {
  const changed = await Promise.all(nodes.map(async (node) => {
    let any = false;
    for (const image of images) any = (await importImage(nodeDirs(paths, node), image)) || any;
    return any;
  }));
  return changed.some(Boolean);
}

interface NodeSetup {
  readonly paths: ClusterPaths;
  readonly node: LabNode;
  readonly nodes: readonly LabNode[];
  readonly nodeBin: string;
  readonly adminToken: string;
  readonly caFile: string;
  /** Imported before the kubelet starts: the pod sandbox, which every Pod needs. */
  readonly sandbox: LabImage;
}

/** containerd and the kubelet on one node; returns whether any image changed there. */
export async function ensureClusterNode(setup: NodeSetup): Promise<{ started: boolean }> {
  const { paths, node } = setup;
  const dirs = nodeDirs(paths, node);
  for (const dir of [dirs.state, dirs.run, join(dirs.state, 'cni'), join(dirs.state, 'sys'), join(dirs.state, 'pod-logs')]) mkdirSync(dir, { recursive: true });
  ensurePodNetwork(node, setup.nodes);
  makeCgroups(node);
  writeFileSync(join(dirs.state, 'containerd.toml'), containerdConfig(dirs));
  writeFileSync(join(dirs.state, 'cni', '10-lab.conflist'), cniConfig(node, join(dirs.state, 'cni-ipam')));
  writeFileSync(join(dirs.state, 'kubelet.yaml'), kubeletConfig(node, dirs, setup.caFile));
  writeFileSync(join(dirs.state, 'kubelet.kubeconfig'), kubeconfigYaml({
    server: `https://127.0.0.1:${NODE_API_PORT}`, caFile: setup.caFile, user: 'admin', token: setup.adminToken, namespace: 'default',
  }), { mode: 0o600 });

  let started = false;
  const holderPid = join(paths.run, `holder-${node.name}.pid`);
  if (runningPid(holderPid) === undefined) {
    // Whatever ran in the old mount namespace is gone with it.
    await stopDaemon(join(paths.run, `kubelet-${node.name}.pid`));
    await stopDaemon(join(paths.run, `containerd-${node.name}.pid`));
    startDaemon({
      name: `holder-${node.name}`, command: 'nsenter',
      args: [`--net=/run/netns/${node.name}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', holderScript(join(dirs.state, 'sys'))],
      logFile: join(paths.logs, `holder-${node.name}.log`), pidFile: holderPid,
    });
    started = true;
    await sleep(200);
  }
  const holder = String(runningPid(holderPid) ?? '');
  if (holder === '') throw new Error(`${node.name}: the namespace holder exited (see ${join(paths.logs, `holder-${node.name}.log`)})`);
  const enter = ['-t', holder, '-m', '-n'];
  const containerdPid = join(paths.run, `containerd-${node.name}.pid`);
  if (runningPid(containerdPid) === undefined) {
    startDaemon({ name: `containerd-${node.name}`, command: 'nsenter', args: [...enter, 'containerd', '--config', join(dirs.state, 'containerd.toml')],
      logFile: join(paths.logs, `containerd-${node.name}.log`), pidFile: containerdPid });
    started = true;
    await waitFor(`${node.name}: containerd`, () => {
      run('ctr', ['-a', join(dirs.run, 'containerd.sock'), 'version']);
      return true;
    }, 30_000, 100);
  }
  await importImage(dirs, setup.sandbox);
  const kubeletPid = join(paths.run, `kubelet-${node.name}.pid`);
  if (runningPid(kubeletPid) === undefined) {
    startDaemon({
      name: `kubelet-${node.name}`, command: 'nsenter',
      args: [...enter, join(setup.nodeBin, 'kubelet'), `--config=${join(dirs.state, 'kubelet.yaml')}`,
        `--kubeconfig=${join(dirs.state, 'kubelet.kubeconfig')}`, `--root-dir=${join(dirs.state, 'kubelet')}`,
        `--node-ip=${node.eth0.ipv4},${node.eth0.ipv6}`, `--hostname-override=${node.name}`, '--v=1'],
      logFile: join(paths.logs, `kubelet-${node.name}.log`), pidFile: kubeletPid,
    });
    started = true;
  }
  return { started };
}

/** The Pods' relay to the API server: the `kubernetes` ClusterIP on the node, relayed to the host's
 *  API socket (kube-proxy's part for that one Service). */
export function ensureServiceRelay(paths: ClusterPaths, node: LabNode): void {
  const pidFile = join(paths.run, `service-relay-${node.name}.pid`);
  if (runningPid(pidFile) !== undefined) return;
  startDaemon({
    name: `service-relay-${node.name}`, command: process.execPath, netns: node.name,
    args: [join(repoRoot, 'dist', 'e2e', 'lab', 'relay.js'), '--listen', `tcp:${KUBERNETES_SERVICE_IP}:443`, '--connect', `unix:${paths.apiSocket}`, '--log-connections'],
    logFile: join(paths.logs, `service-relay-${node.name}.log`), pidFile,
  });
}

interface NodeList {
  items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string } } }>;
}

/** Names of the nodes whose kubelet reports Ready. */
export function kubeletReadyNodes(kubectl: Kubectl): string[] {
  const nodes = JSON.parse(kubectl(['get', 'nodes', '-o', 'json'])) as NodeList;
  return nodes.items.filter((n) => (n.status?.nodeInfo?.kubeletVersion ?? '') !== ''
    && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name);
}

export interface ClusterSetup {
  readonly paths: ClusterPaths;
  readonly plane: ControlPlane;
  readonly nodes: readonly LabNode[];
  readonly kubeBin: string;
  readonly kubeconfig: string;
  /** What answers for LoadBalancer Services: l2lb (config/default) or, to measure against, MetalLB
   *  v0.15.2 from its own metallb-native.yaml. */
  readonly peer: 'l2lb' | 'metallb';
}

/** Everything of the cluster lab past the network and the API server: images, controllers, nodes, and
 *  l2lb installed from config/default. Idempotent like the rest of `lab-up`. */
export async function ensureCluster(setup: ClusterSetup, progress: (message: string) => void): Promise<void> {
  const { paths, plane, nodes } = setup;
  const kubectl = kubectlWith(setup.kubeBin, setup.kubeconfig);
  progress('fixtures: kubelet, kube-scheduler, kube-controller-manager (built once, then cached)');
  const nodeBin = fixtureBin('kube-node');
  const pause = ensurePauseImage(join(paths.root, 'images'));
  let manifest: string[];
  let images: Promise<LabImage[]>;
  if (setup.peer === 'metallb') {
    progress('fixtures: MetalLB v0.15.2 controller and speaker (built once, then cached)');
    const metallb = fixtureBin('metallb');
    images = Promise.resolve(metallbImages(metallb, join(paths.root, 'images')));
    manifest = ['-f', join(metallb, 'metallb-native.yaml')];
  } else {
    // Built while the nodes start; imported once they run.
    images = ensureL2lbImage(progress).then((image) => [image]);
    manifest = ['-k', join(repoRoot, 'config', 'default')];
  }
  images.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
  if (ensureEgressProxy(paths, nodes)) progress(`${LAB_CONTROL_PLANE_NS}: the API server's egress proxy (webhooks and kubelets through it)`);
  const controllers = ensureControllers(paths, plane, nodeBin);
  if (controllers.length > 0) progress(`control plane: ${controllers.join(', ')}`);
  for (const node of nodes) {
    const result = await ensureClusterNode({ paths, node, nodes, nodeBin, adminToken: plane.adminToken(), caFile: plane.caFile, sandbox: pause });
    if (result.started) progress(`node ${node.name}: containerd and kubelet (cgroup /${cgroupRoot(node)}, Pods ${podCidr(node)})`);
    // After the node's Pod network: the relay listens on the ClusterIP that puts on lo (started before
    // it, a relay lost the race on a busy machine and died with EADDRNOTAVAIL).
    ensureServiceRelay(paths, node);
  }
  const imagesChanged = await importImages(paths, nodes, await images);
  const names = nodes.map((n) => n.name);
  await waitFor(`${names.length} kubelets Ready`, () => names.every((name) => kubeletReadyNodes(kubectl).includes(name)), 120_000, 500);
  progress(`nodes Ready: ${names.join(', ')}`);

  const shown = manifest[0] === '-k' ? 'config/default' : 'metallb-native.yaml';
  progress(`installing ${setup.peer}: kubectl apply ${manifest[0]} ${shown}`);
  await waitFor(`${shown} applied`, () => {
    // The CRDs and the objects of their kinds go in one apply: the first may race the CRDs' establishment.
    kubectl(['apply', ...manifest]);
    return true;
  }, 60_000, 1000);
  // A new image under the same tag: Pods started before run the old one until they are replaced.
  if (imagesChanged) kubectl(['rollout', 'restart', '-n', 'metallb-system', 'daemonset/speaker', 'deployment/controller']);
  await waitForInstall(kubectl);
  progress(`${setup.peer}: a Ready speaker on each of ${names.length} nodes, the controller Ready, the webhook admitting`);
}

async function waitForInstall(kubectl: Kubectl): Promise<void> {
  // `rollout status` waits for every Pod of the current template to be updated and Ready (a DaemonSet's
  // status alone still counts the Pods a restart is replacing).
  for (const workload of ['daemonset/speaker', 'deployment/controller']) {
    await waitFor(`${workload} rolled out`, () => {
      kubectl(['rollout', 'status', '-n', 'metallb-system', workload, '--timeout=60s']);
      return true;
    }, 180_000, 1000);
  }
  // Admission end to end: the API server calls the webhook's Pod through its Service and the egress proxy.
  const probe = 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: admission-probe, namespace: metallb-system}\nspec: {addresses: [198.51.100.0/30]}\n';
  await waitFor('the admission webhook', () => {
    kubectl(['create', '--dry-run=server', '-f', '-'], probe);
    return true;
  }, 120_000, 500);
}

/** Takes every cluster process down before the namespaces go: kubelets (so nothing restarts), every
 *  container (by the kubelets' cgroups), containerd and its shims (every process left in the node's
 *  network namespace), the holders, then the cgroups and /run directories. */
export async function clusterDown(paths: ClusterPaths, progress: (message: string) => void, only?: readonly string[]): Promise<void> {
  if (!existsSync(paths.run)) return;
  const pidFiles = readdirSync(paths.run);
  const nodes = pidFiles.map((f) => /^holder-(lab-node-\d+)\.pid$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined && (only === undefined || only.includes(n)));
  if (nodes.length === 0) return;
  if (only === undefined) for (const name of ['kube-scheduler', 'kube-controller-manager']) await stopDaemon(join(paths.run, `${name}.pid`));
  for (const node of nodes) await stopDaemon(join(paths.run, `kubelet-${node}.pid`));
  for (const node of nodes) {
    killCgroup(`l2lb-${node}`);
    await stopDaemon(join(paths.run, `containerd-${node}.pid`));
    killNetns(node);
    await stopDaemon(join(paths.run, `holder-${node}.pid`));
    removeCgroup(`l2lb-${node}`);
    rmSync(join('/run/l2lb-lab', node), { recursive: true, force: true });
    rmSync(join(paths.root, 'cluster', node), { recursive: true, force: true });
    await stopDaemon(join(paths.run, `service-relay-${node}.pid`));
    progress(`stopped ${node}'s kubelet, containers and containerd`);
  }
}

function cgroupDirs(root: string): string[] {
  const dirs: string[] = [];
  // containerd removes a container's cgroups while we walk: a directory may vanish at any point.
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    dirs.push(dir);
    for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const dir = join('/sys/fs/cgroup', hierarchy, root);
    if (existsSync(dir)) walk(dir);
  }
  return dirs;
}

function killCgroup(root: string): void {
  for (const dir of cgroupDirs(root)) {
    let procs = '';
    try {
      procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      continue; // removed meanwhile
    }
    for (const pid of procs.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}

function killNetns(ns: string): void {
  let pids: string[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** rmdir from the leaves up, once the processes are gone (a cgroup with a process cannot go). */
function removeCgroup(root: string): void {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const dirs = cgroupDirs(root).reverse();
    if (dirs.length === 0) return;
    for (const dir of dirs) {
      try {
        rmdirSync(dir);
      } catch {
        // still busy: the next attempt
      }
    }
    execFileSync('sleep', ['0.1']);
  }
}
