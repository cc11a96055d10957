// Which pools a Service may take addresses from, and in which order it tries them. Pure.

import type { AllocationContext, AllocatorPool, ServiceRequest } from './types.js';
import { anySelectorMatches, labelSelectorMatches } from '../layer2/labels.js';

/**
 * Why `pool`'s serviceAllocation refuses the Service, or undefined when it admits it. A pool without
 * serviceAllocation admits everyone. Namespaces listed by name and namespaces matched by a selector are
 * ORed; the service selectors are ORed among themselves and ANDed with the namespace part.
 *
 * MetalLB resolves namespaceSelectors to names when the config loads, so a selector that matches no
 * namespace leaves its list empty and the pool then admits every namespace. We do not copy that: a pool
 * that restricts namespaces admits only the namespaces it names or selects.
 */
export function admissionProblem(pool: AllocatorPool, request: ServiceRequest, context: AllocationContext): string | undefined {
  const allocation = pool.serviceAllocation;
  if (allocation === undefined) return undefined;
  const restrictsNamespaces = allocation.namespaces.length > 0 || allocation.namespaceSelectors.length > 0;
  if (
    restrictsNamespaces &&
    !allocation.namespaces.includes(request.namespace) &&
    !allocation.namespaceSelectors.some((selector) => labelSelectorMatches(selector, context.namespaceLabels))
  ) {
    return `pool ${pool.name} does not allocate to namespace ${request.namespace} (serviceAllocation.namespaces/namespaceSelectors)`;
  }
  if (!anySelectorMatches(allocation.serviceSelectors, request.labels)) {
    return `pool ${pool.name} does not allocate to this Service: its labels match none of serviceAllocation.serviceSelectors`;
  }
  return undefined;
}

const byName = (a: AllocatorPool, b: AllocatorPool): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** MetalLB reads priority 0 as "unset": both come after every positive priority. */
function priorityRank(pool: AllocatorPool): number {
  const priority = pool.serviceAllocation?.priority;
  return priority === undefined || priority <= 0 ? Number.POSITIVE_INFINITY : priority;
}

/**
 * The order in which a Service without `address-pool` tries pools, before admission is checked:
 * auto-assign pools with a serviceAllocation by priority (lower first, unset last), then auto-assign pools
 * without one; ties by name, so no result depends on the order pools arrived in. Computed once per
 * `setPools`.
 */
export function autoAssignOrder(pools: Iterable<AllocatorPool>): AllocatorPool[] {
  const auto = [...pools].filter((pool) => pool.autoAssign);
  const targeted = auto
    .filter((pool) => pool.serviceAllocation !== undefined)
    .sort((a, b) => priorityRank(a) - priorityRank(b) || byName(a, b));
  const general = auto.filter((pool) => pool.serviceAllocation === undefined).sort(byName);
  return [...targeted, ...general];
}

/** The outcome of pool choice: the pools to try in order, or why there is none. */
export type PoolChoice =
  | { readonly ok: true; readonly pools: readonly AllocatorPool[] }
  | { readonly ok: false; readonly code: 'UnknownPool' | 'PoolNotAllowed' | 'NoPoolAdmits'; readonly reason: string };

/**
 * The pools a Service tries: exactly the pool it names (auto-assign or not, as MetalLB does), or every
 * auto-assign pool that admits it, in `autoAssignOrder`.
 */
export function choosePools(
  request: ServiceRequest,
  context: AllocationContext,
  byPoolName: ReadonlyMap<string, AllocatorPool>,
  autoOrder: readonly AllocatorPool[],
): PoolChoice {
  if (request.pool !== undefined) {
    const pool = byPoolName.get(request.pool);
    if (pool === undefined) return { ok: false, code: 'UnknownPool', reason: `unknown pool "${request.pool}"` };
    const problem = admissionProblem(pool, request, context);
    if (problem !== undefined) return { ok: false, code: 'PoolNotAllowed', reason: problem };
    return { ok: true, pools: [pool] };
  }
  const pools = autoOrder.filter((pool) => admissionProblem(pool, request, context) === undefined);
  if (pools.length === 0) {
    const reason =
      autoOrder.length === 0
        ? 'no available IPs: there is no IPAddressPool with autoAssign enabled'
        : 'no available IPs: no auto-assign IPAddressPool admits this Service (serviceAllocation)';
    return { ok: false, code: 'NoPoolAdmits', reason };
  }
  return { ok: true, pools };
}
