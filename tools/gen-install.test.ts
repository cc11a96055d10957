import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yaml from 'js-yaml';
import { renderGeneratedFiles } from './gen-files.js';
import { checkImages, minKubeVersion } from './gen-install.js';
import type { Manifest } from './kustomize.js';

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }
interface Csv {
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    version: string; minKubeVersion: string;
    customresourcedefinitions: { owned: Array<{ name: string; kind: string; version: string }> };
    install: { strategy: string; spec: {
      deployments: Array<{ name: string; spec: { template: { spec: { serviceAccountName: string; containers: Array<{ image: string; args: string[] }> } } } }>;
      permissions: Array<{ serviceAccountName: string; rules: Rule[] }>;
      clusterPermissions: Array<{ serviceAccountName: string; rules: Rule[] }>;
    } };
    webhookdefinitions: Array<{ type: string; generateName: string; deploymentName: string; containerPort: number; targetPort: number; webhookPath: string }>;
  };
}

describe('the OLM bundle and install.yaml, generated from config/', () => {
  const files = renderGeneratedFiles();
  const csv = yaml.load(files.get('bundle/manifests/l2lb.clusterserviceversion.yaml') ?? '') as Csv;
  const install = yaml.loadAll(files.get('config/install.yaml') ?? '').filter(Boolean) as Manifest[];

  it('the CSV is l2lb.v<package.json version>, for Kubernetes ≥ minKubeVersion', () => {
    assert.equal(csv.metadata.name, `l2lb.v${csv.spec.version}`);
    assert.equal(csv.spec.minKubeVersion, minKubeVersion);
  });

  it('owns every CRD, and ships each one beside it', () => {
    const crds = install.filter((m) => m.kind === 'CustomResourceDefinition').map((m) => m.metadata.name).sort();
    assert.deepEqual(csv.spec.customresourcedefinitions.owned.map((o) => o.name).sort(), crds);
    for (const name of crds) assert.ok(files.has(`bundle/manifests/${name}.crd.yaml`), name);
  });

  it('installs the controller Deployment of config/manager, and not the speaker DaemonSet (OLM installs only Deployments)', () => {
    const deployment = install.find((m) => m.kind === 'Deployment') as Manifest & { spec: unknown };
    assert.deepEqual(csv.spec.install.spec.deployments.map((d) => d.name), ['controller']);
    assert.deepEqual(csv.spec.install.spec.deployments[0]?.spec, deployment.spec);
  });

  it('grants each ServiceAccount exactly the rules config/rbac binds to it', () => {
    const permissions = Object.fromEntries(csv.spec.install.spec.permissions.map((p) => [p.serviceAccountName, p.rules]));
    const cluster = Object.fromEntries(csv.spec.install.spec.clusterPermissions.map((p) => [p.serviceAccountName, p.rules]));
    assert.deepEqual(Object.keys(permissions).sort(), ['controller', 'speaker']);
    assert.ok(permissions.controller?.some((r) => r.resources.includes('metallbs')), 'the install reconciler reads MetalLB resources');
    assert.ok(permissions.controller?.some((r) => r.resources.includes('daemonsets') && r.verbs.includes('patch')), 'and applies the speaker DaemonSet');
    assert.ok(cluster.controller?.some((r) => r.resources.includes('services/status')));
    assert.ok(!(cluster.speaker ?? []).some((r) => r.verbs.includes('update')), 'speakers write nothing cluster-wide');
  });

  it('declares both validating webhooks against the controller Deployment and its port', () => {
    assert.deepEqual(csv.spec.webhookdefinitions.map((w) => [w.type, w.generateName, w.deploymentName, w.containerPort, w.targetPort, w.webhookPath]), [
      ['ValidatingAdmissionWebhook', 'ipaddresspoolvalidationwebhook.metallb.io', 'controller', 443, 9443, '/validate-metallb-io-v1beta1-ipaddresspool'],
      ['ValidatingAdmissionWebhook', 'l2advertisementvalidationwebhook.metallb.io', 'controller', 443, 9443, '/validate-metallb-io-v1beta1-l2advertisement'],
    ]);
  });

  it('alm-examples holds a sample of each kind a user creates, from config/samples', () => {
    const examples = JSON.parse(csv.metadata.annotations['alm-examples'] ?? '[]') as Manifest[];
    assert.deepEqual(examples.map((e) => e.kind), ['IPAddressPool', 'L2Advertisement', 'MetalLB']);
  });

  it('install.yaml puts the namespace and CRDs first and the webhook last, so one `kubectl apply -f` works', () => {
    assert.equal(install[0]?.kind, 'Namespace');
    assert.equal(install[1]?.kind, 'CustomResourceDefinition');
    assert.equal(install[install.length - 1]?.kind, 'ValidatingWebhookConfiguration');
  });

  const imageCases: ReadonlyArray<readonly [string, string, RegExp | undefined]> = [
    ['this release’s tag passes', 'ghcr.io/l2lb/l2lb:0.1.0', undefined],
    [':latest is refused (pull policy Always, and not this release)', 'ghcr.io/l2lb/l2lb:latest', /is not ghcr.io\/l2lb\/l2lb:0.1.0/],
    ['another release’s tag is refused', 'ghcr.io/l2lb/l2lb:0.0.9', /package.json's version/],
  ];
  for (const [story, image, error] of imageCases) {
    it(`image check: ${story}`, () => {
      const manifests: Manifest[] = [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: { spec: { containers: [{ image }] } } } }];
      if (error === undefined) checkImages(manifests, '0.1.0');
      else assert.throws(() => checkImages(manifests, '0.1.0'), error);
    });
  }
});
