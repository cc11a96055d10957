// Real Pods behind a test Service on the cluster lab: a Deployment of the lab's own tiny image (the pod
// sandbox program, images.ts), so kube-controller-manager writes the Service's EndpointSlice from Ready
// Pods' addresses. They answer nothing; l2lb only needs them to exist and be Ready.

import { join } from 'node:path';
import { repoRoot } from '../fixtures.js';
import { PAUSE_IMAGE } from './images.js';
import { kubectl, kubectlApply } from './kubectl.js';
import { waitFor } from './processes.js';

/** Applies the Deployment `name` (label app=<name>) and waits until `replicas` of its Pods are Ready
 *  and listed in the EndpointSlices of the Service of the same name, once that Service exists. */
export async function ensureBackends(name: string, namespace: string, replicas: number): Promise<void> {
  kubectlApply(JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: {
        automountServiceAccountToken: false, terminationGracePeriodSeconds: 1,
        containers: [{ name: 'backend', image: PAUSE_IMAGE, imagePullPolicy: 'Never', ports: [{ containerPort: 8080 }] }],
      } },
    },
  }));
  await waitFor(`${replicas} Ready Pods of ${namespace}/${name}`, () => {
    const deployment = JSON.parse(kubectl('get', 'deployment', name, '-n', namespace, '-o', 'json')) as { status?: { readyReplicas?: number } };
    return deployment.status?.readyReplicas === replicas;
  }, 120_000, 500);
}

/** The number of endpoints kube-controller-manager lists for `service`. */
export function endpointCount(service: string, namespace: string): number {
  const slices = JSON.parse(kubectl('get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service}`, '-o', 'json')) as
    { items: Array<{ endpoints?: unknown[] }> };
  return slices.items.flatMap((s) => s.endpoints ?? []).length;
}

/** The guides' pool (192.168.1.240/28) and advertisement, `replicas` Pods, and a LoadBalancer Service
 *  `name` in `namespace` selecting them (port 80 to the Pods' 8080). */
export async function guidesServiceWithPods(name: string, namespace: string, replicas: number): Promise<void> {
  kubectl('apply', '-f', join(repoRoot, 'config', 'samples', 'guides', '000-01-ipaddresspool-cidr.yaml'));
  kubectl('apply', '-f', join(repoRoot, 'config', 'samples', 'guides', '000-04-l2advertisement-all.yaml'));
  await ensureBackends(name, namespace, replicas);
  kubectlApply(JSON.stringify({
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  }));
}
