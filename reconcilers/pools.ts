// The pools reconciler: an IPAddressPool's status says how many addresses it has, how many are in use,
// and whether anything is wrong with it (overlap, exhaustion), so `kubectl get ipaddresspools` answers
// what MetalLB leaves to its logs. The arithmetic is `computePoolStatus`'s; this file reads and writes.

import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import type { Reconciler } from '../operator/kit/controller.js';
import { IPAddressPools, fieldManagers } from '../schemas/resources.js';
import { applyStatus, sameJson } from '../operator/kit/status.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { computePoolStatus, type AssignedByPool } from './allocator/pools-status.js';

/** Where assigned counts come from: the services reconciler's allocator. */
export interface UsageSource {
  usage(): AssignedByPool;
}

export class PoolsReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly pools: Informer<IPAddressPool>,
    private readonly usage: UsageSource,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<void> {
    const pool = this.pools.get(key);
    if (pool === undefined) return; // deleted: nothing of ours to clean up
    const status = computePoolStatus({ pool, otherPools: this.pools.list(), assigned: this.usage.usage(), now: this.now() });
    if (sameJson(status, pool.status)) return;
    await applyStatus(this.client, IPAddressPools, pool, status, fieldManagers.controller);
  }
}
