// The plain data the allocator takes and gives: pools as the services reconciler maps them from
// IPAddressPool objects, what a Service asks for, and the outcomes. Every expected "no" is a value with a
// code (for event reasons and conditions) and a MetalLB-like sentence (for the message).

import type { LabelSelector } from '../../schemas/generated/types.js';
import type { Family, IpRange } from '../../arp/ipaddr.js';
import type { Labels } from '../layer2/labels.js';

export type { Family, IpRange } from '../../arp/ipaddr.js';

/** IPAddressPool.spec.serviceAllocation: which Services may take addresses from a pool, and in what order. */
export interface ServiceAllocation {
  /** Lower is tried first; undefined (or 0, as MetalLB reads it) comes after every set priority. */
  readonly priority?: number;
  readonly namespaces: readonly string[];
  readonly namespaceSelectors: readonly LabelSelector[];
  readonly serviceSelectors: readonly LabelSelector[];
}

export interface AllocatorPool {
  readonly name: string;
  /** In the order `spec.addresses` lists them: the lowest free address of the first range with room wins. */
  readonly ranges: readonly IpRange[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation?: ServiceAllocation;
}

export interface Port {
  /** TCP, UDP or SCTP, as `spec.ports[].protocol` spells it (TCP when unset). */
  readonly protocol: string;
  readonly port: number;
}

export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

/** One address with its family; `value` is the address as a bigint (see ipaddr.ts). */
export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

/** What a Service asks of the allocator, read from its spec and annotations by `serviceRequest`. */
export interface ServiceRequest {
  readonly namespace: string;
  readonly labels: Labels;
  /** `metallb.io/loadBalancerIPs` or `spec.loadBalancerIP`: at most one address per family. */
  readonly requestedIPs: readonly Address[];
  /** `metallb.io/address-pool`, or undefined. */
  readonly pool: string | undefined;
  /** `metallb.io/allow-shared-ip`; '' means the Service shares its address with nobody. */
  readonly sharingKey: string;
  readonly ports: readonly Port[];
  /** 'Cluster' for externalTrafficPolicy Cluster; 'Local:<sorted selector>' for Local. Sharers must agree. */
  readonly backendKey: string;
  readonly ipFamilyPolicy: IpFamilyPolicy;
  /** The families the Service has, primary first (from ipFamilies, else clusterIPs); one unless dual-stack. */
  readonly families: readonly Family[];
  /** One sentence per deprecated `metallb.universe.tf/` annotation in use, for a Warning event. */
  readonly warnings: readonly string[];
}

/** What the allocator needs to know about the Service's world besides the request itself. */
export interface AllocationContext {
  /** Labels of the Service's namespace, for `serviceAllocation.namespaceSelectors`. */
  readonly namespaceLabels: Labels;
}

export type FailureCode =
  | 'InvalidAnnotation' // an annotation or spec.loadBalancerIP does not parse
  | 'ConflictingRequests' // both spec.loadBalancerIP and metallb.io/loadBalancerIPs
  | 'NotDualStack' // RequireDualStack but the Service has one family
  | 'FamilyMismatch' // requested addresses of a family the Service does not have
  | 'UnknownPool' // metallb.io/address-pool names no pool
  | 'IPNotInAnyPool' // a requested (or held) address lies in no pool
  | 'IPsInDifferentPools' // the requested addresses of two families lie in different pools
  | 'PoolMismatch' // requested addresses lie outside the requested pool
  | 'PoolNotAllowed' // the pool's serviceAllocation does not admit the Service
  | 'NoPoolAdmits' // no auto-assign pool admits the Service (or none exists)
  | 'FamilyNotAvailable' // no admitting pool has a range of the family the Service needs
  | 'NoAvailableIPs' // the admitting pools are full
  | 'PortInUse' // sharing: a (protocol, port) is already served on the address
  | 'SharingKeyMismatch' // sharing: the address's users have another (or no) sharing key
  | 'BackendMismatch' // sharing: another externalTrafficPolicy or selector
  | 'RequestChanged' // restore only: the Service now asks for other addresses or another pool
  | 'NothingHeld'; // restore only: the Service's status holds no address

export interface Failure {
  readonly ok: false;
  readonly code: FailureCode;
  readonly reason: string;
}

export interface Assignment {
  readonly serviceKey: string;
  readonly pool: string;
  /** Primary family first. */
  readonly addresses: readonly Address[];
  /** The same addresses as text, ready for `status.loadBalancer.ingress[].ip`. */
  readonly ips: readonly string[];
  readonly ports: readonly Port[];
  readonly sharingKey: string;
  readonly backendKey: string;
}

export type AssignResult =
  | {
      readonly ok: true;
      readonly assignment: Assignment;
      /** False when the Service kept exactly the addresses it held before this call. */
      readonly changed: boolean;
      /** PreferDualStack only: why the second family is missing (the Service still has the first). */
      readonly incomplete?: Failure;
    }
  | Failure;

export interface PoolUsage {
  /** Distinct addresses in use: an address shared by several Services counts once. */
  readonly ipv4: number;
  readonly ipv6: number;
}

export interface PoolsChange {
  /** Services whose addresses no longer lie in any pool: released, they need a new allocation. */
  readonly invalidated: readonly string[];
  /** Services that kept their addresses under another pool name (rename, split): their annotation changes. */
  readonly repooled: readonly string[];
}

export function failure(code: FailureCode, reason: string): Failure {
  return { ok: false, code, reason };
}
