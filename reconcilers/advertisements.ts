// The advertisements reconciler: an L2Advertisement's status lists the pools it really announces and how
// many nodes it selects, says ResolvedRefs=False naming any pool it refers to that does not exist
// (MetalLB ignores those silently), and Ready=False when none of its nodes has any of the interfaces it
// names (MetalLB just never answers). Resolution is `computeAdvertisementStatus`'s; nodes' interfaces
// come from the announcers' heartbeat Leases.

import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import type { Reconciler } from '../operator/kit/controller.js';
import { setCondition } from '../operator/kit/conditions.js';
import { heartbeatLeaseName, INTERFACES_ANNOTATION } from './layer2/node-heartbeat.js';
import { type KubeObject } from '../operator/kit/resources.js';
import { L2Advertisements, fieldManagers } from '../schemas/resources.js';
import { applyStatus, sameJson } from '../operator/kit/status.js';
import type { IPAddressPool, L2Advertisement, L2AdvertisementStatus } from '../schemas/generated/types.js';
import { computeAdvertisementStatus, resolveAdvertisement, type Labelled } from './layer2/advertisements-status.js';

/** An object as far as label selection goes: its name and labels. */
export function labelled(object: KubeObject): Labelled {
  return { name: object.metadata.name ?? '', labels: object.metadata.labels ?? {} };
}

/** Why the advertisement's interfaces match no interface of its nodes, or undefined when some do (or
 *  when no announcer has reported its interfaces yet, so nothing is known). */
export function interfaceProblem(wanted: readonly string[], nodeInterfaces: ReadonlyMap<string, readonly string[]>): string | undefined {
  if (wanted.length === 0 || nodeInterfaces.size === 0) return undefined;
  if ([...nodeInterfaces.values()].some((names) => names.some((name) => wanted.includes(name)))) return undefined;
  const seen = [...nodeInterfaces].sort(([a], [b]) => (a < b ? -1 : 1)).map(([node, names]) => `${node}: ${names.join(', ') || 'none'}`);
  return `none of the selected nodes has interface ${wanted.join(', ')} (${seen.join('; ')})`;
}

export class AdvertisementsReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly advertisements: Informer<L2Advertisement>,
    private readonly pools: Informer<IPAddressPool>,
    private readonly nodes: Informer<KubeObject>,
    private readonly heartbeats: Informer<KubeObject>,
    private readonly namespace: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<void> {
    const advertisement = this.advertisements.get(key);
    if (advertisement === undefined) return;
    const pools = this.pools.list().map(labelled);
    const nodes = this.nodes.list().map(labelled);
    const now = this.now();
    let status: L2AdvertisementStatus = computeAdvertisementStatus({ advertisement, pools, nodes, now });
    const problem = interfaceProblem(advertisement.spec?.interfaces ?? [], this.reportedInterfaces(resolveAdvertisement(advertisement, pools, nodes).nodes));
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    if (problem !== undefined && ready?.status === 'True') {
      status = { ...status, conditions: setCondition(status.conditions ?? [], { ...ready, status: 'False', reason: 'NoMatchingInterface', message: problem }, now) };
    }
    if (sameJson(status, advertisement.status)) return;
    await applyStatus(this.client, L2Advertisements, advertisement, status, fieldManagers.controller);
  }

  /** Selected node → the interfaces its announcer reported; nodes without an announcer are left out. */
  private reportedInterfaces(selected: readonly string[]): Map<string, readonly string[]> {
    const result = new Map<string, readonly string[]>();
    for (const node of selected) {
      const lease = this.heartbeats.get(`${this.namespace}/${heartbeatLeaseName(node)}`);
      const published = lease?.metadata.annotations?.[INTERFACES_ANNOTATION];
      if (published !== undefined) result.set(node, published.split(',').filter((name) => name !== ''));
    }
    return result;
  }
}
