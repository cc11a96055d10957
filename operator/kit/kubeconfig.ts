// Where the operator's credentials come from: $KUBECONFIG (or --kubeconfig) when set, otherwise the
// in-cluster ServiceAccount, as every Kubernetes client does.
//
// The common cases are read here: the in-cluster ServiceAccount (CA file, a token file re-read as the
// kubelet rotates it), and kubeconfig files whose user has a token, a token file, a client certificate or
// a username and password. Anything else (exec plugins, auth providers) is handed to client-node's
// KubeConfig, loaded only then: importing client-node costs ~80 MB of RSS (it pulls in every generated
// API), more than the whole speaker should use (docs/decisions.md, "Memory").

import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import yaml from 'js-yaml';

/** How to reach one API server: its URL, the TLS options, and the headers that authenticate a request. */
export interface ClusterAccess {
  readonly server: string;
  readonly tls: https.AgentOptions;
  authHeaders(): Promise<Record<string, string>>;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function loadKubeConfig(path: string | undefined = process.env.KUBECONFIG): ClusterAccess {
  return path !== undefined && path !== '' ? fromKubeconfigFile(path) : inCluster();
}

function inCluster(): ClusterAccess {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (host === undefined || host === '') throw new Error('no kubeconfig given and not in a cluster (KUBERNETES_SERVICE_HOST is unset)');
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    server,
    tls: { ca: readFileSync(join(SERVICE_ACCOUNT_DIR, 'ca.crt')) },
    authHeaders: async () => ({ Authorization: `Bearer ${readFileSync(join(SERVICE_ACCOUNT_DIR, 'token'), 'utf8').trim()}` }),
  };
}

interface KubeconfigFile {
  readonly 'current-context'?: string;
  readonly contexts?: ReadonlyArray<{ name?: string; context?: { cluster?: string; user?: string } }>;
  readonly clusters?: ReadonlyArray<{ name?: string; cluster?: Record<string, unknown> }>;
  readonly users?: ReadonlyArray<{ name?: string; user?: Record<string, unknown> }>;
}

function fromKubeconfigFile(path: string): ClusterAccess {
  const text = readFileSync(path, 'utf8');
  const file = (yaml.load(text) ?? {}) as KubeconfigFile;
  const contextName = file['current-context'];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  if (context === undefined) throw new Error(`kubeconfig ${path}: current-context "${contextName ?? ''}" not found`);
  const cluster = file.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (cluster === undefined || typeof cluster.server !== 'string') throw new Error(`kubeconfig ${path}: cluster "${context.cluster ?? ''}" has no server`);
  const user = file.users?.find((u) => u.name === context.user)?.user ?? {};
  const base = dirname(path);
  const fileOrData = (fileKey: string, dataKey: string, from: Record<string, unknown>): Buffer | undefined => {
    const data = from[dataKey];
    if (typeof data === 'string') return Buffer.from(data, 'base64');
    const file = from[fileKey];
    if (typeof file === 'string') return readFileSync(isAbsolute(file) ? file : join(base, file));
    return undefined;
  };
  const tls: https.AgentOptions = {};
  const ca = fileOrData('certificate-authority', 'certificate-authority-data', cluster);
  if (ca !== undefined) tls.ca = ca;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string') tls.servername = cluster['tls-server-name'];
  const cert = fileOrData('client-certificate', 'client-certificate-data', user);
  const key = fileOrData('client-key', 'client-key-data', user);
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;

  const token = user.token;
  const tokenFile = user.tokenFile ?? user['token-file'];
  let authHeaders: () => Promise<Record<string, string>>;
  if (typeof token === 'string') {
    authHeaders = async () => ({ Authorization: `Bearer ${token}` });
  } else if (typeof tokenFile === 'string') {
    authHeaders = async () => ({ Authorization: `Bearer ${readFileSync(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile), 'utf8').trim()}` });
  } else if (typeof user.username === 'string' && typeof user.password === 'string') {
    const basic = Buffer.from(`${user.username}:${user.password}`).toString('base64');
    authHeaders = async () => ({ Authorization: `Basic ${basic}` });
  } else if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    authHeaders = viaClientNode(path);
  } else {
    authHeaders = async () => ({}); // a client certificate alone, or no credentials at all
  }
  return { server: cluster.server, tls, authHeaders };
}

/** Exec plugins and auth providers: client-node's KubeConfig knows them all; loaded on first use. */
function viaClientNode(path: string): () => Promise<Record<string, string>> {
  let config: Promise<{ applyToHTTPSOptions(options: https.RequestOptions): Promise<void> }> | undefined;
  return async () => {
    config ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const loaded = new KubeConfig();
      loaded.loadFromFile(path);
      return loaded;
    });
    const options: https.RequestOptions = { headers: {} };
    await (await config).applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) if (typeof value === 'string') headers[name] = value;
    return headers;
  };
}
