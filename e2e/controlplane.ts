// A real Kubernetes control plane for the lab and the e2e tests: etcd and kube-apiserver built from the
// pinned Go modules (e2e/fixtures), on free loopback ports, with RBAC and ServiceAccount token signing so
// that the operator runs with its own ServiceAccount's token exactly as in a cluster. No
// kube-controller-manager and no scheduler: the lab creates what those would (Nodes, EndpointSlices).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { freePort, runningPid, startDaemon, stopDaemon, waitFor } from './lab/processes.js';

export interface ControlPlaneLayout {
  /** Holds certificates, etcd's data, the kubeconfig and `ports.json`. */
  readonly stateDir: string;
  readonly logDir: string;
  readonly pidDir: string;
  readonly kubeBin: string;
  readonly etcdBin: string;
  /** The cluster lab's egress proxy (relay.ts, http-connect): the API server dials Pods and kubelets
   *  (webhooks, logs) through it, from the control-plane namespace. Absent: it dials them itself. */
  readonly egressSocket?: string;
}

interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiServer: number;
}

export const ADMIN_TOKEN_FILE = 'admin.token';

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  users: ["system:serviceaccount:metallb-system:speaker", "system:serviceaccount:metallb-system:controller"]
- level: None
`;

/** Sends the API server's "cluster" traffic (webhooks, kubelets) through an HTTP CONNECT proxy on a
 *  Unix socket, konnectivity's way; etcd and the control plane's own traffic stay direct. */
export function egressSelectorConfiguration(socket: string): string {
  return `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: ${socket}
`;
}

export class ControlPlane {
  private constructor(
    readonly layout: ControlPlaneLayout,
    readonly ports: Ports,
  ) {}

  get kubeconfigPath(): string {
    return join(this.layout.stateDir, 'kubeconfig');
  }

  get server(): string {
    return `https://127.0.0.1:${this.ports.apiServer}`;
  }

  get caFile(): string {
    return join(this.layout.stateDir, 'pki', 'ca.crt');
  }

  /** Starts whatever is not running (idempotent) and waits until the API server is ready. */
  static async up(layout: ControlPlaneLayout, progress: (msg: string) => void = () => undefined): Promise<ControlPlane> {
    for (const dir of [layout.stateDir, layout.logDir, layout.pidDir]) mkdirSync(dir, { recursive: true });
    const plane = new ControlPlane(layout, await loadOrChoosePorts(layout.stateDir));
    ensurePki(join(layout.stateDir, 'pki'));
    plane.writeKubeconfig();
    if (runningPid(plane.pidFile('etcd')) === undefined) {
      progress(`starting etcd on 127.0.0.1:${plane.ports.etcdClient}`);
      plane.startEtcd();
    }
    if (runningPid(plane.pidFile('kube-apiserver')) === undefined) {
      progress(`starting kube-apiserver on 127.0.0.1:${plane.ports.apiServer}`);
      plane.startApiServer();
    }
    await plane.waitReady();
    return plane;
  }

  pidFile(name: string): string {
    return join(this.layout.pidDir, `${name}.pid`);
  }

  private startEtcd(): void {
    const { etcdClient, etcdPeer } = this.ports;
    const peer = `http://127.0.0.1:${etcdPeer}`;
    startDaemon({
      name: 'etcd',
      command: join(this.layout.etcdBin, 'etcd'),
      args: [
        '--name=lab', `--data-dir=${join(this.layout.stateDir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=lab=${peer}`,
        // A lab's etcd holds nothing worth an fsync; skipping it makes every API write several ms faster.
        '--unsafe-no-fsync', '--log-level=warn',
      ],
      logFile: join(this.layout.logDir, 'etcd.log'),
      pidFile: this.pidFile('etcd'),
    });
  }

  /** The API server's audit log: one line per request l2lb's own ServiceAccounts make, at Metadata
   *  level (user, user agent, verb, resource, time), so tests count what each program sends. */
  get auditLogPath(): string {
    return join(this.layout.logDir, 'audit.log');
  }

  startApiServer(): void {
    const pki = join(this.layout.stateDir, 'pki');
    const policy = join(this.layout.stateDir, 'audit-policy.yaml');
    writeFileSync(policy, AUDIT_POLICY);
    const egress = join(this.layout.stateDir, 'egress-selector.yaml');
    if (this.layout.egressSocket !== undefined) writeFileSync(egress, egressSelectorConfiguration(this.layout.egressSocket));
    startDaemon({
      name: 'kube-apiserver',
      command: join(this.layout.kubeBin, 'kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${this.ports.etcdClient}`,
        '--bind-address=127.0.0.1', `--secure-port=${this.ports.apiServer}`, '--advertise-address=127.0.0.1',
        // No kube-proxy routes ClusterIPs here: the API server reaches webhooks at their endpoints, and it
        // keeps no Endpoints for itself (a loopback address is not a valid endpoint).
        '--enable-aggregator-routing=true', '--endpoint-reconciler-type=none',
        `--tls-cert-file=${join(pki, 'apiserver.crt')}`, `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
        `--client-ca-file=${join(pki, 'ca.crt')}`,
        `--token-auth-file=${join(pki, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16,fd00:96::/108',
        `--cert-dir=${join(this.layout.stateDir, 'apiserver-certs')}`,
        `--audit-policy-file=${policy}`, `--audit-log-path=${this.auditLogPath}`, '--audit-log-format=json',
        '--audit-log-maxsize=200', '--audit-log-maxbackup=1', '--audit-log-mode=batch', '--audit-log-batch-max-wait=1s',
        '--profiling=false', '--v=1',
        ...(this.layout.egressSocket === undefined ? [] : [`--egress-selector-config-file=${egress}`,
          // Kubelets by address (the proxy has no DNS for node names), with kubeadm's client certificate.
          '--kubelet-preferred-address-types=InternalIP',
          `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`,
          `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`]),
      ],
      logFile: join(this.layout.logDir, 'kube-apiserver.log'),
      pidFile: this.pidFile('kube-apiserver'),
    });
  }

  async stopApiServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopDaemon(this.pidFile('kube-apiserver'), signal, 15_000);
  }

  async restartApiServer(): Promise<void> {
    if (runningPid(this.pidFile('kube-apiserver')) === undefined) this.startApiServer();
    await this.waitReady();
  }

  async waitReady(timeoutMs = 90_000): Promise<void> {
    await waitFor('kube-apiserver /readyz', async () => (await this.getStatus('/readyz')) === 200, timeoutMs, 200);
  }

  adminToken(): string {
    return readFileSync(join(this.layout.stateDir, 'pki', ADMIN_TOKEN_FILE), 'utf8').trim();
  }

  private async getStatus(path: string): Promise<number> {
    return await new Promise((resolve) => {
      const request = https.get(`${this.server}${path}`, {
        ca: readFileSync(this.caFile), headers: { Authorization: `Bearer ${this.adminToken()}` }, timeout: 2000,
      }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', () => resolve(0));
      request.on('timeout', () => request.destroy());
    });
  }

  private writeKubeconfig(): void {
    writeFileSync(this.kubeconfigPath, kubeconfigYaml({
      server: this.server, caFile: this.caFile, user: 'admin', token: this.adminToken(),
    }), { mode: 0o600 });
  }

  /** Stops kube-apiserver, then etcd, and removes the state directory. */
  async down(): Promise<void> {
    await this.stopApiServer();
    await stopDaemon(this.pidFile('etcd'));
    rmSync(this.layout.stateDir, { recursive: true, force: true });
  }
}

export function kubeconfigYaml(options: { server: string; caFile: string; user: string; token: string; namespace?: string }): string {
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: lab', 'preferences: {}',
    'clusters:', '- name: lab', '  cluster:', `    server: ${options.server}`, `    certificate-authority: ${options.caFile}`,
    'users:', `- name: ${options.user}`, '  user:', `    token: ${options.token}`,
    'contexts:', '- name: lab', '  context:', '    cluster: lab', `    user: ${options.user}`,
    ...(options.namespace === undefined ? [] : [`    namespace: ${options.namespace}`]),
    '',
  ].join('\n');
}

async function loadOrChoosePorts(stateDir: string): Promise<Ports> {
  const file = join(stateDir, 'ports.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Ports;
  const ports: Ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiServer: await freePort() };
  writeFileSync(file, JSON.stringify(ports));
  return ports;
}

/** A CA, the API server's serving certificate, the ServiceAccount signing key and the admin's token. */
function ensurePki(dir: string): void {
  ensureKubeletClientCert(dir);
  if (existsSync(join(dir, 'tokens.csv'))) return;
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30',
    '-subj', '/CN=l2lb-lab-ca');
  writeFileSync(join(dir, 'apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' +
    'extendedKeyUsage=serverAuth\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver');
  openssl('x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'apiserver.crt', '-days', '30', '-extfile', 'apiserver.ext');
  openssl('genrsa', '-out', 'sa.key', '2048');
  openssl('rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  const token = execFileSync('openssl', ['rand', '-hex', '24'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, ADMIN_TOKEN_FILE), token + '\n', { mode: 0o600 });
  // The lab's administrator, the way kubeadm's admin.conf is: a member of system:masters.
  writeFileSync(join(dir, 'tokens.csv'), `${token},lab-admin,lab-admin,system:masters\n`, { mode: 0o600 });
  ensureKubeletClientCert(dir);
}

/** The API server's client certificate for the kubelets (logs, exec), as kubeadm makes it: signed by the
 *  lab's CA, which the cluster lab's kubelets trust for x509 client authentication. */
function ensureKubeletClientCert(dir: string): void {
  if (!existsSync(join(dir, 'ca.key')) || existsSync(join(dir, 'apiserver-kubelet-client.crt'))) return;
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  writeFileSync(join(dir, 'kubelet-client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver-kubelet-client.key', '-out', 'apiserver-kubelet-client.csr',
    '-subj', '/O=system:masters/CN=kube-apiserver-kubelet-client');
  openssl('x509', '-req', '-in', 'apiserver-kubelet-client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'apiserver-kubelet-client.crt', '-days', '30', '-extfile', 'kubelet-client.ext');
}
