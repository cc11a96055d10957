import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import type { AssignedByPool } from './allocator/pools-status.js';
import { POOL_STATUS_MIN_INTERVAL_MS, PoolsReconciler } from './pools.js';

const KEY = 'metallb-system/first-pool';

/** One pool, whose status is what was last written; the clock and the allocator's counts are ours. */
function harness() {
  let pool: IPAddressPool = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'first-pool', namespace: 'metallb-system', generation: 1 }, spec: { addresses: ['192.168.1.240/28'] } };
  const writes: Array<{ atMs: number; assigned: unknown }> = [];
  let nowMs = Date.parse('2026-12-01T10:00:00Z');
  let used = 0;
  const client = {
    apply: async (_type: unknown, object: { status: IPAddressPool['status'] }) => {
      writes.push({ atMs: nowMs, assigned: object.status?.assignedIPv4 });
      pool = { ...pool, status: object.status };
    },
  } as unknown as KubeClient;
  const pools = { get: (key: string) => (key === KEY ? pool : undefined), list: () => [pool] } as unknown as Informer<IPAddressPool>;
  const usage = { usage: (): AssignedByPool => new Map([['first-pool', { ipv4: used, ipv6: 0 }]]) };
  const reconciler = new PoolsReconciler(client, pools, usage, () => new Date(nowMs));
  return {
    reconciler, writes,
    allocate: () => { used++; },
    advance: (ms: number) => { nowMs += ms; },
  };
}

it('a storm of allocations is written at most once a second per pool, the last count included', async () => {
  const { reconciler, writes, allocate, advance } = harness();
  allocate();
  assert.deepEqual(await reconciler.reconcile(KEY), {});
  const requeues: number[] = [];
  for (let i = 0; i < 9; i++) { // nine more allocations, 100 ms apart
    advance(100);
    allocate();
    const result = await reconciler.reconcile(KEY);
    if (result.requeueAfterMs !== undefined) requeues.push(result.requeueAfterMs);
  }
  assert.equal(writes.length, 1, 'one write within the first second');
  assert.equal(requeues.at(-1), POOL_STATUS_MIN_INTERVAL_MS - 900, 'asked back when the second is up');
  advance(100);
  await reconciler.reconcile(KEY);
  assert.deepEqual(writes.map((w) => w.assigned), [1, 10], 'the second write carries every allocation made meanwhile');
});

it('an unchanged status is neither written nor re-queued', async () => {
  const { reconciler, writes, allocate } = harness();
  allocate();
  await reconciler.reconcile(KEY);
  assert.deepEqual(await reconciler.reconcile(KEY), {});
  assert.equal(writes.length, 1);
});
