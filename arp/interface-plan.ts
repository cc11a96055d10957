// The wire's view of the announcement plan (reconcilers/layer2/announcements.ts decides which addresses
// this node announces and on which configured interfaces; that is the one AnnouncementPlan): which
// addresses each existing interface answers for. Pure, so the announcer's rescans and its tests share one rule.
import type { Discovery, NetworkInterface } from './interfaces.js';

export interface AnnouncementRequest {
  readonly ip: string;
  /** Interface names; empty means every usable interface, as an L2Advertisement without `interfaces`. */
  readonly interfaces: readonly string[];
}

export interface InterfacePlan {
  /** Interface name → addresses it answers for. */
  readonly byInterface: ReadonlyMap<string, ReadonlySet<string>>;
  readonly interfaces: ReadonlyMap<string, NetworkInterface>;
  /** Address → interface → why it is not announced there. */
  readonly notAnnounced: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

export function planInterfaces(requests: Iterable<AnnouncementRequest>, discovery: Discovery): InterfacePlan {
  const usable = new Map(discovery.usable.map((iface) => [iface.name, iface]));
  const unusable = new Map(discovery.unusable.map((entry) => [entry.name, entry.reason]));
  const byInterface = new Map<string, Set<string>>();
  const interfaces = new Map<string, NetworkInterface>();
  const notAnnounced = new Map<string, Map<string, string>>();
  for (const request of requests) {
    const names = request.interfaces.length === 0 ? [...usable.keys()] : request.interfaces;
    const reasons = new Map<string, string>();
    for (const name of names) {
      const iface = usable.get(name);
      if (iface === undefined) {
        reasons.set(name, unusable.get(name) ?? `${name}: no such interface`);
        continue;
      }
      interfaces.set(name, iface);
      const addresses = byInterface.get(name) ?? new Set<string>();
      addresses.add(request.ip);
      byInterface.set(name, addresses);
    }
    if (names.length === 0) reasons.set('*', 'no usable interface on this node');
    if (reasons.size > 0) notAnnounced.set(request.ip, reasons);
  }
  return { byInterface, interfaces, notAnnounced };
}
