// API resources as plain descriptors (the core and built-in ones here; an operator adds its own): the REST path of any object follows from
// its descriptor, so one client serves core, built-in and custom resources alike.

export interface ResourceType {
  readonly group: string; // '' for the core group
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: ReadonlyArray<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
  finalizers?: string[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

const core = (kind: string, plural: string, namespaced: boolean): ResourceType =>
  ({ group: '', version: 'v1', kind, plural, namespaced });

export const Services = core('Service', 'services', true);
export const Nodes = core('Node', 'nodes', false);
export const Namespaces = core('Namespace', 'namespaces', false);
export const ConfigMaps = core('ConfigMap', 'configmaps', true);
export const Secrets = core('Secret', 'secrets', true);
export const ValidatingWebhookConfigurations: ResourceType = {
  group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration',
  plural: 'validatingwebhookconfigurations', namespaced: false,
};
export const EndpointSlices: ResourceType =
  { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true };
export const Leases: ResourceType =
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
export const DaemonSets: ResourceType =
  { group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true };
export const Events: ResourceType =
  { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `/api/v1/namespaces/ns/services/name/status`, or the collection path when `name` is absent. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const item = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? '' : `/${subresource}`;
  return `${base}${ns}/${type.plural}${item}${sub}`;
}

/** The work-queue key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(object: { metadata: ObjectMeta }): string {
  const { namespace, name = '' } = object.metadata;
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
