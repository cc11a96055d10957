// What a speaker's caches hold at the targets' scale (5,000 LoadBalancer Services, each with an
// EndpointSlice of two endpoints, 10 Nodes): the V8 heap used by the cached objects, as the informer
// kept them before (only managedFields dropped) and as the speaker keeps them now (its transforms,
// reconcilers/layer2/speaker-cache.ts). Objects are shaped as the API server returns them for a
// Service applied with `kubectl apply` and a slice written by the EndpointSlice controller. Run with
// --expose-gc; BENCH_CACHE_SERVICES changes the scale. Prints a table and writes
// bench/results-cache.json; it never fails on a figure.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../e2e/fixtures.js';
import { stripManagedFields } from '../operator/kit/informer.js';
import type { KubeObject } from '../operator/kit/resources.js';
import { endpointSliceAsAnnounced, nodeAsAnnounced, serviceAsAnnounced } from '../reconcilers/layer2/speaker-cache.js';
import type { EndpointSlice, Node } from '../reconcilers/announcer.js';
import type { Service } from '../reconcilers/services.js';

const SERVICES = Number(process.env.BENCH_CACHE_SERVICES ?? '5000');
const NODES = 10;

const managedFields = (manager: string): unknown[] => [
  { manager, operation: 'Update', apiVersion: 'v1', time: '2026-12-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': { '.': {} } }, 'f:spec': { 'f:ports': {}, 'f:selector': {} } } },
];

function service(i: number): unknown {
  const name = `svc-${i}`;
  const spec = { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], selector: { app: name } };
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: {
      name, namespace: 'bench', uid: `0f9d7c3e-1b2a-4c5d-8e9f-${String(i).padStart(12, '0')}`, resourceVersion: String(100_000 + i),
      creationTimestamp: '2026-12-01T00:00:00Z', labels: { app: name },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'bench' }, spec }),
        'metallb.io/ip-allocated-from-pool': 'bench-pool',
      },
      managedFields: managedFields('kubectl-client-side-apply'),
    },
    spec: {
      ...spec, clusterIP: `10.96.${i >> 8}.${i & 255}`, clusterIPs: [`10.96.${i >> 8}.${i & 255}`], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None', externalTrafficPolicy: i % 2 === 0 ? 'Cluster' : 'Local', internalTrafficPolicy: 'Cluster',
      allocateLoadBalancerNodePorts: true, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30_000 + (i % 2_000) }],
      ...(i % 2 === 0 ? {} : { healthCheckNodePort: 32_000 + (i % 700) }),
    },
    status: {
      loadBalancer: { ingress: [{ ip: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, ipMode: 'VIP' }] },
      conditions: [{ type: 'AddressAssigned', status: 'True', reason: 'Allocated', message: 'assigned from pool bench-pool', lastTransitionTime: '2026-12-01T00:00:00Z', observedGeneration: 1 }],
    },
  };
}

function endpointSlice(i: number): unknown {
  const name = `svc-${i}`;
  const endpoint = (n: number): unknown => ({
    addresses: [`10.244.${n}.${i & 255}`], conditions: { ready: true, serving: true, terminating: false }, nodeName: `lab-node-${n}`,
    targetRef: { kind: 'Pod', name: `${name}-${n}-7d9f8`, namespace: 'bench', uid: `a1b2c3d4-0000-4000-8000-${String(i * 10 + n).padStart(12, '0')}` },
  });
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: {
      name: `${name}-x7k2p`, generateName: `${name}-`, namespace: 'bench', uid: `5e6f7a8b-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(200_000 + i), generation: 1, creationTimestamp: '2026-12-01T00:00:00Z',
      labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', app: name },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: `0f9d7c3e-1b2a-4c5d-8e9f-${String(i).padStart(12, '0')}`, controller: true, blockOwnerDeletion: true }],
      managedFields: managedFields('kube-controller-manager'),
    },
    endpoints: [endpoint(1 + (i % NODES)), endpoint(1 + ((i + 1) % NODES))],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function node(i: number): unknown {
  const name = `lab-node-${i}`;
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name, uid: `9a8b7c6d-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(300_000 + i),
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux' },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      managedFields: managedFields('kubelet'),
    },
    spec: { podCIDR: `10.244.${i}.0/24`, podCIDRs: [`10.244.${i}.0/24`] },
    status: {
      capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
        type, status: type === 'Ready' ? 'True' : 'False', reason: 'KubeletHasSufficient', message: 'kubelet has sufficient resources',
        lastHeartbeatTime: '2026-12-01T00:00:00Z', lastTransitionTime: '2026-12-01T00:00:00Z',
      })),
      addresses: [{ type: 'InternalIP', address: `10.0.0.${i}` }, { type: 'Hostname', address: name }],
      nodeInfo: { kubeletVersion: 'v1.34.4', containerRuntimeVersion: 'containerd://1.6.20', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0' },
      images: Array.from({ length: 30 }, (_, n) => ({ names: [`registry.example/team/image-${n}@sha256:${'ab'.repeat(32)}`, `registry.example/team/image-${n}:v1.${n}`], sizeBytes: 10_000_000 + n })),
    },
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap bytes held by the cache of every object `make` makes, as the informer parses them (JSON). */
function cachedBytes(transforms: { service: (s: Service) => Service; slice: (e: EndpointSlice) => EndpointSlice; node: (n: Node) => Node }): number {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const cache = new Map<string, KubeObject>();
  for (let i = 0; i < SERVICES; i++) {
    cache.set(`s/${i}`, transforms.service(JSON.parse(JSON.stringify(service(i))) as Service));
    cache.set(`e/${i}`, transforms.slice(JSON.parse(JSON.stringify(endpointSlice(i))) as EndpointSlice));
  }
  for (let i = 1; i <= NODES; i++) cache.set(`n/${i}`, transforms.node(JSON.parse(JSON.stringify(node(i))) as Node));
  gc!();
  const held = process.memoryUsage().heapUsed - before;
  if (cache.size !== 2 * SERVICES + NODES) throw new Error('cache incomplete');
  return held;
}

function main(): void {
  if (gc === undefined) {
    console.log('bench cache: not measured: run with node --expose-gc');
    return;
  }
  const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
  const whole = cachedBytes({ service: stripManagedFields, slice: stripManagedFields, node: stripManagedFields });
  const cut = cachedBytes({ service: serviceAsAnnounced, slice: endpointSliceAsAnnounced, node: nodeAsAnnounced });
  const results = {
    at: new Date().toISOString(), services: SERVICES, endpointSlices: SERVICES, nodes: NODES,
    wholeObjectsMb: mb(whole), speakerTransformsMb: mb(cut), ratio: Math.round((cut / whole) * 100) / 100,
  };
  console.log(`bench cache: ${SERVICES} Services, ${SERVICES} EndpointSlices, ${NODES} Nodes cached (heap used, after GC)`);
  console.log(`bench cache:   whole objects (managedFields dropped): ${results.wholeObjectsMb} MB`);
  console.log(`bench cache:   the speaker's transforms:              ${results.speakerTransformsMb} MB (${results.ratio}×)`);
  writeFileSync(join(repoRoot, 'bench', 'results-cache.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main();
