// IPAddressPool objects as the allocator sees them. A pool whose addresses do not parse (admission
// bypassed, or an older l2lb wrote it) keeps the last version that did: an invalid pool never disturbs
// the addresses already assigned from it.

import type { IPAddressPool } from '../../schemas/generated/types.js';
import type { AllocatorPool } from './types.js';
import { parseAddressRange, type IpRange } from '../../arp/ipaddr.js';

export function toAllocatorPool(pool: IPAddressPool): AllocatorPool | undefined {
  const ranges: IpRange[] = [];
  for (const entry of pool.spec.addresses) {
    const parsed = parseAddressRange(entry);
    if (!parsed.ok) return undefined;
    ranges.push(parsed.value);
  }
  const allocation = pool.spec.serviceAllocation;
  return {
    name: pool.metadata.name ?? '',
    ranges,
    autoAssign: pool.spec.autoAssign ?? true,
    avoidBuggyIPs: pool.spec.avoidBuggyIPs ?? false,
    ...(allocation === undefined ? {} : {
      serviceAllocation: {
        ...(allocation.priority === undefined ? {} : { priority: allocation.priority }),
        namespaces: allocation.namespaces ?? [],
        namespaceSelectors: allocation.namespaceSelectors ?? [],
        serviceSelectors: allocation.serviceSelectors ?? [],
      },
    }),
  };
}

/** Converts every pool, falling back to `lastGood` for a pool that does not parse; updates `lastGood`. */
export function allocatorPools(pools: readonly IPAddressPool[], lastGood: Map<string, AllocatorPool>): AllocatorPool[] {
  const result: AllocatorPool[] = [];
  const present = new Set<string>();
  for (const pool of pools) {
    const name = pool.metadata.name ?? '';
    present.add(name);
    const converted = toAllocatorPool(pool);
    if (converted !== undefined) lastGood.set(name, converted);
    const usable = converted ?? lastGood.get(name);
    if (usable !== undefined) result.push(usable);
  }
  for (const name of [...lastGood.keys()]) if (!present.has(name)) lastGood.delete(name);
  return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
