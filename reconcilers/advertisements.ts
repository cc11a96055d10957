// The advertisements reconciler: an L2Advertisement's status lists the pools it really announces and how
// many nodes it selects, and says ResolvedRefs=False naming any pool it refers to that does not exist
// (MetalLB ignores those silently). Resolution is `computeAdvertisementStatus`'s; this file reads and writes.

import type { Informer } from '../operator/informer.js';
import type { KubeClient } from '../operator/kube-client.js';
import type { Reconciler } from '../operator/controller.js';
import { L2Advertisements, type KubeObject } from '../operator/resources.js';
import { applyStatus, fieldManagers, sameJson } from '../operator/status.js';
import type { IPAddressPool, L2Advertisement } from '../schemas/generated/types.js';
import { computeAdvertisementStatus, type Labelled } from './advertisements-status.js';

function labelled(object: KubeObject): Labelled {
  return { name: object.metadata.name ?? '', labels: object.metadata.labels ?? {} };
}

export class AdvertisementsReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly advertisements: Informer<L2Advertisement>,
    private readonly pools: Informer<IPAddressPool>,
    private readonly nodes: Informer<KubeObject>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<void> {
    const advertisement = this.advertisements.get(key);
    if (advertisement === undefined) return;
    const status = computeAdvertisementStatus({
      advertisement,
      pools: this.pools.list().map(labelled),
      nodes: this.nodes.list().map(labelled),
      now: this.now(),
    });
    if (sameJson(status, advertisement.status)) return;
    await applyStatus(this.client, L2Advertisements, advertisement, status, fieldManagers.controller);
  }
}
