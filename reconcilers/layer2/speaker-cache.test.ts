import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointSliceAsAnnounced, nodeAsAnnounced, serviceAsAnnounced } from './speaker-cache.js';
import type { Service } from '../services.js';
import type { EndpointSlice, Node } from '../announcer.js';

// Objects as the API server returns them (managedFields already dropped by the informer's default).
const lastApplied = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx-lb', namespace: 'web' }, spec: { type: 'LoadBalancer' } });
const identity = { name: 'nginx-lb', namespace: 'web', uid: 'u-1', resourceVersion: '42' };

const loadBalancer = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    ...identity, generation: 3, creationTimestamp: '2026-12-01T00:00:00Z', labels: { app: 'nginx' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': lastApplied,
      'metallb.io/ip-allocated-from-pool': 'first-pool',
      'l2lb.dev/traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    },
  },
  spec: {
    type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
    ports: [{ protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 }], selector: { app: 'nginx' },
    externalTrafficPolicy: 'Local', healthCheckNodePort: 31000, sessionAffinity: 'None', loadBalancerClass: 'l2lb',
  },
  status: { loadBalancer: { ingress: [{ ip: '192.168.1.240', ipMode: 'VIP' }, { hostname: 'lb.example' }] } },
} as unknown as Service;

describe('serviceAsAnnounced', () => {
  const cases: ReadonlyArray<[string, Service, Service]> = [
    ['a LoadBalancer keeps its identity, the pool and trace annotations, type, class, traffic policy and ingress IPs',
      loadBalancer,
      {
        metadata: { ...identity, annotations: { 'metallb.io/ip-allocated-from-pool': 'first-pool', 'l2lb.dev/traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
        spec: { type: 'LoadBalancer', loadBalancerClass: 'l2lb', externalTrafficPolicy: 'Local' },
        status: { loadBalancer: { ingress: [{ ip: '192.168.1.240' }] } },
      } as Service],
    ['a LoadBalancer not yet given an address has no status and no annotations',
      { metadata: { ...identity, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } }, spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } } as Service,
      { metadata: identity, spec: { type: 'LoadBalancer' } } as Service],
    ['a ClusterIP Service keeps only its identity and type',
      { ...loadBalancer, spec: { ...loadBalancer.spec, type: 'ClusterIP' } } as Service,
      { metadata: { ...identity, annotations: { 'metallb.io/ip-allocated-from-pool': 'first-pool', 'l2lb.dev/traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }, spec: { type: 'ClusterIP' } } as Service],
    ['a Service without a spec keeps its identity', { metadata: identity } as Service, { metadata: identity } as Service],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(serviceAsAnnounced(input), expected));
});

describe('endpointSliceAsAnnounced', () => {
  const slice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: {
      name: 'nginx-lb-abcde', namespace: 'web', uid: 's-1', resourceVersion: '7', generateName: 'nginx-lb-',
      labels: { 'kubernetes.io/service-name': 'nginx-lb', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-12-01T00:00:00Z' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'nginx-lb', uid: 'u-1', controller: true }],
    },
    endpoints: [
      { addresses: ['10.244.1.5'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'nginx-1', namespace: 'web', uid: 'p-1' }, zone: 'a' },
      { addresses: ['10.244.2.5'], conditions: { ready: false, serving: null } },
      { addresses: ['10.244.3.5'] },
    ],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  } as unknown as EndpointSlice;
  const cases: ReadonlyArray<[string, EndpointSlice, EndpointSlice]> = [
    ['keeps its identity, the Service it belongs to, and each endpoint’s node and ready/serving conditions', slice, {
      metadata: { name: 'nginx-lb-abcde', namespace: 'web', uid: 's-1', resourceVersion: '7', labels: { 'kubernetes.io/service-name': 'nginx-lb' } },
      endpoints: [{ nodeName: 'node-1', conditions: { ready: true, serving: true } }, { conditions: { ready: false, serving: null } }, {}],
    }],
    ['a slice with no endpoints stays without', { metadata: { name: 's', namespace: 'web' } }, { metadata: { name: 's', namespace: 'web' } }],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(endpointSliceAsAnnounced(input), expected));
});

describe('nodeAsAnnounced', () => {
  const node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: 'node-1', uid: 'n-1', resourceVersion: '9', labels: { 'kubernetes.io/hostname': 'node-1', zone: 'a' }, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: '10.244.1.0/24', unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: '2026-12-01T00:00:00Z' }] },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2026-12-01T00:00:00Z' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'node-1' }],
      images: [{ names: ['registry.k8s.io/pause:3.10'], sizeBytes: 320_000 }],
      nodeInfo: { kubeletVersion: 'v1.34.4' }, capacity: { cpu: '2' },
    },
  } as unknown as Node;
  const cases: ReadonlyArray<[string, Node, Node]> = [
    ['keeps its identity, all labels, cordon and taints, condition types and statuses, and addresses', node, {
      metadata: { name: 'node-1', uid: 'n-1', resourceVersion: '9', labels: { 'kubernetes.io/hostname': 'node-1', zone: 'a' } },
      spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'node-1' }] },
    }],
    ['a bare Node stays bare', { metadata: { name: 'n' } }, { metadata: { name: 'n' }, spec: {}, status: {} }],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(nodeAsAnnounced(input), expected));
});
