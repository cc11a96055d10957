// What a Service asks of the allocator, read from its spec and its MetalLB annotations. Pure: a plain
// Service-shaped object in (a V1Service fits), a ServiceRequest or the reason it is malformed out.

import type { Address, Failure, IpFamilyPolicy, Port, ServiceRequest } from './types.js';
import { failure } from './types.js';
import { formatIP, parseIP, type Family } from '../../arp/ipaddr.js';

export type { ServiceRequest } from './types.js';

const PREFIX = 'metallb.io/';
const OLD_PREFIX = 'metallb.universe.tf/';

export const annotations = {
  addressPool: `${PREFIX}address-pool`,
  loadBalancerIPs: `${PREFIX}loadBalancerIPs`,
  allowSharedIP: `${PREFIX}allow-shared-ip`,
  /** Written by the controller: the pool the Service's addresses came from. */
  allocatedFromPool: `${PREFIX}ip-allocated-from-pool`,
} as const;

/** The parts of a core/v1 Service this module reads; `V1Service` from @kubernetes/client-node fits. */
export interface ServiceLike {
  readonly metadata?: {
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly loadBalancerIP?: string;
    readonly ipFamilyPolicy?: string;
    readonly ipFamilies?: readonly string[];
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ports?: readonly { readonly protocol?: string; readonly port: number }[];
    readonly externalTrafficPolicy?: string;
    readonly selector?: Readonly<Record<string, string>>;
  };
  readonly status?: {
    readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string }[] };
  };
}

export type RequestResult = { readonly ok: true; readonly request: ServiceRequest } | Failure;

interface Annotation {
  readonly value: string | undefined;
  readonly warning?: string;
}

/** The `metallb.io/` form when present (even empty); else the deprecated form, with a warning to show. */
function readAnnotation(all: Readonly<Record<string, string>>, name: string): Annotation {
  const current = `${PREFIX}${name}`;
  const old = `${OLD_PREFIX}${name}`;
  const hasOld = Object.hasOwn(all, old);
  if (Object.hasOwn(all, current)) {
    return hasOld ? { value: all[current], warning: `annotation ${old} is deprecated and ignored because ${current} is also set; remove it` } : { value: all[current] };
  }
  if (hasOld) return { value: all[old], warning: `annotation ${old} is deprecated; use ${current}` };
  return { value: undefined };
}

const familyOfName = (name: string): Family | undefined => (name === 'IPv4' ? 4 : name === 'IPv6' ? 6 : undefined);

/** The Service's families, primary first: ipFamilies, else its cluster IPs; the API server fills both. */
function serviceFamilies(spec: NonNullable<ServiceLike['spec']>): Family[] {
  const fromNames = (spec.ipFamilies ?? []).map(familyOfName).filter((f): f is Family => f !== undefined);
  const clusterIPs = spec.clusterIPs !== undefined && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP !== undefined ? [spec.clusterIP] : [];
  const fromIPs = clusterIPs.map((ip) => parseIP(ip)?.family).filter((f): f is Family => f !== undefined);
  const families = fromNames.length > 0 ? fromNames : fromIPs;
  // Nothing to go by (a Service the API server has not defaulted, as in tests): IPv4, Kubernetes' default.
  return families.length > 0 ? [...new Set(families)] : [4];
}

function policyOf(text: string | undefined): IpFamilyPolicy | undefined {
  if (text === undefined || text === '' || text === 'SingleStack') return 'SingleStack';
  return text === 'PreferDualStack' || text === 'RequireDualStack' ? text : undefined;
}

function requestedIPs(annotation: string | undefined, loadBalancerIP: string): { ok: true; ips: Address[] } | Failure {
  const name = annotations.loadBalancerIPs;
  if (annotation !== undefined && annotation !== '' && loadBalancerIP !== '') {
    return failure('ConflictingRequests', `service can not have both ${name} and svc.Spec.LoadBalancerIP`);
  }
  const texts = annotation !== undefined && annotation !== '' ? annotation.split(',') : loadBalancerIP !== '' ? [loadBalancerIP] : [];
  const what = annotation !== undefined && annotation !== '' ? `${name}: "${annotation}"` : `spec.loadBalancerIP "${loadBalancerIP}"`;
  const ips: Address[] = [];
  for (const text of texts) {
    const ip = parseIP(text.trim());
    if (ip === undefined) return failure('InvalidAnnotation', `invalid ${what}`);
    if (ips.some((other) => other.family === ip.family)) {
      return failure('InvalidAnnotation', `invalid ${what}: at most one address per IP family`);
    }
    ips.push(ip);
  }
  return { ok: true, ips };
}

/** ETP Cluster Services share regardless of backends; ETP Local ones only with the very same selector. */
function backendKeyOf(spec: NonNullable<ServiceLike['spec']>): string {
  if (spec.externalTrafficPolicy !== 'Local') return 'Cluster';
  const selector = Object.entries(spec.selector ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `Local:${selector}`;
}

export function serviceRequest(service: ServiceLike): RequestResult {
  const spec = service.spec ?? {};
  const all = service.metadata?.annotations ?? {};
  const pool = readAnnotation(all, 'address-pool');
  const ipsAnnotation = readAnnotation(all, 'loadBalancerIPs');
  const sharing = readAnnotation(all, 'allow-shared-ip');
  const warnings = [pool.warning, ipsAnnotation.warning, sharing.warning].filter((w): w is string => w !== undefined);

  const ipFamilyPolicy = policyOf(spec.ipFamilyPolicy);
  if (ipFamilyPolicy === undefined) return failure('FamilyMismatch', `unknown ipFamilyPolicy "${spec.ipFamilyPolicy ?? ''}"`);
  const known = serviceFamilies(spec);
  if (ipFamilyPolicy === 'RequireDualStack' && known.length < 2) {
    return failure('NotDualStack', 'Service requires dual stack but not enough clusterips');
  }
  // SingleStack keeps only the primary family even if a stale second one lingers.
  const families = ipFamilyPolicy === 'SingleStack' ? known.slice(0, 1) : known;

  const requested = requestedIPs(ipsAnnotation.value, spec.loadBalancerIP ?? '');
  if (!requested.ok) return requested;
  const foreign = requested.ips.filter((ip) => !families.includes(ip.family));
  // PreferDualStack may pin one family only; the other policies need one address per family they have.
  const tooFew = requested.ips.length > 0 && ipFamilyPolicy !== 'PreferDualStack' && requested.ips.length < families.length;
  if (foreign.length > 0 || tooFew) {
    const ips = requested.ips.map((ip) => formatIP(ip.family, ip.value)).join(',');
    return failure('FamilyMismatch', `requested loadBalancer IP(s) ${ips} does not match the ipFamily of the service`);
  }

  const ports: Port[] = (spec.ports ?? []).map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port }));
  return {
    ok: true,
    request: {
      namespace: service.metadata?.namespace ?? '',
      labels: service.metadata?.labels ?? {},
      requestedIPs: requested.ips,
      pool: pool.value === undefined || pool.value === '' ? undefined : pool.value,
      sharingKey: sharing.value ?? '',
      ports,
      backendKey: backendKeyOf(spec),
      ipFamilyPolicy,
      families,
      warnings,
    },
  };
}

/** What the Service's status and annotation say it holds, for `Allocator.restore` after a restart. */
export function heldAddresses(service: ServiceLike): { readonly ips: readonly string[]; readonly pool: string | undefined } {
  const ips = (service.status?.loadBalancer?.ingress ?? []).map((entry) => entry.ip ?? '').filter((ip) => ip !== '');
  const all = service.metadata?.annotations ?? {};
  const pool = all[annotations.allocatedFromPool] ?? all[`${OLD_PREFIX}ip-allocated-from-pool`];
  return { ips, pool: pool === undefined || pool === '' ? undefined : pool };
}
