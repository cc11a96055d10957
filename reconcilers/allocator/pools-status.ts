// The status of an IPAddressPool: per-family usage as MetalLB names it, and a Ready condition whose
// reason says what is wrong. Pure: the assigned counts come from the services reconciler's allocations.

import { setConditions } from '../../operator/kit/conditions.js';
import type { Condition, IPAddressPool, IPAddressPoolStatus } from '../../schemas/generated/types.js';
import { parseAddressRange, rangesOverlap, type Family, type IpRange } from '../../arp/ipaddr.js';
import { parsedAddresses } from '../validation/rules.js';
import { saturateInt64 } from '../../operator/kit/int64.js';

export interface AssignedCounts {
  readonly ipv4: number;
  readonly ipv6: number;
}

/** Addresses in use per pool name, as the allocator knows them. A pool absent from the map has none. */
export type AssignedByPool = ReadonlyMap<string, AssignedCounts>;

export { INT64_MAX, int64Json, saturateInt64 } from '../../operator/kit/int64.js';

/** The union of `ranges` of one family, sorted and merged, so overlapping entries count once. */
export function mergeRanges(ranges: readonly IpRange[]): IpRange[] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const merged: IpRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range.first <= last.last + 1n) {
      if (range.last > last.last) merged[merged.length - 1] = { ...last, last: range.last };
    } else {
      merged.push(range);
    }
  }
  return merged;
}

/** Addresses x in [from, to] with x ≡ residue (mod 256). */
function countCongruent(from: bigint, to: bigint, residue: bigint): bigint {
  const upTo = (n: bigint): bigint => (n < residue ? 0n : (n - residue) / 256n + 1n);
  return upTo(to) - upTo(from - 1n);
}

/** The .0 and .255 addresses of an IPv4 range, which `avoidBuggyIPs` keeps out of use (MetalLB's rule). */
export function buggyAddressCount(range: IpRange): bigint {
  if (range.family !== 4) return 0n;
  return countCongruent(range.first, range.last, 0n) + countCongruent(range.first, range.last, 255n);
}

export interface PoolCapacity {
  readonly ipv4: bigint;
  readonly ipv6: bigint;
}

/** How many addresses of each family the pool can hand out, never enumerating a range. */
export function poolCapacity(spec: IPAddressPool['spec']): PoolCapacity {
  const ranges = spec.addresses.flatMap((text) => {
    const parsed = parseAddressRange(text);
    return parsed.ok ? [parsed.value] : [];
  });
  const capacity = (family: Family): bigint =>
    mergeRanges(ranges.filter((r) => r.family === family)).reduce(
      (sum, r) => sum + (r.last - r.first + 1n) - (spec.avoidBuggyIPs === true ? buggyAddressCount(r) : 0n),
      0n,
    );
  return { ipv4: capacity(4), ipv6: capacity(6) };
}

type Readiness = Omit<Condition, 'lastTransitionTime' | 'observedGeneration' | 'type'>;

function readiness(pool: IPAddressPool, otherPools: readonly IPAddressPool[], available: bigint, total: bigint): Readiness {
  const { addresses } = pool.spec;
  const invalid = addresses.flatMap((text, i) => {
    const parsed = parseAddressRange(text);
    return parsed.ok ? [] : [`spec.addresses[${i}] ${JSON.stringify(text)}: ${parsed.reason}`];
  });
  const entries = parsedAddresses(pool);
  for (const entry of entries) {
    const earlier = entries.find((e) => e.index < entry.index && rangesOverlap(e.range, entry.range));
    if (earlier !== undefined) {
      invalid.push(`spec.addresses[${entry.index}] ${JSON.stringify(entry.text)}: overlaps spec.addresses[${earlier.index}] ${JSON.stringify(earlier.text)}`);
    }
  }
  if (addresses.length === 0) invalid.push('spec.addresses is empty');
  if (invalid.length > 0) return { status: 'False', reason: 'InvalidAddresses', message: invalid.join('; ') };

  const overlaps = entries.flatMap((entry) =>
    otherPools
      .filter((other) => other.metadata.name !== pool.metadata.name)
      .flatMap((other) =>
        parsedAddresses(other)
          .filter((o) => rangesOverlap(o.range, entry.range))
          .map((o) => `spec.addresses[${entry.index}] ${JSON.stringify(entry.text)} overlaps ipaddresspool ${JSON.stringify(other.metadata.name ?? '')} (${JSON.stringify(o.text)})`),
      ),
  );
  if (overlaps.length > 0) return { status: 'False', reason: 'Overlap', message: overlaps.join('; ') };
  if (total === 0n) {
    // Only possible with avoidBuggyIPs over addresses that all end in .0 or .255 (e.g. 10.0.0.255/32).
    return { status: 'False', reason: 'Exhausted', message: 'no usable address: avoidBuggyIPs excludes every address of the pool' };
  }
  if (available === 0n) {
    return { status: 'False', reason: 'Exhausted', message: `all ${total} usable addresses are assigned` };
  }
  return { status: 'True', reason: 'AddressesAvailable', message: `${available} of ${total} usable addresses available` };
}

export interface PoolStatusInput {
  readonly pool: IPAddressPool;
  /** Every pool in the cluster; the pool itself, if present, is skipped. */
  readonly otherPools: readonly IPAddressPool[];
  readonly assigned: AssignedByPool;
  /** The conditions last written; defaults to the pool's own `status.conditions`. */
  readonly previousConditions?: readonly Condition[];
  readonly now: Date;
}

export function computePoolStatus({ pool, otherPools, assigned, previousConditions, now }: PoolStatusInput): IPAddressPoolStatus {
  const capacity = poolCapacity(pool.spec);
  const used = assigned.get(pool.metadata.name ?? '') ?? { ipv4: 0, ipv6: 0 };
  const free = (cap: bigint, n: number): bigint => (cap > BigInt(n) ? cap - BigInt(n) : 0n);
  const availableIPv4 = free(capacity.ipv4, used.ipv4);
  const availableIPv6 = free(capacity.ipv6, used.ipv6);
  const generation = pool.metadata.generation;
  const ready = readiness(pool, otherPools, availableIPv4 + availableIPv6, capacity.ipv4 + capacity.ipv6);
  const conditions = setConditions(
    previousConditions ?? pool.status?.conditions ?? [],
    [{ type: 'Ready', ...ready, ...(generation === undefined ? {} : { observedGeneration: generation }) }],
    now,
  );
  return {
    assignedIPv4: used.ipv4,
    availableIPv4: saturateInt64(availableIPv4),
    assignedIPv6: used.ipv6,
    availableIPv6: saturateInt64(availableIPv6),
    assigned: saturateInt64(BigInt(used.ipv4) + BigInt(used.ipv6)),
    available: saturateInt64(availableIPv4 + availableIPv6),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions,
  };
}
