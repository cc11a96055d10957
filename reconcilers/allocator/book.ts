// The allocator's ledger: for every address in use, which Services use it, with which sharing key,
// backend key and ports, and the per-range trackers and per-pool counts that follow from it. Lookups are
// maps and binary searches; nothing here walks a pool.

import type { Address, AllocatorPool, Assignment, Failure, PoolUsage, ServiceRequest } from './types.js';
import { failure } from './types.js';
import { RangeIndex, RangeTracker } from './ranges.js';
import { formatIP, type Family } from '../../arp/ipaddr.js';

interface AddressUse {
  readonly family: Family;
  readonly value: bigint;
  /** The pool the address counts against (the pool of the assignment that first took it). */
  readonly pool: string;
  sharingKey: string;
  backendKey: string;
  /** The holdings on this address; almost always one, so a list beats a set and a port map per address. */
  users: Assignment[];
}

interface Counter {
  ipv4: number;
  ipv6: number;
}

/** IPv4 addresses key the map as numbers: V8 hashes those far faster than bigints. */
const keyOf = (family: Family, value: bigint): bigint | number => (family === 4 ? Number(value) : value);

const portKey = (port: { protocol: string; port: number }): string => `${port.protocol}/${port.port}`;
const usageKey = (family: Family): 'ipv4' | 'ipv6' => (family === 4 ? 'ipv4' : 'ipv6');

export class AddressBook {
  private trackers = new Map<string, RangeTracker[]>();
  private index: Record<Family, RangeIndex> = { 4: new RangeIndex([]), 6: new RangeIndex([]) };
  private readonly uses: Record<Family, Map<bigint | number, AddressUse>> = { 4: new Map(), 6: new Map() };
  private readonly bySharingKey = new Map<string, Set<AddressUse>>();
  private readonly counts = new Map<string, Counter>();
  private readonly announced = new Map<string, PoolUsage>();
  private readonly pending = new Set<string>();
  private readonly listeners = new Set<(pools: ReadonlySet<string>) => void>();

  get usage(): ReadonlyMap<string, PoolUsage> {
    return this.counts;
  }

  /** Forgets every address and builds the trackers of `pools` (the caller re-adds what stays valid). */
  reset(pools: Iterable<AllocatorPool>): void {
    this.trackers = new Map();
    const entries: Record<Family, { pool: string; tracker: RangeTracker }[]> = { 4: [], 6: [] };
    this.counts.clear();
    for (const pool of pools) {
      const trackers = pool.ranges.map((range) => new RangeTracker(range, pool.avoidBuggyIPs));
      this.trackers.set(pool.name, trackers);
      for (const tracker of trackers) entries[tracker.range.family].push({ pool: pool.name, tracker });
      this.counts.set(pool.name, { ipv4: 0, ipv6: 0 });
    }
    this.index = { 4: new RangeIndex(entries[4]), 6: new RangeIndex(entries[6]) };
    this.uses[4].clear();
    this.uses[6].clear();
    this.bySharingKey.clear();
  }

  add(assignment: Assignment): void {
    for (const { family, value } of assignment.addresses) {
      let use = this.uses[family].get(keyOf(family, value));
      if (use === undefined) {
        use = { family, value, pool: assignment.pool, sharingKey: '', backendKey: '', users: [assignment] };
        this.uses[family].set(keyOf(family, value), use);
        this.indexSharing(use, assignment.sharingKey);
        for (const { tracker } of this.index[family].containing(value)) if (tracker.allows(family, value)) tracker.use(value);
        this.count(use, +1);
      } else if (use.sharingKey !== assignment.sharingKey) {
        this.unindexSharing(use);
        this.indexSharing(use, assignment.sharingKey);
      }
      use.backendKey = assignment.backendKey;
      if (use.users[0] !== assignment) {
        use.users = use.users.filter((u) => u.serviceKey !== assignment.serviceKey);
        use.users.push(assignment);
      }
    }
  }

  remove(assignment: Assignment): void {
    for (const { family, value } of assignment.addresses) {
      const use = this.uses[family].get(keyOf(family, value));
      if (use === undefined) continue;
      use.users = use.users.filter((u) => u.serviceKey !== assignment.serviceKey);
      if (use.users.length > 0) continue;
      this.uses[family].delete(keyOf(family, value));
      this.unindexSharing(use);
      for (const { tracker } of this.index[family].containing(value)) if (tracker.allows(family, value)) tracker.free(value);
      this.count(use, -1);
    }
  }

  /** The pools (by name) holding every one of `addresses`, or why there is none. */
  poolsHolding(addresses: readonly Address[]): { readonly ok: true; readonly pools: readonly string[] } | Failure {
    let common: string[] | undefined;
    for (const { family, value } of addresses) {
      const names = this.index[family]
        .containing(value)
        .filter(({ tracker }) => tracker.allows(family, value))
        .map(({ pool }) => pool);
      if (names.length === 0) {
        return failure('IPNotInAnyPool', `${formatIP(family, value)} is not allowed in config: it lies in no IPAddressPool (or is a .0/.255 address its pool avoids)`);
      }
      common = common === undefined ? [...new Set(names)] : common.filter((name) => names.includes(name));
    }
    if (common === undefined || common.length === 0) {
      const ips = addresses.map((a) => formatIP(a.family, a.value)).join(',');
      return failure('IPsInDifferentPools', `${ips} lie in different IPAddressPools; a Service's addresses come from one pool`);
    }
    return { ok: true, pools: common };
  }

  /** Why the Service may not use `address` alongside its current users, or undefined when it may. */
  sharingProblem(serviceKey: string, address: Address, request: ServiceRequest): Failure | undefined {
    const use = this.uses[address.family].get(keyOf(address.family, address.value));
    if (use === undefined) return undefined;
    const others = use.users.filter((u) => u.serviceKey !== serviceKey);
    // The only user of an address may change its sharing key, backend and ports in place.
    if (others.length === 0) return undefined;
    const ip = formatIP(address.family, address.value);
    const by = others.map((u) => u.serviceKey).sort().join(',');
    if (use.sharingKey === '') {
      return failure('SharingKeyMismatch', `${ip} is in use by ${by}, which does not allow sharing`);
    }
    if (request.sharingKey === '') {
      return failure('SharingKeyMismatch', `${ip} is in use by ${by}, and this service does not allow sharing (metallb.io/allow-shared-ip)`);
    }
    if (use.sharingKey !== request.sharingKey) {
      return failure('SharingKeyMismatch', `sharing key "${request.sharingKey}" does not match existing sharing key "${use.sharingKey}" of ${ip} (used by ${by})`);
    }
    if (use.backendKey !== request.backendKey) {
      return failure(
        'BackendMismatch',
        `backend key "${request.backendKey}" does not match "${use.backendKey}" of ${ip} (used by ${by}): sharing services need the same externalTrafficPolicy, and with Local the same selector`,
      );
    }
    for (const port of request.ports) {
      const owner = others.find((u) => u.ports.some((p) => p.protocol === port.protocol && p.port === port.port));
      if (owner !== undefined) {
        return failure('PortInUse', `port ${portKey(port)} is already in use on ${ip} by ${owner.serviceKey}`);
      }
    }
    return undefined;
  }

  /** The lowest address of `family` in `pool` the Service could share with its current users. */
  shareable(pool: AllocatorPool, family: Family, serviceKey: string, request: ServiceRequest): bigint | undefined {
    if (request.sharingKey === '') return undefined;
    const trackers = this.trackers.get(pool.name) ?? [];
    let best: bigint | undefined;
    for (const use of this.bySharingKey.get(request.sharingKey) ?? []) {
      if (use.family !== family || (best !== undefined && use.value >= best)) continue;
      if (!trackers.some((t) => t.allows(family, use.value))) continue;
      if (this.sharingProblem(serviceKey, use, request) === undefined) best = use.value;
    }
    return best;
  }

  /** An address of `family` for the Service in `pool`: one it can share, else the lowest free one. */
  pickIn(pool: AllocatorPool, family: Family, serviceKey: string, request: ServiceRequest): bigint | undefined {
    const shared = this.shareable(pool, family, serviceKey, request);
    if (shared !== undefined) return shared;
    for (const tracker of this.trackers.get(pool.name) ?? []) {
      if (tracker.range.family !== family) continue;
      const free = tracker.lowestFree();
      if (free !== undefined) return free;
    }
    return undefined;
  }

  hasFamily(pool: AllocatorPool, family: Family): boolean {
    return pool.ranges.some((range) => range.family === family);
  }

  subscribe(listener: (pools: ReadonlySet<string>) => void): () => void {
    if (this.listeners.size === 0) {
      this.announced.clear();
      for (const [pool, { ipv4, ipv6 }] of this.counts) this.announced.set(pool, { ipv4, ipv6 });
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Marks pools whose usage may have changed (setPools: every old and new pool). */
  notify(pools: Iterable<string>): void {
    for (const pool of pools) this.pending.add(pool);
    this.flush();
  }

  /** Tells listeners about the pools whose counts differ from what they were last told. */
  flush(): void {
    if (this.pending.size === 0) return;
    if (this.listeners.size === 0) {
      // Nobody to tell; `subscribe` takes its own snapshot.
      this.pending.clear();
      return;
    }
    let changed: Set<string> | undefined;
    for (const pool of this.pending) {
      const now = this.counts.get(pool);
      const told = this.announced.get(pool);
      if (now?.ipv4 === told?.ipv4 && now?.ipv6 === told?.ipv6) continue;
      (changed ??= new Set()).add(pool);
      if (now === undefined) this.announced.delete(pool);
      else this.announced.set(pool, { ipv4: now.ipv4, ipv6: now.ipv6 });
    }
    this.pending.clear();
    if (changed === undefined) return;
    for (const listener of this.listeners) listener(changed);
  }

  private count(use: AddressUse, delta: 1 | -1): void {
    const current = this.counts.get(use.pool);
    if (current === undefined) return;
    current[usageKey(use.family)] += delta;
    this.pending.add(use.pool);
  }

  private indexSharing(use: AddressUse, sharingKey: string): void {
    use.sharingKey = sharingKey;
    if (sharingKey === '') return;
    let set = this.bySharingKey.get(sharingKey);
    if (set === undefined) this.bySharingKey.set(sharingKey, (set = new Set()));
    set.add(use);
  }

  private unindexSharing(use: AddressUse): void {
    const set = this.bySharingKey.get(use.sharingKey);
    set?.delete(use);
    if (set?.size === 0) this.bySharingKey.delete(use.sharingKey);
  }
}
