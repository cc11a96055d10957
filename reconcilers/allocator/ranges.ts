// The data structures that keep allocation sub-linear in pool size. MetalLB walks every address of a
// CIDR per allocation; an IPv6 /64 makes that walk endless. Here each (pool, range) keeps its used
// addresses as sorted, merged runs (runs.ts), so "lowest free" is a look at the first run and
// marking an address is a binary search. Ranges are never enumerated.

import type { Family, IpRange } from '../../arp/ipaddr.js';
import { RunList } from './runs.js';

/**
 * MetalLB's rule (ipConfusesBuggyFirmwares): an IPv4 address whose last octet is 0 or 255, whatever the
 * prefix, can be dropped by smurf protection in cheap CPE firmware. IPv6 addresses are never buggy.
 */
export function isBuggyAddress(family: Family, value: bigint): boolean {
  if (family !== 4) return false;
  const low = value & 0xffn;
  return low === 0n || low === 0xffn;
}

/**
 * Addresses as positions in a gap-free index space. With avoidBuggyIPs the 254 usable addresses of each
 * /24 get consecutive indexes, so the .255/.0 holes never split a run of used addresses and "lowest free"
 * stays one look however full the pool is.
 */
interface IndexSpace {
  toIndex(value: bigint): bigint;
  fromIndex(index: bigint): bigint;
}

const identity: IndexSpace = { toIndex: (v) => v, fromIndex: (i) => i };

const skipBuggy: IndexSpace = {
  toIndex: (v) => (v >> 8n) * 254n + (v & 0xffn) - 1n,
  fromIndex: (i) => ((i / 254n) << 8n) | ((i % 254n) + 1n),
};

/** The used addresses of one range of one pool. */
export class RangeTracker {
  readonly range: IpRange;
  readonly avoidBuggyIPs: boolean;
  private readonly space: IndexSpace;
  /** First and last index of an address this range may hand out; lo > hi when it may hand out none. */
  private readonly lo: bigint;
  private readonly hi: bigint;
  /** The used indexes. */
  private readonly runs = new RunList();

  constructor(range: IpRange, avoidBuggyIPs: boolean) {
    this.range = range;
    this.avoidBuggyIPs = avoidBuggyIPs && range.family === 4;
    this.space = this.avoidBuggyIPs ? skipBuggy : identity;
    let first = range.first;
    let last = range.last;
    if (this.avoidBuggyIPs) {
      while (first <= last && isBuggyAddress(4, first)) first++;
      while (last >= first && isBuggyAddress(4, last)) last--;
    }
    this.lo = first <= last ? this.space.toIndex(first) : 1n;
    this.hi = first <= last ? this.space.toIndex(last) : 0n;
  }

  /** Whether the range may hand out `value` at all (inside it, and not buggy when those are avoided). */
  allows(family: Family, value: bigint): boolean {
    if (family !== this.range.family || value < this.range.first || value > this.range.last) return false;
    return !(this.avoidBuggyIPs && isBuggyAddress(family, value));
  }

  /** The lowest address of the range nobody uses, or undefined when it is full. O(1). */
  lowestFree(): bigint | undefined {
    if (this.lo > this.hi) return undefined;
    const head = this.runs.first();
    const index = head === undefined || head.start > this.lo ? this.lo : head.end + 1n;
    return index <= this.hi ? this.space.fromIndex(index) : undefined;
  }

  /** Marks `value` used; the caller has checked `allows`. O(log runs). */
  use(value: bigint): void {
    this.runs.add(this.space.toIndex(value));
  }

  /** Marks `value` free again. */
  free(value: bigint): void {
    this.runs.delete(this.space.toIndex(value));
  }
}

interface IndexedTracker {
  readonly pool: string;
  readonly tracker: RangeTracker;
}

/**
 * Which pools' ranges hold an address: the ranges of one family sorted by first address, with the running
 * maximum of their last addresses so that a look-up stops as soon as no earlier range can reach the
 * address. Without overlapping pools (which validation refuses) that is one binary search.
 */
export class RangeIndex {
  private readonly entries: IndexedTracker[];
  private readonly maxLast: bigint[];

  constructor(entries: readonly IndexedTracker[]) {
    this.entries = [...entries].sort((a, b) => {
      const x = a.tracker.range.first;
      const y = b.tracker.range.first;
      return x < y ? -1 : x > y ? 1 : a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0;
    });
    this.maxLast = [];
    let max = -1n;
    for (const entry of this.entries) {
      if (entry.tracker.range.last > max) max = entry.tracker.range.last;
      this.maxLast.push(max);
    }
  }

  /** Every (pool, range) whose range contains `value`, allowed or not, in pool-name order. */
  containing(value: bigint): IndexedTracker[] {
    let low = 0;
    let high = this.entries.length - 1;
    let k = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.entries[mid] as IndexedTracker).tracker.range.first <= value) {
        k = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    const found: IndexedTracker[] = [];
    for (let j = k; j >= 0 && (this.maxLast[j] as bigint) >= value; j--) {
      const entry = this.entries[j] as IndexedTracker;
      if (entry.tracker.range.last >= value) found.push(entry);
    }
    return found.sort((a, b) => (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0));
  }
}
