import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { sameJson } from '../operator/kit/status.js';
import { repositoryTree } from './gen-files.js';
import { build, legacyOrder, type Manifest, type Tree } from './kustomize.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tree = (files: Record<string, string>): Tree => ({ read: (path) => files[path] });
const names = (manifests: readonly Manifest[]) => manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`);

describe('kustomize build', () => {
  const base = {
    'app/kustomization.yaml': 'namespace: target\nresources:\n  - workload.yaml\n  - ../shared\n',
    'app/workload.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: other}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: "ghcr.io/l2lb/l2lb:0.1.0"}, {name: s, image: busybox}]\n',
    'shared/kustomization.yaml': 'resources:\n  - objects.yaml\n',
    'shared/objects.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: target}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: w}\n',
  };

  it('follows folders and files, sets the namespace on namespaced kinds only, in legacy order', () => {
    assert.deepEqual(names(build(tree(base), 'app')), ['Namespace//target', 'ClusterRole//r', 'Deployment/target/d', 'ValidatingWebhookConfiguration//w']);
  });

  const imageCases: ReadonlyArray<readonly [string, string, readonly string[]]> = [
    ['a new tag', '  - {name: ghcr.io/l2lb/l2lb, newTag: dev}', ['ghcr.io/l2lb/l2lb:dev', 'busybox']],
    ['a new name keeps the tag', '  - {name: ghcr.io/l2lb/l2lb, newName: localhost/l2lb}', ['localhost/l2lb:0.1.0', 'busybox']],
    ['an untagged image gets the new tag', '  - {name: busybox, newTag: "1.36"}', ['ghcr.io/l2lb/l2lb:0.1.0', 'busybox:1.36']],
  ];
  for (const [story, rule, expected] of imageCases) {
    it(`images: ${story}`, () => {
      const files = { ...base, 'app/kustomization.yaml': `${base['app/kustomization.yaml']}images:\n${rule}\n` };
      const deployment = build(tree(files), 'app').find((m) => m.kind === 'Deployment') as Manifest & { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
      assert.deepEqual(deployment.spec.template.spec.containers.map((c) => c.image), expected);
    });
  }

  it('refuses a kustomization field it does not implement, naming it', () => {
    const files = { ...base, 'app/kustomization.yaml': 'resources: [workload.yaml]\npatches: []\n' };
    assert.throws(() => build(tree(files), 'app'), /"patches" is not supported/);
  });

  it('orders like kustomize: same kind by namespace and name', () => {
    const m = (kind: string, name: string): Manifest => ({ apiVersion: 'v1', kind, metadata: { name } });
    assert.deepEqual(names(legacyOrder([m('Deployment', 'b'), m('Service', 's'), m('Deployment', 'a'), m('Foo', 'x'), m('CustomResourceDefinition', 'c')])),
      ['CustomResourceDefinition//c', 'Service//s', 'Deployment//a', 'Deployment//b', 'Foo//x']);
  });

  // The lab's kubectl (a Go fixture) when this machine has built one: the renderer must agree with it.
  const cache = process.env.L2LB_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'l2lb');
  const fixtures = join(cache, 'fixtures');
  const kubectl = existsSync(fixtures)
    ? readdirSync(fixtures).filter((d) => d.startsWith('kube-')).map((d) => join(fixtures, d, 'kubectl')).find((path) => existsSync(path))
    : undefined;
  it('renders config/default as `kubectl kustomize` does: the same objects in the same order', { skip: kubectl === undefined ? 'no lab kubectl built on this machine' : false }, () => {
    const theirs = yaml.loadAll(execFileSync(kubectl as string, ['kustomize', join(repoRoot, 'config', 'default')], { encoding: 'utf8' }));
    const ours = build(repositoryTree, 'config/default');
    assert.deepEqual(names(ours), names(theirs as Manifest[]));
    ours.forEach((manifest, i) => assert.ok(sameJson(manifest, theirs[i]), names([manifest])[0]));
  });
});
