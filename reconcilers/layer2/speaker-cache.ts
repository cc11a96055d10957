// What a speaker keeps of the cluster-wide objects it caches (the informers' transforms, as
// controller-runtime's cache transforms). A speaker watches every Service, EndpointSlice and Node of the
// cluster, and most of each is read by nobody here: `kubectl apply`'s last-applied annotation (a copy of
// the whole object), ports, selectors, cluster IPs, endpoint addresses and targets, a Node's images,
// capacity and system info. Kept is exactly what the announcer, its traces, its Events and the
// heartbeat peers read; a Service that is not a LoadBalancer keeps only its name and type.

import { TRACE_ANNOTATION } from '../../operator/kit/tracing.js';
import type { ObjectMeta } from '../../operator/kit/resources.js';
import { annotations as serviceAnnotations } from '../allocator/service-request.js';
import type { Service } from '../services.js';
import type { EndpointSlice, Node } from '../announcer.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const KEPT_SERVICE_ANNOTATIONS = [serviceAnnotations.allocatedFromPool, TRACE_ANNOTATION];

/** name, namespace, uid and resourceVersion (an Event names its object by them), and the listed keys of
 *  labels and annotations (all labels when `labels` is 'all'). */
function identity(metadata: ObjectMeta, keep: { labels: readonly string[] | 'all'; annotations: readonly string[] }): ObjectMeta {
  const picked = (from: Readonly<Record<string, string>> | undefined, keys: readonly string[]): Record<string, string> | undefined => {
    const kept = keys.filter((key) => from?.[key] !== undefined).map((key) => [key, from![key]!] as const);
    return kept.length === 0 ? undefined : Object.fromEntries(kept);
  };
  const labels = keep.labels === 'all' ? metadata.labels : picked(metadata.labels, keep.labels);
  const annotations = picked(metadata.annotations, keep.annotations);
  return {
    ...(metadata.name === undefined ? {} : { name: metadata.name }),
    ...(metadata.namespace === undefined ? {} : { namespace: metadata.namespace }),
    ...(metadata.uid === undefined ? {} : { uid: metadata.uid }),
    ...(metadata.resourceVersion === undefined ? {} : { resourceVersion: metadata.resourceVersion }),
    ...(labels === undefined ? {} : { labels }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

export function serviceAsAnnounced(service: Service): Service {
  const metadata = identity(service.metadata, { labels: [], annotations: KEPT_SERVICE_ANNOTATIONS });
  const type = service.spec?.type;
  if (type !== 'LoadBalancer') return { metadata, ...(type === undefined ? {} : { spec: { type } }) };
  const { loadBalancerClass, externalTrafficPolicy } = service.spec ?? {};
  const ingress = (service.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [{ ip: i.ip }]));
  return {
    metadata,
    spec: {
      type,
      ...(loadBalancerClass === undefined ? {} : { loadBalancerClass }),
      ...(externalTrafficPolicy === undefined ? {} : { externalTrafficPolicy }),
    },
    ...(ingress.length === 0 ? {} : { status: { loadBalancer: { ingress } } }),
  };
}

export function endpointSliceAsAnnounced(slice: EndpointSlice): EndpointSlice {
  const metadata = identity(slice.metadata, { labels: [SERVICE_NAME_LABEL], annotations: [] });
  const endpoints = (slice.endpoints ?? []).map(({ nodeName, conditions }) => {
    const { ready, serving } = conditions ?? {};
    const kept = { ...(ready === undefined ? {} : { ready }), ...(serving === undefined ? {} : { serving }) };
    return { ...(nodeName === undefined ? {} : { nodeName }), ...(conditions === undefined ? {} : { conditions: kept }) };
  });
  return { metadata, ...(slice.endpoints === undefined ? {} : { endpoints }) };
}

export function nodeAsAnnounced(node: Node): Node {
  const metadata = identity(node.metadata, { labels: 'all', annotations: [] });
  const { unschedulable, taints } = node.spec ?? {};
  const conditions = node.status?.conditions?.map(({ type, status }) => ({ type, status }));
  const addresses = node.status?.addresses?.map(({ type, address }) => ({ type, address }));
  return {
    metadata,
    spec: { ...(unschedulable === undefined ? {} : { unschedulable }), ...(taints === undefined ? {} : { taints: taints.map(({ key, value, effect }) => ({ key, ...(value === undefined ? {} : { value }), ...(effect === undefined ? {} : { effect }) })) }) },
    status: { ...(conditions === undefined ? {} : { conditions }), ...(addresses === undefined ? {} : { addresses }) },
  };
}
