// The part of kustomize that `config/` uses, so the generator can render `config/default` without a
// kubectl binary (the lab's is a Go fixture that takes minutes to build): `resources` (files and
// folders), `namespace` and `images`. Anything else in a kustomization is an error rather than silently
// ignored. Objects come out in kustomize's legacy order (namespaces and CRDs first, webhooks last), the
// order `kubectl apply -f` needs. tools/kustomize.test.ts compares it with `kubectl kustomize` when the
// lab's kubectl is built.

import yaml from 'js-yaml';
import { posix } from 'node:path';

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [field: string]: unknown };
  readonly [field: string]: unknown;
}

/** Reads a repository file, or lists a folder's entries; undefined when absent. */
export interface Tree {
  read(path: string): string | undefined;
}

interface Kustomization {
  readonly resources?: readonly string[];
  readonly namespace?: string;
  readonly images?: ReadonlyArray<{ readonly name: string; readonly newName?: string; readonly newTag?: string }>;
}

const supported = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images']);

// Kinds without a namespace among those config/ holds or may hold.
const clusterScoped = new Set([
  'Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration', 'PriorityClass', 'StorageClass', 'PersistentVolume', 'APIService', 'IngressClass',
]);

// kustomize's legacy order (api/resid/gvk.go): these first, in this order; the webhooks last; others between.
const orderFirst = [
  'Namespace', 'ResourceQuota', 'StorageClass', 'CustomResourceDefinition', 'ServiceAccount', 'PodSecurityPolicy',
  'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'Secret', 'Endpoints', 'Service',
  'LimitRange', 'PriorityClass', 'PersistentVolume', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet',
  'CronJob', 'PodDisruptionBudget',
];
const orderLast = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

function kindRank(kind: string): number {
  const first = orderFirst.indexOf(kind);
  if (first >= 0) return first - 1000;
  const last = orderLast.indexOf(kind);
  return last >= 0 ? 1000 + last : 0;
}

export function isNamespaced(kind: string): boolean {
  return !clusterScoped.has(kind);
}

export function legacyOrder(manifests: readonly Manifest[]): Manifest[] {
  const id = (m: Manifest): string => `${m.apiVersion}|${m.kind}|${m.metadata.namespace ?? ''}|${m.metadata.name}`;
  return [...manifests].sort((a, b) => kindRank(a.kind) - kindRank(b.kind) || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

function withNamespace(manifest: Manifest, namespace: string): Manifest {
  if (!isNamespaced(manifest.kind)) return manifest;
  return { ...manifest, metadata: { ...manifest.metadata, namespace } };
}

function withImages(value: unknown, images: NonNullable<Kustomization['images']>): unknown {
  if (Array.isArray(value)) return value.map((item) => withImages(item, images));
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'image' && typeof field === 'string') {
      const at = field.lastIndexOf(':') > field.lastIndexOf('/') ? field.lastIndexOf(':') : field.length;
      const name = field.slice(0, at);
      const tag = field.slice(at + 1);
      const rule = images.find((image) => image.name === name);
      const newTag = rule?.newTag ?? tag;
      result[key] = rule === undefined ? field : `${rule.newName ?? name}${newTag === '' ? '' : `:${newTag}`}`;
    } else {
      result[key] = withImages(field, images);
    }
  }
  return result;
}

/** The objects `kubectl kustomize <dir>` would print for one of config/'s kustomizations. */
export function build(tree: Tree, dir: string): Manifest[] {
  const text = tree.read(posix.join(dir, 'kustomization.yaml'));
  if (text === undefined) throw new Error(`${dir}: no kustomization.yaml`);
  const kustomization = (yaml.load(text) ?? {}) as Kustomization;
  for (const key of Object.keys(kustomization)) {
    if (!supported.has(key)) throw new Error(`${dir}/kustomization.yaml: "${key}" is not supported by tools/kustomize.ts`);
  }
  let manifests: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = posix.normalize(posix.join(dir, resource));
    if (tree.read(posix.join(path, 'kustomization.yaml')) !== undefined) {
      manifests.push(...build(tree, path));
      continue;
    }
    const file = tree.read(path);
    if (file === undefined) throw new Error(`${dir}/kustomization.yaml: resource ${resource} not found`);
    for (const document of yaml.loadAll(file)) {
      if (document !== null && document !== undefined) manifests.push(document as Manifest);
    }
  }
  if (kustomization.namespace !== undefined) {
    const namespace = kustomization.namespace;
    manifests = manifests.map((manifest) => withNamespace(manifest, namespace));
  }
  if (kustomization.images !== undefined) {
    const images = kustomization.images;
    manifests = manifests.map((manifest) => withImages(manifest, images) as Manifest);
  }
  return legacyOrder(manifests);
}

/** Manifests as one multi-document YAML stream. */
export function renderStream(manifests: readonly Manifest[]): string {
  return manifests.map((manifest) => `---\n${yaml.dump(manifest, { noRefs: true, lineWidth: -1, quotingType: '"' })}`).join('');
}
