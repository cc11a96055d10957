// Many Services with EndpointSlices on the lab, and the judgement of who answers for them: shared by the
// scale e2e test (1,000 Services, three nodes) and the scale benchmark (5,000 Services, ten nodes).

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type KubeClient } from '../../operator/kit/kube-client.js';
import { EndpointSlices, Services, type KubeObject, type ResourceType } from '../../operator/kit/resources.js';
import { ServiceL2Statuses } from '../../schemas/resources.js';
import { census, type Census } from './census.js';
import { endpointSlice } from './endpoints.js';
import { kubectl } from './kubectl.js';
import { labPaths } from './lab.js';
import { memoryOfPid, readPid, waitFor, type Memory } from './processes.js';

interface ServiceView extends KubeObject {
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}
interface StatusView extends KubeObject {
  status?: { node?: string; serviceName?: string; serviceNamespace?: string };
}

export const scalePoolYaml = (cidr = '10.220.0.0/18'): string => `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: scale-pool, namespace: metallb-system}
spec: {addresses: [${cidr}]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: scale-all, namespace: metallb-system}
`;

/** Runs `work` over `items`, `width` at a time. */
export async function inParallel<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  }));
}

/** Creates `count` LoadBalancer Services, each with an EndpointSlice: a quarter with externalTrafficPolicy
 *  Local and endpoints on two nodes (only those may announce), the rest Cluster with one endpoint. */
export async function createScaleServices(client: KubeClient, namespace: string, count: number, nodes: readonly string[],
  progress: (created: number) => void = () => undefined): Promise<string[]> {
  const width = String(count - 1).length;
  const names = Array.from({ length: count }, (_, i) => `svc-${String(i).padStart(Math.max(4, width), '0')}`);
  let created = 0;
  // Idempotent: what a previous, interrupted run created is kept.
  const ensure = async (create: () => Promise<unknown>): Promise<void> => {
    try {
      await create();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  };
  await inParallel(names, 16, async (name, i) => {
    const local = i % 4 === 0;
    // No node ports: the default range (30000–32767) holds 2,768, and an L2 LoadBalancer needs none.
    await ensure(() => client.create(Services, {
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
      ...{ spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, externalTrafficPolicy: local ? 'Local' : 'Cluster',
        selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] } },
    }));
    const endpoints = local ? [{ node: nodes[i % nodes.length]! }, { node: nodes[(i + 1) % nodes.length]! }] : [{ node: nodes[i % nodes.length]! }];
    await ensure(() => client.create(EndpointSlices, endpointSlice(namespace, name, endpoints)));
    if (++created % 500 === 0) progress(created);
  });
  return names;
}

/** Deletes every object of `type` in `namespace` (matching `labelSelector`), 16 requests at a time, and
 *  waits until none is listed. kubectl deletes one object per request under its client-side rate limit
 *  (5 requests/s after a burst of 10): 1,000 Services took 225 s that way, with or without --wait. */
export async function deleteAllOf(client: KubeClient, type: ResourceType, namespace: string, labelSelector?: string): Promise<void> {
  const names = (await client.list(type, namespace, labelSelector)).items.map((item) => item.metadata.name!);
  await inParallel(names, 16, async (name) => {
    try {
      await client.delete(type, namespace, name);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  });
  await waitFor(`every ${type.plural} of ${namespace} deleted`, async () => (await client.list(type, namespace, labelSelector)).items.length === 0, 300_000, 500);
}

/** Deletes the namespace's Services and slices and the lab's pools and advertisements. The lab has no
 *  namespace controller (no kube-controller-manager): a deleted namespace would stay Terminating for
 *  good, so its contents are deleted and the namespace kept. */
export async function deleteScaleServices(client: KubeClient, namespace: string): Promise<void> {
  await deleteAllOf(client, Services, namespace);
  await deleteAllOf(client, EndpointSlices, namespace);
  kubectl('delete', 'l2advertisements,ipaddresspools', '--all', '-n', 'metallb-system', '--wait=true');
}

/** Memory of a lab program by its pid file's name (`controller`, `announcer-lab-node-1`). */
export function memoryOf(name: string): Memory {
  return memoryOfPid(readPid(join(labPaths().run, `${name}.pid`)));
}

export interface Judgement {
  readonly problems: string[];
  readonly seen: Census;
  readonly statuses: number;
}

/** What is wrong, if anything: every address of the namespace's `count` Services answered by exactly one
 *  live node (asked from lab-client), and one ServiceL2Status per Service naming that node. */
export async function judgeOwnership(client: KubeClient, namespace: string, count: number, live: readonly string[]): Promise<Judgement> {
  const { items: services } = await client.list<ServiceView>(Services, namespace);
  const byIp = new Map(services.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => [i.ip ?? '', s.metadata.name ?? ''] as const)));
  const seen = census([...byIp.keys()]);
  const { items } = await client.list<StatusView>(ServiceL2Statuses, 'metallb-system');
  const statuses = new Map<string, string[]>();
  for (const item of items) {
    if (item.status?.serviceNamespace !== namespace) continue;
    const name = item.status.serviceName ?? '';
    statuses.set(name, [...(statuses.get(name) ?? []), item.status.node ?? '']);
  }
  const problems: string[] = [];
  if (byIp.size !== count) problems.push(`${count - byIp.size} Services have no address yet`);
  for (const [ip, service] of byIp) {
    const owners = seen.owners.get(ip) ?? [];
    if (owners.length !== 1 || !live.includes(owners[0]!)) {
      problems.push(`${ip} (${service}) answered by [${owners.join(', ')}]`);
      continue;
    }
    const named = statuses.get(service) ?? [];
    if (named.length !== 1 || named[0] !== owners[0]) problems.push(`${service}: ServiceL2Status names [${named.join(', ')}], ARP says ${owners[0]}`);
  }
  let total = 0;
  for (const nodes of statuses.values()) total += nodes.length;
  return { problems, seen, statuses: total };
}

export interface Settled extends Judgement {
  readonly ms: number;
}

/** Judges every 2 s until nothing is wrong or `timeoutMs` passes; the last judgement either way. */
export async function settleOwnership(client: KubeClient, namespace: string, count: number, live: readonly string[], timeoutMs: number,
  progress: (judgement: Judgement) => void = () => undefined): Promise<Settled> {
  const started = Date.now();
  for (;;) {
    const judgement = await judgeOwnership(client, namespace, count, live);
    if (judgement.problems.length === 0 || Date.now() - started >= timeoutMs) return { ...judgement, ms: Date.now() - started };
    progress(judgement);
    await sleep(2_000);
  }
}
