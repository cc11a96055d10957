// The install reconciler on the cluster lab (kubelets on every node), installed the way OLM would: what
// the CSV holds (CRDs, the RBAC of config/rbac, the controller Deployment, the webhook) and no speaker
// DaemonSet, then a MetalLB resource. The speakers come up and announce; a nodeSelector moves them; the
// MetalLB resource deleted takes them away while every Service keeps its address.
// Runs on the cluster lab (kubelets on every node, e2e/lab/cluster.ts); its before() replaces the
// kustomize install that lab-up made with what OLM would apply.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { DaemonSets, Services, type KubeObject } from '../operator/kit/resources.js';
import { MetalLBs, ServiceL2Statuses } from '../schemas/resources.js';
import type { DaemonSet } from '../reconcilers/install/desired.js';
import type { Service } from '../reconcilers/services.js';
import type { MetalLB, ServiceL2Status } from '../schemas/generated/types.js';
import { repoRoot } from './fixtures.js';
import { labPaths, labUp } from './lab/lab.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { waitFor } from './lab/processes.js';
import { ensureBackends } from './lab/backends.js';
import { arpOwners } from './lab/wire.js';

const NS = 'metallb-system';
const NODES = 3;
const SELECTOR_LABEL = 'l2lb-e2e/speaker';
let client: KubeClient;

interface Csv {
  spec: { install: { spec: { deployments: Array<{ name: string; label?: Record<string, string>; spec: unknown }> } } };
}

/** The Deployment OLM would create from the bundle's CSV. */
function csvDeployment(): string {
  const text = readFileSync(join(repoRoot, 'bundle', 'manifests', 'l2lb.clusterserviceversion.yaml'), 'utf8');
  const [deployment] = (yaml.load(text) as Csv).spec.install.spec.deployments;
  if (deployment === undefined) throw new Error('the CSV installs no Deployment');
  return JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: deployment.name, namespace: NS, labels: deployment.label }, spec: deployment.spec });
}

/** Nodes a kubelet runs and reports Ready (a kubelet stamps its version). */
function readyNodes(): number {
  const nodes = JSON.parse(kubectl('get', 'nodes', '-o', 'json')) as {
    items: Array<{ status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string } } }>;
  };
  return nodes.items.filter((n) => (n.status?.nodeInfo?.kubeletVersion ?? '') !== ''
    && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
}

async function speakers(): Promise<DaemonSet | undefined> {
  try {
    return await client.get<DaemonSet>(DaemonSets, NS, 'speaker');
  } catch {
    return undefined;
  }
}

function speakerPodNodes(): string[] {
  const pods = JSON.parse(kubectl('get', 'pods', '-n', NS, '-l', 'component=speaker', '-o', 'json')) as {
    items: Array<{ metadata: { deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string } }>;
  };
  return pods.items.filter((p) => p.metadata.deletionTimestamp === undefined && p.status.phase === 'Running').map((p) => p.spec.nodeName ?? '').sort();
}

function applyJson(text: string): void {
  const result = kubectlResult(['apply', '-f', '-'], text);
  if (!result.ok) throw new Error(`kubectl apply: ${result.stderr.trim()}`);
}

before(async () => {
  await labUp(NODES, (message) => console.log(`lab: ${message}`), undefined, 'cluster');
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-install');
  assert.equal(readyNodes(), NODES, 'the cluster lab reports fewer Ready kubelets than nodes');
  // What OLM applies: CRDs, RBAC, the controller Deployment and the webhook, and no speaker DaemonSet.
  // The bundle's CRDs (the CSV itself is OLM's to read; the lab has no OLM).
  const bundle = join(repoRoot, 'bundle', 'manifests');
  for (const file of readdirSync(bundle).filter((name) => name.endsWith('.crd.yaml'))) kubectl('apply', '-f', join(bundle, file));
  kubectl('apply', '-k', join(repoRoot, 'config', 'rbac'));
  kubectl('apply', '-k', join(repoRoot, 'config', 'webhook'));
  applyJson(csvDeployment());
  kubectl('delete', 'daemonset', 'speaker', '-n', NS, '--ignore-not-found', '--wait=true');
  await waitFor('the kustomize speakers to go', () => speakerPodNodes().length === 0, 120_000, 500);
});

after(async () => {
  if (client !== undefined) {
    kubectl('delete', 'metallb', 'metallb', '-n', NS, '--ignore-not-found', '--wait=true');
    kubectl('delete', 'service,deployment', 'install-e2e', '-n', 'default', '--ignore-not-found');
    kubectl('label', 'nodes', '--all', `${SELECTOR_LABEL}-`);
    // Back to the kustomize install the other scenarios expect.
    kubectl('apply', '-k', join(repoRoot, 'config', 'default'));
  }
  client?.close();
});

test('a MetalLB resource brings up one speaker per node, owned by it, and reports Available', async () => {
  kubectl('apply', '-f', join(repoRoot, 'config', 'samples', 'metallb.yaml'));
  await waitFor('a speaker on every node', async () => (await speakers())?.status?.numberAvailable === NODES, 180_000, 1000);
  const daemonSet = await speakers();
  assert.equal(daemonSet?.metadata.ownerReferences?.[0]?.kind, 'MetalLB');
  assert.equal(speakerPodNodes().length, NODES);
  await waitFor('MetalLB Available=True', async () => {
    const metallb = await client.get<MetalLB>(MetalLBs, NS, 'metallb');
    return metallb.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true;
  }, 30_000, 500);
});

test('the guides’ pool and advertisement: a Service with real Pods gets its address, and the node its status names answers ARP', async () => {
  kubectl('apply', '-f', join(repoRoot, 'config', 'samples', 'guides', '000-01-ipaddresspool-cidr.yaml'));
  kubectl('apply', '-f', join(repoRoot, 'config', 'samples', 'guides', '000-04-l2advertisement-all.yaml'));
  await ensureBackends('install-e2e', 'default', 1);
  applyJson(JSON.stringify({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'install-e2e', namespace: 'default' },
    spec: { type: 'LoadBalancer', selector: { app: 'install-e2e' }, ports: [{ port: 80 }] },
  }));
  let ip = '';
  await waitFor('an address', async () => {
    const service = await client.get<Service>(Services, 'default', 'install-e2e');
    ip = service.status?.loadBalancer?.ingress?.[0]?.ip ?? '';
    return ip !== '';
  }, 30_000, 250);
  assert.match(ip, /^192\.168\.1\.2[45][0-9]$/);
  let announcer = '';
  await waitFor('a ServiceL2Status naming the announcing node', async () => {
    const list = await client.list<ServiceL2Status & KubeObject>(ServiceL2Statuses, NS);
    announcer = list.items.find((s) => s.status?.serviceName === 'install-e2e')?.status?.node ?? '';
    return announcer !== '';
  }, 60_000, 250);
  await waitFor(`${ip} answered by ${announcer} alone`, () => JSON.stringify(arpOwners(ip)) === JSON.stringify([announcer]), 15_000, 200);
});

test('a nodeSelector on the MetalLB resource moves the speakers to the nodes it selects', async () => {
  kubectl('label', 'nodes', 'lab-node-1', `${SELECTOR_LABEL}=yes`, '--overwrite');
  kubectl('patch', 'metallb', 'metallb', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { nodeSelector: { [SELECTOR_LABEL]: 'yes' } } }));
  await waitFor('speakers on lab-node-1 only', () => JSON.stringify(speakerPodNodes()) === '["lab-node-1"]', 180_000, 1000);
  kubectl('patch', 'metallb', 'metallb', '-n', NS, '--type=json', '-p', '[{"op":"remove","path":"/spec/nodeSelector"}]');
  await waitFor('speakers back on every node', () => speakerPodNodes().length === NODES, 180_000, 1000);
});

test('deleting the MetalLB resource removes the speakers, and every Service keeps its address', async () => {
  const before = (await client.get<Service>(Services, 'default', 'install-e2e')).status?.loadBalancer?.ingress?.[0]?.ip;
  kubectl('delete', 'metallb', 'metallb', '-n', NS, '--wait=true');
  await waitFor('the speaker DaemonSet garbage-collected', async () => (await speakers()) === undefined, 120_000, 500);
  await waitFor('no speaker pod left', () => speakerPodNodes().length === 0, 120_000, 1000);
  const afterwards = (await client.get<Service>(Services, 'default', 'install-e2e')).status?.loadBalancer?.ingress?.[0]?.ip;
  assert.equal(afterwards, before);
});
