// The per-node announcer reconciler: turns the cluster's state into what this node says on the wire.
// One key ("announcements"): every change recomputes the whole plan (announcements.ts), which is
// cheap, and keeps the result consistent across Services sharing an address. Then, in this order:
//   1. silence: addresses this node no longer owns are withdrawn at once;
//   2. speech: addresses it gained are announced (responder first, then the gratuitous burst);
//   3. status: one ServiceL2Status per announced Service, and a nodeAssigned event on gaining one.
// A ticker (livenessChanged) re-queues it the moment a silent peer crosses its liveness deadline.

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reconciler, Result } from '../operator/controller.js';
import type { EventRecorder } from '../operator/events.js';
import type { Informer } from '../operator/informer.js';
import { isStatus, type KubeClient } from '../operator/kube-client.js';
import type { Logger } from '../operator/log.js';
import { INTERFACES_ANNOTATION, heartbeatLeaseName, type HeartbeatLease } from '../operator/node-heartbeat.js';
import { objectKey, ServiceL2Statuses, Services, type KubeObject } from '../operator/resources.js';
import { applyStatus, fieldManagers, sameJson } from '../operator/status.js';
import type { IPAddressPool, L2Advertisement, ServiceL2Status } from '../schemas/generated/types.js';
import { resolveAdvertisement } from './advertisements-status.js';
import { labelled } from './advertisements.js';
import { planAnnouncements, type AnnouncedService, type AnnouncementPlan } from './announcements.js';
import { endpointServes, type AdvertisementFacts, type EligibilityOptions, type NodeFacts } from './eligibility.js';
import { peerLiveness, type LivenessTimings } from './liveness.js';
import { annotations } from './service-request.js';
import { handles, type Service } from './services.js';

export const ANNOUNCER_KEY = 'announcements';
/** Adds at most this much to a failover or a first announcement (budgets: 1 s and 500 ms). */
export const MIN_INTERVAL_MS = 50;
export const NODE_LABEL = 'metallb.io/node';
export const SERVICE_NAME_LABEL = 'metallb.io/service-name';
export const SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';

/** What the announcer does on the wire: the L2Announcer of arp/ fits. */
export interface Wire {
  announce(ip: string, interfaces: readonly string[]): { ok: boolean };
  withdraw(ip: string): { ok: boolean };
}

export interface PeerSignals {
  readonly heard: ReadonlyMap<string, number>;
  readonly goodbyes: ReadonlyMap<string, number>;
}

export interface Node extends KubeObject {
  spec?: { unschedulable?: boolean; taints?: Array<{ key: string; value?: string; effect?: string }> };
  status?: { conditions?: Array<{ type: string; status: string }>; addresses?: Array<{ type: string; address: string }> };
}

export interface EndpointSlice extends KubeObject {
  endpoints?: Array<{ nodeName?: string; conditions?: { ready?: boolean | null; serving?: boolean | null } }>;
}

export interface AnnouncerDeps {
  readonly self: string;
  readonly namespace: string;
  readonly client: KubeClient;
  readonly services: Informer<Service>;
  readonly endpointSlices: Informer<EndpointSlice>;
  readonly nodes: Informer<Node>;
  readonly pools: Informer<IPAddressPool>;
  readonly advertisements: Informer<L2Advertisement>;
  readonly leases: Informer<HeartbeatLease>;
  readonly statuses: Informer<ServiceL2Status>;
  readonly peers: PeerSignals;
  readonly wire: Wire;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** This node's usable interfaces, as discovered locally. */
  readonly ownInterfaces: () => readonly string[];
  readonly loadBalancerClass: string | undefined;
  readonly eligibility?: Partial<EligibilityOptions>;
  readonly liveness: LivenessTimings;
}

export function statusName(node: string, serviceKey: string): string {
  return `l2-${createHash('sha256').update(`${node}/${serviceKey}`).digest('hex').slice(0, 12)}`;
}

export class AnnouncerReconciler implements Reconciler {
  /** address → interfaces, as told to the wire. */
  private readonly announced = new Map<string, readonly string[]>();

  constructor(private readonly deps: AnnouncerDeps) {}

  private lastStartMs = 0;
  private markFirstReconcile: () => void = () => undefined;
  /** Resolves when the first plan has been applied to the wire. */
  readonly firstReconcile = new Promise<void>((resolve) => (this.markFirstReconcile = resolve));

  async reconcile(): Promise<Result> {
    // A storm of changes (a thousand Services created at once) must not become a thousand full
    // recomputes: at most one every MIN_INTERVAL_MS, each seeing every change made in between.
    const wait = this.lastStartMs + MIN_INTERVAL_MS - Date.now();
    if (wait > 0) await sleep(wait);
    this.lastStartMs = Date.now();
    const now = Date.now();
    const plan = planAnnouncements({
      self: this.deps.self,
      services: this.announcedServices(),
      nodes: this.nodeFacts(now),
      advertisements: this.advertisementFacts(),
      options: this.deps.eligibility,
    });
    const gained = this.applyToWire(plan);
    this.markFirstReconcile();
    await this.writeStatuses(plan, gained);
    this.livenessSeen = this.livenessSignature(now);
    return {};
  }

  private livenessSeen = '';

  /** Whether any peer's liveness verdict changed since the last reconcile: called every few tens of ms
   *  (cheap), so a dead peer's addresses move as soon as its deadline passes, without a full recompute
   *  on every tick. */
  livenessChanged(now = Date.now()): boolean {
    return this.livenessSignature(now) !== this.livenessSeen;
  }

  private livenessSignature(now: number): string {
    const { nodes, self } = this.deps;
    return nodes.list().map((node) => node.metadata.name ?? '').filter((name) => name !== self).sort()
      .map((name) => `${name}=${this.peerAlive(name, now) ? 1 : 0}`).join(',');
  }

  private peerAlive(name: string, now: number): boolean {
    const { leases, namespace, peers, liveness } = this.deps;
    const lease = leases.get(`${namespace}/${heartbeatLeaseName(name)}`);
    return peerLiveness({
      lastHeardMs: peers.heard.get(name),
      goodbyeMs: peers.goodbyes.get(name),
      leaseSeenMs: lease === undefined ? undefined : this.leaseSeen(lease),
      leaseDurationMs: (lease?.spec?.leaseDurationSeconds ?? 0) * 1000,
    }, now, liveness).alive;
  }

  /** Withdraws first, then announces: never two of our addresses' answers overlapping a handover. */
  private applyToWire(plan: AnnouncementPlan): Set<string> {
    const { wire, logger } = this.deps;
    for (const ip of [...this.announced.keys()]) {
      if (plan.owned.has(ip)) continue;
      wire.withdraw(ip);
      this.announced.delete(ip);
      logger.info('withdrew', { ip, owner: plan.addresses.get(ip)?.owner ?? null });
    }
    const gained = new Set<string>();
    for (const [ip, interfaces] of plan.owned) {
      const before = this.announced.get(ip);
      if (before !== undefined && sameJson(before, interfaces)) continue;
      const result = wire.announce(ip, interfaces);
      if (!result.ok) {
        logger.warn('could not announce', { ip });
        continue;
      }
      this.announced.set(ip, interfaces);
      if (before === undefined) gained.add(ip);
      logger.info('announcing', { ip, interfaces });
    }
    return gained;
  }

  private async writeStatuses(plan: AnnouncementPlan, gained: ReadonlySet<string>): Promise<void> {
    const { self, namespace, client, statuses, services, events } = this.deps;
    const wanted = new Map([...plan.ownedServices].map(([key, interfaces]) => [statusName(self, key), { key, interfaces }]));
    for (const existing of statuses.list()) {
      const name = existing.metadata.name ?? '';
      if (existing.metadata.labels?.[NODE_LABEL] !== self || wanted.has(name)) continue;
      await client.delete(ServiceL2Statuses, namespace, name).catch((error: unknown) => {
        if (!isStatus(error, 404)) throw error;
      });
    }
    for (const [name, { key, interfaces }] of wanted) {
      const [serviceNamespace = '', serviceName = ''] = key.split('/');
      const status = { node: self, serviceName, serviceNamespace, interfaces: interfaces.map((i) => ({ name: i })) };
      const existing = statuses.get(`${namespace}/${name}`);
      if (existing === undefined) {
        const labels = { [NODE_LABEL]: self, [SERVICE_NAME_LABEL]: serviceName, [SERVICE_NAMESPACE_LABEL]: serviceNamespace };
        await client.create(ServiceL2Statuses, { apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name, namespace, labels }, ...{ spec: {} } })
          .catch((error: unknown) => {
            if (!isStatus(error, 409)) throw error;
          });
      }
      if (existing === undefined || !sameJson(existing.status, status)) {
        await applyStatus(client, ServiceL2Statuses, { metadata: { name, namespace } }, status, fieldManagers.announcer);
      }
    }
    for (const ip of gained) {
      for (const key of plan.addresses.get(ip)?.services ?? []) {
        const service = services.get(key);
        if (service === undefined) continue;
        events.record(Services, service, { type: 'Normal', reason: 'nodeAssigned', action: 'Announce',
          note: `announcing from node "${self}" with protocol "layer2"` });
      }
    }
  }

  private announcedServices(): AnnouncedService[] {
    const { services, endpointSlices, loadBalancerClass } = this.deps;
    const endpointsByService = new Map<string, AnnouncedService['endpoints'][number][]>();
    for (const slice of endpointSlices.list()) {
      const owner = slice.metadata.labels?.['kubernetes.io/service-name'];
      if (owner === undefined) continue;
      const key = `${slice.metadata.namespace}/${owner}`;
      const list = endpointsByService.get(key) ?? [];
      for (const endpoint of slice.endpoints ?? []) {
        list.push({ ...(endpoint.nodeName === undefined ? {} : { nodeName: endpoint.nodeName }), serving: endpointServes(endpoint.conditions) });
      }
      endpointsByService.set(key, list);
    }
    return services.list().filter((s) => handles(s, loadBalancerClass)).map((service) => {
      const key = objectKey(service);
      return {
        key,
        ips: (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter((ip) => ip !== ''),
        pool: service.metadata.annotations?.[annotations.allocatedFromPool],
        ...(service.spec?.externalTrafficPolicy === undefined ? {} : { externalTrafficPolicy: service.spec.externalTrafficPolicy }),
        endpoints: endpointsByService.get(key) ?? [],
      };
    });
  }

  private nodeFacts(now: number): NodeFacts[] {
    const { nodes, leases, namespace, self } = this.deps;
    return nodes.list().map((node) => {
      const name = node.metadata.name ?? '';
      const lease = leases.get(`${namespace}/${heartbeatLeaseName(name)}`);
      const isSelf = name === self;
      const live = isSelf || this.peerAlive(name, now);
      const published = lease?.metadata.annotations?.[INTERFACES_ANNOTATION];
      const interfaces = isSelf ? this.deps.ownInterfaces() : (published ?? '').split(',').filter((i) => i !== '');
      return {
        name,
        labels: node.metadata.labels ?? {},
        ...(node.spec?.unschedulable === undefined ? {} : { unschedulable: node.spec.unschedulable }),
        taints: node.spec?.taints ?? [],
        conditions: node.status?.conditions ?? [],
        live,
        interfaces,
      };
    });
  }

  private readonly leaseSeenAt = new Map<string, { renewTime: string; seenMs: number }>();

  /** When we first saw the Lease's current renewTime, on our clock (clocks of nodes never compare). */
  private leaseSeen(lease: HeartbeatLease): number {
    const name = lease.metadata.name ?? '';
    const renewTime = lease.spec?.renewTime ?? '';
    const known = this.leaseSeenAt.get(name);
    if (known?.renewTime === renewTime) return known.seenMs;
    const seenMs = Date.now();
    this.leaseSeenAt.set(name, { renewTime, seenMs });
    return seenMs;
  }

  private advertisementFacts(): AdvertisementFacts[] {
    const { advertisements, pools, nodes } = this.deps;
    const poolList = pools.list().map(labelled);
    const nodeList = nodes.list().map(labelled);
    return advertisements.list().map((ad) => ({
      name: ad.metadata.name ?? '',
      pools: resolveAdvertisement(ad, poolList, nodeList).pools,
      nodeSelectors: ad.spec?.nodeSelectors ?? [],
      interfaces: ad.spec?.interfaces ?? [],
    }));
  }

  /** Graceful stop: silence everything this node announces. */
  withdrawAll(): void {
    for (const ip of this.announced.keys()) this.deps.wire.withdraw(ip);
    this.announced.clear();
  }
}
