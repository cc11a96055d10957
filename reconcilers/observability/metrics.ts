// MetalLB's metrics, under MetalLB's names, types, labels and help texts (go.universe.tf/metallb v0.15:
// internal/allocator/stats.go, internal/layer2/stats.go, speaker/main.go, internal/k8s/controllers/stats.go),
// so the guides' PrometheusRule and existing dashboards work unchanged; and l2lb's own, prefixed `l2lb_`,
// with `memberlist` in the names of peer health so the guide's `wget … /metrics | grep memberlist` finds it.
//
// Everything that already lives somewhere (the informer caches, the responders' counters, the peers'
// last-heard times) is read at scrape time by a `collect` callback: no copy to keep in sync, and a deleted
// pool's series disappear with the pool.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { KitMetrics } from '../../operator/kit/metrics.js';
import type { Condition, IPAddressPool } from '../../schemas/generated/types.js';
import type { Layer2CountersSnapshot } from '../../arp/counters.js';
import { parseAddressRange } from '../../arp/ipaddr.js';
import { poolCapacity } from '../allocator/pools-status.js';
import { heldAddresses, type ServiceLike } from '../allocator/service-request.js';

// ---------------------------------------------------------------- metallb_k8s_client_* (both programs)

/** How the configuration stands, as MetalLB's two booleans say it. */
export interface ConfigHealth {
  /** The configuration (pools, advertisements) was read at least once: the caches synced. */
  readonly loaded: boolean;
  /** The program runs on an older configuration because the latest could not be used. */
  readonly stale: boolean;
}

/** `metallb_k8s_client_*`: every reconcile is one processed update (MetalLB counts its reconciles the same
 *  way), a failed one an update error; the two booleans are read from `health` at scrape time. */
export function registerK8sClientMetrics(registry: Registry, kit: KitMetrics, health: () => ConfigHealth): void {
  const registers = [registry];
  const updates = new Counter({ name: 'metallb_k8s_client_updates_total', help: 'Number of k8s object updates that have been processed.', registers });
  const errors = new Counter({ name: 'metallb_k8s_client_update_errors_total', help: 'Number of k8s object updates that failed for some reason.', registers });
  kit.onReconciled(({ outcome }) => {
    updates.inc();
    if (outcome === 'error') errors.inc();
  });
  new Gauge({
    name: 'metallb_k8s_client_config_loaded_bool', help: '1 if the MetalLB configuration was successfully loaded at least once.', registers,
    collect() { this.set(health().loaded ? 1 : 0); },
  });
  new Gauge({
    name: 'metallb_k8s_client_config_stale_bool', help: '1 if running on a stale configuration, because the latest config failed to load.', registers,
    collect() { this.set(health().stale ? 1 : 0); },
  });
}

/** Stale: some pool's latest spec is unusable, so the allocator keeps that pool's last good ranges. */
export function configStale(pools: readonly IPAddressPool[]): boolean {
  return pools.some((pool) => {
    const ready = (pool.status?.conditions ?? []).find((c: Condition) => c.type === 'Ready');
    return ready?.status === 'False' && ready.reason === 'InvalidAddresses';
  });
}

// ---------------------------------------------------------------- metallb_allocator_* (controller)

export interface PoolGauges {
  readonly pool: string;
  readonly addresses: number;
  readonly ipv4Addresses: number;
  readonly ipv6Addresses: number;
  readonly inUse: number;
  readonly ipv4InUse: number;
  readonly ipv6InUse: number;
  readonly servicesAllocated: number;
}

/** The allocator gauges of every pool, from what the caches hold: capacity from each pool's spec (never
 *  enumerating a range), use from the Services the controller has given addresses (their
 *  `metallb.io/ip-allocated-from-pool` annotation and ingress). An address shared by several Services
 *  counts once, as in MetalLB. Pure. */
export function poolGauges(pools: readonly IPAddressPool[], services: readonly ServiceLike[]): PoolGauges[] {
  const used = new Map<string, { ipv4: Set<string>; ipv6: Set<string>; services: number }>();
  for (const service of services) {
    const held = heldAddresses(service);
    if (held.pool === undefined || held.ips.length === 0) continue;
    let entry = used.get(held.pool);
    if (entry === undefined) used.set(held.pool, (entry = { ipv4: new Set(), ipv6: new Set(), services: 0 }));
    entry.services++;
    for (const ip of held.ips) {
      const parsed = parseAddressRange(ip);
      if (parsed.ok) (parsed.value.family === 4 ? entry.ipv4 : entry.ipv6).add(ip);
    }
  }
  return pools.map((pool) => {
    const name = pool.metadata.name ?? '';
    const capacity = poolCapacity(pool.spec);
    const use = used.get(name);
    const ipv4InUse = use?.ipv4.size ?? 0;
    const ipv6InUse = use?.ipv6.size ?? 0;
    // A float64 gauge holds a /64's 2^64 only approximately; Prometheus has no other number type.
    return {
      pool: name,
      addresses: Number(capacity.ipv4 + capacity.ipv6),
      ipv4Addresses: Number(capacity.ipv4),
      ipv6Addresses: Number(capacity.ipv6),
      inUse: ipv4InUse + ipv6InUse,
      ipv4InUse,
      ipv6InUse,
      servicesAllocated: use?.services ?? 0,
    };
  }).sort((a, b) => (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0));
}

const ALLOCATOR_GAUGES: ReadonlyArray<readonly [keyof Omit<PoolGauges, 'pool'>, string, string]> = [
  ['addresses', 'metallb_allocator_addresses_total', 'Number of usable IP addresses, per pool'],
  ['ipv4Addresses', 'metallb_allocator_ipv4_addresses_total', 'Number of usable IPV4 addresses, per pool'],
  ['ipv6Addresses', 'metallb_allocator_ipv6_addresses_total', 'Number of usable IPV6 addresses, per pool'],
  ['inUse', 'metallb_allocator_addresses_in_use_total', 'Number of IP addresses in use, per pool'],
  ['ipv4InUse', 'metallb_allocator_ipv4_addresses_in_use_total', 'Number of IPV4 addresses in use, per pool'],
  ['ipv6InUse', 'metallb_allocator_ipv6_addresses_in_use_total', 'Number of IPV6 addresses in use, per pool'],
  ['servicesAllocated', 'metallb_allocator_services_allocated_total', 'Number of services allocated, per pool'],
];

/** The seven `metallb_allocator_*{pool}` gauges, computed from `rows` at every scrape: a deleted pool has
 *  no row, so its series are gone from the next scrape on. */
export function registerAllocatorMetrics(registry: Registry, rows: () => readonly PoolGauges[]): void {
  // One computation per scrape, shared by the seven gauges (prom-client collects them one after another).
  let cached: { at: number; rows: readonly PoolGauges[] } | undefined;
  const current = (): readonly PoolGauges[] => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > 100) cached = { at: now, rows: rows() };
    return cached.rows;
  };
  for (const [field, name, help] of ALLOCATOR_GAUGES) {
    new Gauge({
      name, help, labelNames: ['pool'], registers: [registry],
      collect() {
        this.reset();
        for (const row of current()) this.set({ pool: row.pool }, row[field]);
      },
    });
  }
}

// ---------------------------------------------------------------- speaker

/** One address this node announces for one Service (`namespace/name`). */
export interface Announced {
  readonly service: string;
  readonly ip: string;
}

/** What the speaker's scrape reads from the parts the speaker owns. */
export interface SpeakerSources {
  readonly node: string;
  /** The responders' counters (arp/counters.ts `Layer2Counters.snapshot`). */
  readonly layer2: () => Layer2CountersSnapshot;
  /** Peers (other speakers) judged alive now, and all peers known. */
  readonly peers: () => { readonly alive: number; readonly known: number };
  /** Per interface: does its responder work (1) or has it a problem (0). */
  readonly responders: () => ReadonlyMap<string, boolean>;
}

/** Failover durations from a peer's last sign of life to our first gratuitous frame: the budget is 1 s. */
const FAILOVER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.6, 0.75, 1, 1.5, 2.5, 5, 10, 30];

export class SpeakerMetrics {
  private readonly announced: Gauge<'service' | 'protocol' | 'node' | 'ip'>;
  private readonly electionChanges: Counter<'change'>;
  private readonly failover: Histogram;
  private readonly heartbeatDrops: Counter<'reason'>;
  private readonly peerDeaths: Counter;
  private current = new Map<string, Announced>();

  constructor(registry: Registry, private readonly sources: SpeakerSources) {
    const registers = [registry];
    this.announced = new Gauge({
      name: 'metallb_speaker_announced',
      help: 'Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.',
      labelNames: ['service', 'protocol', 'node', 'ip'], registers,
    });
    const layer2 = (name: keyof Pick<Layer2CountersSnapshot, 'metallb_layer2_requests_received' | 'metallb_layer2_responses_sent' | 'metallb_layer2_gratuitous_sent'>, help: string): void => {
      new Counter({
        name, help, labelNames: ['ip'], registers,
        // The responders count; a scrape copies their totals (reset, then the absolute value).
        collect() {
          this.reset();
          for (const [ip, value] of Object.entries(sources.layer2()[name])) this.inc({ ip }, value);
        },
      });
    };
    layer2('metallb_layer2_requests_received', 'Number of layer2 requests received for owned IPs');
    layer2('metallb_layer2_responses_sent', 'Number of layer2 responses sent for owned IPs in response to requests');
    layer2('metallb_layer2_gratuitous_sent', 'Number of gratuitous layer2 packets sent for owned IPs as a result of failovers');
    new Counter({
      name: 'l2lb_layer2_malformed_dropped_total', help: 'Frames dropped by the responders because they were malformed', registers,
      collect() {
        this.reset();
        this.inc(sources.layer2().l2lb_layer2_malformed_dropped_total);
      },
    });
    new Gauge({
      name: 'l2lb_memberlist_peers_alive', help: 'Other speakers this speaker judges alive (UDP heartbeats on port 7946, or their heartbeat Lease)', registers,
      collect() { this.set(sources.peers().alive); },
    });
    new Gauge({
      name: 'l2lb_memberlist_peers', help: 'Other speakers this speaker knows of (nodes with an InternalIP)', registers,
      collect() { this.set(sources.peers().known); },
    });
    this.heartbeatDrops = new Counter({
      name: 'l2lb_memberlist_heartbeat_drops_total', help: 'Heartbeat datagrams received and dropped, by reason (reconcilers/layer2/heartbeat-auth.ts DROP_REASONS: bad-mac, replay, spoofed-source, ...)',
      labelNames: ['reason'], registers,
    });
    this.peerDeaths = new Counter({ name: 'l2lb_memberlist_peer_failures_total', help: 'Times a peer was declared dead (silent past its deadline)', registers });
    this.electionChanges = new Counter({
      name: 'l2lb_speaker_election_changes_total', help: 'Addresses this node gained or lost in an election',
      labelNames: ['change'], registers,
    });
    this.failover = new Histogram({
      name: 'l2lb_speaker_failover_duration_seconds', help: 'From a dead peer\'s last sign of life to this node announcing the addresses it took over',
      buckets: FAILOVER_BUCKETS, registers,
    });
    new Gauge({
      name: 'l2lb_speaker_responder_up', help: '1 when the ARP/NDP responder on the interface works, 0 when it has a problem',
      labelNames: ['interface'], registers,
      collect() {
        this.reset();
        for (const [name, up] of sources.responders()) this.set({ interface: name }, up ? 1 : 0);
      },
    });
    this.electionChanges.inc({ change: 'gained' }, 0);
    this.electionChanges.inc({ change: 'lost' }, 0);
  }

  /** What this node announces now (the whole set, after every plan); withdrawn addresses lose their series. */
  setAnnounced(entries: Iterable<Announced>): void {
    const next = new Map<string, Announced>();
    for (const entry of entries) next.set(`${entry.service} ${entry.ip}`, entry);
    const { node } = this.sources;
    for (const [key, { service, ip }] of this.current) {
      if (!next.has(key)) this.announced.remove({ service, protocol: 'layer2', node, ip });
    }
    for (const { service, ip } of next.values()) this.announced.set({ service, protocol: 'layer2', node, ip }, 1);
    this.current = next;
  }

  /** After an election: how many addresses this node gained and lost. */
  electionChanged(gained: number, lost: number): void {
    if (gained > 0) this.electionChanges.inc({ change: 'gained' }, gained);
    if (lost > 0) this.electionChanges.inc({ change: 'lost' }, lost);
  }

  /** A failover completed here: `seconds` from the dead peer's last heartbeat to our announcement. */
  failoverObserved(seconds: number): void {
    this.failover.observe(seconds);
  }

  heartbeatDropped(reason: string): void {
    this.heartbeatDrops.inc({ reason });
  }

  peerDeclaredDead(): void {
    this.peerDeaths.inc();
  }
}

/** Per interface, whether its responder works, from `L2Announcer.status()` (address → interface →
 *  "announcing" or the reason it is not) and the interfaces found usable: an interface is up when every
 *  address meant for it is announced there. Pure. */
export function responderHealth(status: Readonly<Record<string, Readonly<Record<string, string>>>>, usable: readonly string[]): Map<string, boolean> {
  const health = new Map<string, boolean>(usable.map((name) => [name, true]));
  for (const perInterface of Object.values(status)) {
    for (const [name, state] of Object.entries(perInterface)) {
      if (name === '*') continue; // "no usable interface at all": no responder to judge
      health.set(name, (health.get(name) ?? true) && state === 'announcing');
    }
  }
  return health;
}
