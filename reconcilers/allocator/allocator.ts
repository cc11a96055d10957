// The address allocator: which Service holds which LoadBalancer addresses, from which pool. The
// services reconciler owns one instance; it feeds pools (`setPools`), rebuilds the holdings from the
// Services' status after a restart (`restore`, before any `assign`), then keeps every Service converged
// (`assign`, `release`). No I/O: plain data in, plain data out, and the same calls give the same answers.

import type {
  Address,
  AllocationContext,
  AllocatorPool,
  Assignment,
  AssignResult,
  Failure,
  PoolsChange,
  PoolUsage,
  ServiceRequest,
} from './types.js';
import { failure } from './types.js';
import { AddressBook } from './book.js';
import { admissionProblem, autoAssignOrder, choosePools } from './pools.js';
import { formatIP, parseIP, type Family } from '../../arp/ipaddr.js';

export type * from './types.js';

/** formatIP with a fast path for IPv4: allocation formats one address per Service, 65,536 in a row. */
function formatAddress(family: Family, value: bigint): string {
  if (family === 6) return formatIP(family, value);
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const familyName = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');
const listIPs = (addresses: readonly Address[]): string => addresses.map((a) => formatIP(a.family, a.value)).join(',');

function makeAssignment(
  serviceKey: string,
  pool: string,
  addresses: readonly Address[],
  request: ServiceRequest,
): Assignment {
  // Primary family first, as the Service's ipFamilies order them.
  const rank = (a: Address): number => {
    const i = request.families.indexOf(a.family);
    return i < 0 ? 2 : i;
  };
  const ordered = addresses.length < 2 ? addresses : [...addresses].sort((a, b) => rank(a) - rank(b));
  return {
    serviceKey,
    pool,
    addresses: ordered,
    ips: ordered.map((a) => formatAddress(a.family, a.value)),
    ports: request.ports,
    sharingKey: request.sharingKey,
    backendKey: request.backendKey,
  };
}

const sameAddresses = (a: readonly Address[], b: readonly Address[]): boolean =>
  a.length === b.length && a.every((x) => b.some((y) => y.family === x.family && y.value === x.value));

/**
 * Whether `addresses` fit the Service's families: one per family, of families it has, and (unless
 * `partial`, a holding about to be completed) as many as its policy needs.
 */
function familyProblem(addresses: readonly Address[], request: ServiceRequest, partial: boolean): Failure | undefined {
  const families = addresses.map((a) => a.family);
  const ips = listIPs(addresses);
  if (new Set(families).size !== families.length) {
    return failure('FamilyMismatch', `${ips}: at most one address per IP family`);
  }
  const foreign = families.find((f) => !request.families.includes(f));
  const tooFew = !partial && request.ipFamilyPolicy !== 'PreferDualStack' && families.length < request.families.length;
  if (foreign !== undefined || tooFew || families.length === 0) {
    return failure('FamilyMismatch', `loadBalancer IP(s) ${ips} do not match the ipFamilies of the service (${request.families.map(familyName).join(',')})`);
  }
  return undefined;
}

export class Allocator {
  private readonly book = new AddressBook();
  private pools = new Map<string, AllocatorPool>();
  private autoOrder: AllocatorPool[] = [];
  private readonly held = new Map<string, Assignment>();

  /** Replaces the pools. Holdings whose addresses left every pool are released; moved ones follow their pool. */
  setPools(pools: Iterable<AllocatorPool>): PoolsChange {
    const previous = [...this.held.values()].sort((a, b) => (a.serviceKey < b.serviceKey ? -1 : 1));
    const touched = new Set(this.pools.keys());
    this.pools = new Map([...pools].map((pool) => [pool.name, pool]));
    for (const name of this.pools.keys()) touched.add(name);
    this.autoOrder = autoAssignOrder(this.pools.values());
    this.book.reset(this.pools.values());
    this.held.clear();
    const invalidated: string[] = [];
    const repooled: string[] = [];
    for (const assignment of previous) {
      const resolved = this.book.poolsHolding(assignment.addresses);
      if (!resolved.ok) {
        invalidated.push(assignment.serviceKey);
        continue;
      }
      const pool = resolved.pools.includes(assignment.pool) ? assignment.pool : (resolved.pools[0] as string);
      if (pool !== assignment.pool) repooled.push(assignment.serviceKey);
      this.hold({ ...assignment, pool });
    }
    this.book.notify(touched);
    return { invalidated, repooled };
  }

  /**
   * Gives the Service addresses satisfying `request`, keeping what it holds when that still satisfies it
   * (idempotent), adding the second family of a PreferDualStack Service when its pool can now give it,
   * and otherwise releasing the holding and allocating afresh. A failure leaves the Service holding nothing.
   */
  assign(serviceKey: string, request: ServiceRequest, context: AllocationContext): AssignResult {
    const before = this.held.get(serviceKey);
    const result = this.assignQuietly(serviceKey, request, context, before);
    this.book.flush();
    return result;
  }

  /**
   * Re-takes the addresses a Service's status shows (after a controller restart), if they are still valid
   * for its request; `pool` is its `metallb.io/ip-allocated-from-pool` annotation, which settles which of
   * two overlapping pools it came from. Call for every existing Service (in a stable order: on a conflict
   * the first one wins) before the first `assign`. Addresses of a family the Service no longer has are
   * dropped (`changed` is then true); `assign` later adds a family it lacks.
   */
  restore(
    serviceKey: string,
    request: ServiceRequest,
    context: AllocationContext,
    current: { readonly ips: readonly string[]; readonly pool?: string | undefined },
  ): AssignResult {
    this.releaseQuietly(serviceKey);
    const addresses: Address[] = [];
    for (const text of current.ips) {
      const parsed = parseIP(text.trim());
      if (parsed === undefined) return this.done(failure('IPNotInAnyPool', `status holds "${text}", which is not an IP address`));
      addresses.push(parsed);
    }
    if (addresses.length === 0) return this.done(failure('NothingHeld', 'the Service holds no address'));
    if (request.requestedIPs.length > 0 && !sameAddresses(addresses, request.requestedIPs)) {
      return this.done(failure('RequestChanged', `the Service now requests ${listIPs(request.requestedIPs)} instead of ${listIPs(addresses)}`));
    }
    // A family the Service no longer has is dropped; a missing one is added by the next `assign`.
    const fitting = addresses.filter((a) => request.families.includes(a.family));
    if (fitting.length === 0) {
      return this.done(failure('FamilyMismatch', `${listIPs(addresses)} do not match the ipFamilies of the service (${request.families.map(familyName).join(',')})`));
    }
    const checked = this.validate(serviceKey, fitting, current.pool ?? request.pool, request, context, true);
    if (!checked.ok) return this.done(checked);
    if (request.pool !== undefined && checked.pool !== request.pool) {
      return this.done(failure('RequestChanged', `the Service now requests pool ${request.pool} instead of ${checked.pool}`));
    }
    const assignment = makeAssignment(serviceKey, checked.pool, fitting, request);
    this.hold(assignment);
    return this.done({ ok: true, assignment, changed: fitting.length !== addresses.length });
  }

  /** Frees whatever the Service holds (deleted, no longer a LoadBalancer, another class). */
  release(serviceKey: string): boolean {
    const released = this.releaseQuietly(serviceKey);
    this.book.flush();
    return released;
  }

  assignment(serviceKey: string): Assignment | undefined {
    return this.held.get(serviceKey);
  }

  /** Distinct addresses in use per configured pool (zero included); the map is live, read it, don't keep it. */
  usage(): ReadonlyMap<string, PoolUsage> {
    return this.book.usage;
  }

  /** Calls `listener` after every call that changed the usage of some pools, with their names. */
  onUsageChange(listener: (pools: ReadonlySet<string>) => void): () => void {
    return this.book.subscribe(listener);
  }

  private done<T>(result: T): T {
    this.book.flush();
    return result;
  }

  private hold(assignment: Assignment): void {
    this.held.set(assignment.serviceKey, assignment);
    this.book.add(assignment);
  }

  private releaseQuietly(serviceKey: string): boolean {
    const assignment = this.held.get(serviceKey);
    if (assignment === undefined) return false;
    this.held.delete(serviceKey);
    this.book.remove(assignment);
    return true;
  }

  private assignQuietly(serviceKey: string, request: ServiceRequest, context: AllocationContext, before: Assignment | undefined): AssignResult {
    if (before !== undefined) {
      // A Service whose family policy changed keeps the addresses of the families it still has.
      const fitting = before.addresses.filter((a) => request.families.includes(a.family));
      const keep =
        fitting.length > 0 && (request.requestedIPs.length === 0 || sameAddresses(fitting, request.requestedIPs))
          ? this.validate(serviceKey, fitting, before.pool, request, context, true)
          : undefined;
      if (keep?.ok === true && (request.pool === undefined || keep.pool === request.pool)) {
        this.releaseQuietly(serviceKey);
        const kept = makeAssignment(serviceKey, keep.pool, fitting, request);
        const changed = keep.pool !== before.pool || fitting.length !== before.addresses.length;
        const completed = this.complete(kept, request, changed);
        if (completed !== undefined) return completed;
      }
      // What it holds no longer fits (config, request or sharing changed): start over, as MetalLB does.
      this.releaseQuietly(serviceKey);
    }
    const result = request.requestedIPs.length > 0 ? this.takeRequested(serviceKey, request, context) : this.pick(serviceKey, request, context);
    if (result.ok) {
      this.hold(result.assignment);
      return { ...result, changed: before === undefined || !sameAddresses(before.addresses, result.assignment.addresses) || before.pool !== result.assignment.pool };
    }
    return result;
  }

  /**
   * Holds `kept`, first adding from its own pool the family it lacks: the second family of a
   * PreferDualStack Service when the pool can now give it (else the Service keeps one, `incomplete` says
   * why), or of a Service turned RequireDualStack (else undefined: the caller allocates both afresh).
   */
  private complete(kept: Assignment, request: ServiceRequest, changed: boolean): AssignResult | undefined {
    const missing = request.families.find((f) => !kept.addresses.some((a) => a.family === f));
    if (missing === undefined || request.requestedIPs.length > 0) {
      this.hold(kept);
      return { ok: true, assignment: kept, changed };
    }
    const pool = this.pools.get(kept.pool) as AllocatorPool;
    const value = this.book.pickIn(pool, missing, kept.serviceKey, request);
    if (value !== undefined) {
      const grown = makeAssignment(kept.serviceKey, kept.pool, [...kept.addresses, { family: missing, value }], request);
      this.hold(grown);
      return { ok: true, assignment: grown, changed: true };
    }
    if (request.ipFamilyPolicy !== 'PreferDualStack') return undefined;
    this.hold(kept);
    const incomplete = failure(this.book.hasFamily(pool, missing) ? 'NoAvailableIPs' : 'FamilyNotAvailable', `no available ${familyName(missing)} in pool ${pool.name}`);
    return { ok: true, assignment: kept, changed, incomplete };
  }

  /** Checks that `addresses` may be held by the Service as it now asks, and from which pool. */
  private validate(
    serviceKey: string,
    addresses: readonly Address[],
    preferredPool: string | undefined,
    request: ServiceRequest,
    context: AllocationContext,
    partial = false,
  ): { readonly ok: true; readonly pool: string } | Failure {
    const families = familyProblem(addresses, request, partial);
    if (families !== undefined) return families;
    const resolved = this.book.poolsHolding(addresses);
    if (!resolved.ok) return resolved;
    // Overlapping pools (a configuration error the pools' status reports): prefer the named one, then one
    // that admits the Service, then the first by name.
    const admitting = resolved.pools.filter((name) => admissionProblem(this.pools.get(name) as AllocatorPool, request, context) === undefined);
    const pool =
      [preferredPool, request.pool].find((name) => name !== undefined && admitting.includes(name)) ?? admitting[0];
    if (pool === undefined) {
      const first = this.pools.get(resolved.pools[0] as string) as AllocatorPool;
      return failure('PoolNotAllowed', admissionProblem(first, request, context) ?? `pool ${first.name} not compatible for ip assignment`);
    }
    for (const address of addresses) {
      const problem = this.book.sharingProblem(serviceKey, address, request);
      if (problem !== undefined) return problem;
    }
    return { ok: true, pool };
  }

  private takeRequested(serviceKey: string, request: ServiceRequest, context: AllocationContext): AssignResult {
    const checked = this.validate(serviceKey, request.requestedIPs, request.pool, request, context, false);
    if (!checked.ok) return checked;
    if (request.pool !== undefined && checked.pool !== request.pool) {
      const reason = this.pools.has(request.pool)
        ? `requested loadBalancer IP(s) ${listIPs(request.requestedIPs)} is not compatible with requested address pool ${request.pool}`
        : `unknown pool "${request.pool}"`;
      return failure(this.pools.has(request.pool) ? 'PoolMismatch' : 'UnknownPool', reason);
    }
    return { ok: true, assignment: makeAssignment(serviceKey, checked.pool, request.requestedIPs, request), changed: true };
  }

  /** MetalLB's pool search: the first pool giving every family, else (PreferDualStack) the first giving one. */
  private pick(serviceKey: string, request: ServiceRequest, context: AllocationContext): AssignResult {
    const choice = choosePools(request, context, this.pools, this.autoOrder);
    if (!choice.ok) return failure(choice.code, choice.reason);
    const [primary, secondary] = request.families as [Family, Family | undefined];
    // A Service with a sharing key tries first the pools where a compatible address already is.
    const pools = request.sharingKey === ''
      ? choice.pools
      : [...choice.pools.filter((p) => this.book.shareable(p, primary, serviceKey, request) !== undefined),
         ...choice.pools.filter((p) => this.book.shareable(p, primary, serviceKey, request) === undefined)];
    let onlyPrimary: Assignment | undefined;
    let onlySecondary: Assignment | undefined;
    for (const pool of pools) {
      const first = this.book.pickIn(pool, primary, serviceKey, request);
      const second = secondary === undefined ? undefined : this.book.pickIn(pool, secondary, serviceKey, request);
      const addresses: Address[] = [];
      if (first !== undefined) addresses.push({ family: primary, value: first });
      if (second !== undefined && secondary !== undefined) addresses.push({ family: secondary, value: second });
      if (addresses.length === request.families.length) {
        return { ok: true, assignment: makeAssignment(serviceKey, pool.name, addresses, request), changed: true };
      }
      if (request.ipFamilyPolicy !== 'PreferDualStack' || addresses.length === 0) continue;
      if (first !== undefined) onlyPrimary ??= makeAssignment(serviceKey, pool.name, addresses, request);
      else onlySecondary ??= makeAssignment(serviceKey, pool.name, addresses, request);
    }
    const partial = onlyPrimary ?? onlySecondary;
    const wanted = request.families.map(familyName).join(' and ');
    const lacking = request.families.filter((f) => !pools.some((p) => this.book.hasFamily(p, f)));
    const why =
      lacking.length > 0
        ? failure('FamilyNotAvailable', `no available IPs: no pool this Service may use has ${lacking.map(familyName).join(' or ')} addresses`)
        : failure('NoAvailableIPs', request.pool !== undefined ? `no available IPs in pool ${request.pool}` : `no available IPs (${wanted})`);
    if (partial === undefined) return why;
    const incomplete =
      lacking.length > 0
        ? why
        : failure('NoAvailableIPs', `no pool this Service may use has both ${wanted} available; assigned ${familyName(partial.addresses[0]?.family ?? primary)} only`);
    return { ok: true, assignment: partial, changed: true, incomplete };
  }
}

