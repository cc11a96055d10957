// The pools reconciler: an IPAddressPool's status says how many addresses it has, how many are in use,
// and whether anything is wrong with it (overlap, exhaustion), so `kubectl get ipaddresspools` answers
// what MetalLB leaves to its logs. The arithmetic is `computePoolStatus`'s; this file reads and writes.

import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import type { Reconciler, Result } from '../operator/kit/controller.js';
import { IPAddressPools, fieldManagers } from '../schemas/resources.js';
import { applyStatus, sameJson } from '../operator/kit/status.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { computePoolStatus, type AssignedByPool } from './allocator/pools-status.js';

/** Where assigned counts come from: the services reconciler's allocator. */
export interface UsageSource {
  usage(): AssignedByPool;
}

/** At most one status write per pool a second. Every allocation changes a pool's counts: written each
 *  time, a storm of 5,000 Services was 5,000 writes, each an event at every watcher of pools, for
 *  numbers nobody reads faster than `kubectl get` does. */
export const POOL_STATUS_MIN_INTERVAL_MS = 1_000;

export class PoolsReconciler implements Reconciler {
  private readonly lastWrite = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly pools: Informer<IPAddressPool>,
    private readonly usage: UsageSource,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<Result> {
    const pool = this.pools.get(key);
    if (pool === undefined) { // deleted: nothing of ours to clean up
      this.lastWrite.delete(key);
      return {};
    }
    const now = this.now();
    const status = computePoolStatus({ pool, otherPools: this.pools.list(), assigned: this.usage.usage(), now });
    if (sameJson(status, pool.status)) return {};
    const wait = (this.lastWrite.get(key) ?? -Infinity) + POOL_STATUS_MIN_INTERVAL_MS - now.getTime();
    if (wait > 0) return { requeueAfterMs: wait }; // then written with every change made meanwhile
    this.lastWrite.set(key, now.getTime());
    await applyStatus(this.client, IPAddressPools, pool, status, fieldManagers.controller);
    return {};
  }
}
