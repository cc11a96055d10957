// The lab has no kube-controller-manager, so nothing makes EndpointSlices: whoever creates a Service
// creates its slice too, with endpoints "running" on lab nodes (pod addresses that exist nowhere: only
// their nodeName and conditions matter to the announcer).

import type { KubeClient } from '../../operator/kit/kube-client.js';
import { EndpointSlices, type KubeObject } from '../../operator/kit/resources.js';

export interface LabEndpoint {
  readonly node: string;
  readonly serving?: boolean;
}

export function endpointSlice(namespace: string, service: string, endpoints: readonly LabEndpoint[], port = 80): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      name: `${service}-lab`, namespace,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'lab.l2lb.dev' },
    },
    ...{
      addressType: 'IPv4',
      ports: [{ name: '', port, protocol: 'TCP' }],
      endpoints: endpoints.map((endpoint, i) => {
        const serving = endpoint.serving ?? true;
        const index = Number(/(\d+)$/.exec(endpoint.node)?.[1] ?? '0');
        return { addresses: [`10.244.${index}.${10 + i}`], nodeName: endpoint.node, conditions: { ready: serving, serving, terminating: false } };
      }),
    },
  };
}

/** Creates or replaces the lab EndpointSlice of `service`. */
export async function setEndpoints(client: KubeClient, namespace: string, service: string, endpoints: readonly LabEndpoint[], port = 80): Promise<void> {
  await client.apply(EndpointSlices, endpointSlice(namespace, service, endpoints, port), 'l2lb-lab');
}
