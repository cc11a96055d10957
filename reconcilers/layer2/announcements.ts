// Which addresses this node announces, and on which interfaces: for every LoadBalancer address, the
// nodes eligible for it (eligibility.ts), then the owner among them (election.ts). Pure, and the same
// on every node given the same facts, which is what keeps exactly one node answering for an address.
// Services sharing an address are judged together: the address goes to a node eligible for all of them.

import { electOwner } from './election.js';
import { eligibleNodes, type AdvertisementFacts, type EligibilityOptions, type EligibleNodes, type EndpointFacts, type NodeFacts } from './eligibility.js';

export interface AnnouncedService {
  readonly key: string; // namespace/name
  readonly ips: readonly string[];
  /** metallb.io/ip-allocated-from-pool: an address from no known pool is not announced. */
  readonly pool: string | undefined;
  readonly externalTrafficPolicy?: string;
  readonly endpoints: readonly EndpointFacts[];
}

export interface AnnouncementInputs {
  readonly self: string;
  readonly services: readonly AnnouncedService[];
  readonly nodes: readonly NodeFacts[];
  readonly advertisements: readonly AdvertisementFacts[];
  readonly options?: Partial<EligibilityOptions>;
}

export interface AddressDecision {
  readonly ip: string;
  readonly services: readonly string[];
  /** Undefined when no node may announce it; `reasons` says why for each node. */
  readonly owner: string | undefined;
  readonly eligible: readonly string[];
  readonly reasons: ReadonlyMap<string, string>;
  /** The owner's interfaces for this address. */
  readonly interfaces: readonly string[];
}

export interface AnnouncementPlan {
  readonly addresses: ReadonlyMap<string, AddressDecision>;
  /** What this node announces: address → interfaces. */
  readonly owned: ReadonlyMap<string, readonly string[]>;
  /** Services with at least one address this node announces → the interfaces used. */
  readonly ownedServices: ReadonlyMap<string, readonly string[]>;
}

export function planAnnouncements(inputs: AnnouncementInputs): AnnouncementPlan {
  const byIp = new Map<string, AnnouncedService[]>();
  // Judged in key order, so that what sharers merge (interfaces, reasons) never depends on list order.
  for (const service of [...inputs.services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (service.pool === undefined) continue;
    for (const ip of service.ips) {
      const sharing = byIp.get(ip);
      if (sharing === undefined) byIp.set(ip, [service]);
      else sharing.push(service);
    }
  }
  const addresses = new Map<string, AddressDecision>();
  const owned = new Map<string, readonly string[]>();
  const ownedServices = new Map<string, string[]>();
  // Eligibility depends on the address only through its pool, and on the Service only through whether
  // it has serving endpoints and, for externalTrafficPolicy Local, on which nodes: thousands of Services
  // share a handful of verdicts. Judging each one anew made a plan of 1,000 Services cost ~100 ms of CPU.
  const verdictsByFacts = new Map<string, EligibleNodes>();
  const judge = (ip: string, service: AnnouncedService): EligibleNodes => {
    const serving = service.endpoints.filter((endpoint) => endpoint.serving);
    const local = service.externalTrafficPolicy === 'Local';
    const key = [service.pool ?? '', serving.length > 0 ? 'serving' : 'none', local ? 'local' : 'cluster',
      local ? [...new Set(serving.map((endpoint) => endpoint.nodeName ?? ''))].sort().join(',') : ''].join('|');
    let verdict = verdictsByFacts.get(key);
    if (verdict === undefined) {
      verdict = eligibleNodes({
        address: { ip, pool: service.pool ?? '' },
        service: { externalTrafficPolicy: service.externalTrafficPolicy, endpoints: service.endpoints },
        advertisements: inputs.advertisements,
        options: inputs.options,
      }, inputs.nodes);
      verdictsByFacts.set(key, verdict);
    }
    return verdict;
  };
  for (const [ip, services] of [...byIp].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const verdicts = services.map((service) => judge(ip, service));
    const eligible = verdicts.length === 1 ? verdicts[0]!.eligible
      : verdicts.reduce<readonly string[]>((common, v) => common.filter((n) => v.eligible.includes(n)), verdicts[0]?.eligible ?? []);
    const reasons = new Map<string, string>();
    for (const verdict of verdicts) for (const [node, reason] of verdict.reasons) if (!reasons.has(node)) reasons.set(node, reason);
    const owner = electOwner(ip, eligible);
    const interfaces = owner === undefined ? []
      : verdicts.length === 1 ? verdicts[0]!.interfaces.get(owner) ?? [] : [...new Set(verdicts.flatMap((v) => v.interfaces.get(owner) ?? []))];
    addresses.set(ip, { ip, services: services.map((s) => s.key), owner, eligible, reasons, interfaces });
    if (owner !== inputs.self) continue;
    owned.set(ip, interfaces);
    for (const service of services) ownedServices.set(service.key, [...new Set([...(ownedServices.get(service.key) ?? []), ...interfaces])]);
  }
  return { addresses, owned, ownedServices };
}
