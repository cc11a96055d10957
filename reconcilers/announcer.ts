// The per-node announcer reconciler: turns the cluster's state into what this node says on the wire.
// One key ("announcements"): every change of the facts recomputes the whole plan (announcements.ts),
// which is cheap, and keeps the result consistent across Services sharing an address. Then, in order:
//   1. silence: addresses this node no longer owns are withdrawn at once;
//   2. speech: addresses it gained are announced (responder first, then the gratuitous burst);
//   3. status: the Services it announces are handed to the ServiceL2Status reconciler, which writes
//      them at its own pace (servicel2status.ts), and a nodeAssigned event is recorded on gaining one.
// Nothing here waits on the API. With no change in the facts a recompute announces, withdraws and
// writes nothing, so the plan converges instead of feeding itself (docs/decisions.md).
// A ticker (livenessChanged) re-queues it the moment a silent peer crosses its liveness deadline.

import type { Reconciler, Result } from '../operator/kit/controller.js';
import type { EventRecorder } from '../operator/kit/events.js';
import type { Informer } from '../operator/kit/informer.js';
import type { Logger } from '../operator/kit/log.js';
import { INTERFACES_ANNOTATION, heartbeatLeaseName, peerInterfaces, type HeartbeatLease } from './layer2/node-heartbeat.js';
import { objectKey, Services, type KubeObject } from '../operator/kit/resources.js';
import { sameJson } from '../operator/kit/status.js';
import type { IPAddressPool, L2Advertisement } from '../schemas/generated/types.js';
import { resolveAdvertisement } from './layer2/advertisements-status.js';
import { labelled } from './advertisements.js';
import { planAnnouncements, type AnnouncedService, type AnnouncementPlan } from './layer2/announcements.js';
import { endpointServes, wantedInterfaces, type AdvertisementFacts, type EligibilityOptions, type NodeFacts } from './layer2/eligibility.js';
import { firstPlanWaitMs, leaseRenewalSeen, listenedForMs, peerLiveness, type LeaseRenewalSeen, type LivenessTimings, type PeerLiveness } from './layer2/liveness.js';
import { annotations } from './allocator/service-request.js';
import type { SpeakerMetrics } from './observability/metrics.js';
import { AnnouncementTrace, FailoverTrace } from './observability/speaker-tracing.js';
import { GRATUITOUS_SCHEDULE_MS } from '../arp/index.js';
import { handles, type Service } from './services.js';

export const ANNOUNCER_KEY = 'announcements';
/** Adds at most this much to a failover or a first announcement (budgets: 1 s and 500 ms). */
export const MIN_INTERVAL_MS = 50;
export { NODE_LABEL, SERVICE_NAME_LABEL, SERVICE_NAMESPACE_LABEL, statusName } from './servicel2status.js';

/** What the announcer does on the wire: the L2Announcer of arp/ fits. */
export interface Wire {
  announce(ip: string, interfaces: readonly string[]): { ok: boolean };
  withdraw(ip: string): { ok: boolean };
  /** Applies the announces and withdraws made inside `work` as one change. */
  batch(work: () => void): void;
  /** What the advertisements ask of this node, owner or not: a responder lost on one of these stays a
   *  problem until repaired (arp/announcer.ts). */
  wantInterfaces?(interfaces: readonly string[], every: boolean): void;
  /** Whether a working responder answers for `ip`: a handover is lingered only while one does. */
  answerable?(ip: string): boolean;
  /** Re-sends the gratuitous schedule for an address still answered (a handover called off). */
  reassert?(ip: string): void;
}

/** What the heartbeat thread knows of the peers (reconcilers/layer2/peer-heartbeats.ts). */
export interface PeerSignals {
  lastHeardMs(node: string): number | undefined;
  goodbyeMs(node: string): number | undefined;
  /** When the peer was last heard joining (started, not yet answering). */
  joiningHeardMs(node: string): number | undefined;
  /** Up to when every heartbeat that arrived has been read. */
  heardUpToMs(): number | undefined;
  /** Since when a peer's heartbeat could be heard at all (the thread up, with the key). */
  listeningSinceMs(): number | undefined;
}

/** Where the Services this node announces go: the ServiceL2Status reconciler. */
export interface OwnedServicesSink {
  want(services: ReadonlyMap<string, readonly string[]>, deadPeers: readonly string[]): void;
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
  readonly services: Informer<Service>;
  readonly endpointSlices: Informer<EndpointSlice>;
  readonly nodes: Informer<Node>;
  readonly pools: Informer<IPAddressPool>;
  readonly advertisements: Informer<L2Advertisement>;
  readonly leases: Informer<HeartbeatLease>;
  readonly statuses: OwnedServicesSink;
  readonly peers: PeerSignals;
  readonly wire: Wire;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** This node's usable interfaces, as discovered locally. */
  readonly ownInterfaces: () => readonly string[];
  /** False while this node cannot answer for its addresses (a responder broken past the grace): it then
   *  claims none, and its peers, told goodbye, take them over. */
  readonly selfAnswering?: () => boolean;
  readonly metrics?: SpeakerMetrics;
  /** Trace each address gained (under its Service's trace, or a failover's): only when exporting. */
  readonly tracing?: boolean;
  readonly loadBalancerClass: string | undefined;
  readonly eligibility?: Partial<EligibilityOptions>;
  readonly liveness: LivenessTimings;
}

/** How long the next plan waits. A storm of changes (a thousand Services created at once) must not
 *  become a thousand full recomputes: plans are spaced by three times what the last one cost (~10 ms of
 *  CPU per 1,000 Services), so a storm takes at most a quarter of a core. A failover (a peer's liveness
 *  changed) waits only the minimum: at 10 × 5,000 on a starved machine a plan took 1–2 s, and spaced
 *  by three of them a SIGKILL was answered elsewhere after 3.9 s (p50) instead of in one plan. */
export function planDelayMs(last: { lastStartMs: number; lastPlanMs: number; nowMs: number; failover: boolean }): number {
  const spacing = last.failover ? MIN_INTERVAL_MS : Math.max(MIN_INTERVAL_MS, 3 * last.lastPlanMs);
  return Math.max(0, last.lastStartMs + spacing - last.nowMs);
}

/** How long a node keeps answering for an address it hands to a live peer (cordon, a label, a returning
 *  owner, endpoints that moved). Both nodes learn of such a change from the same watch event and plan
 *  on their own; withdrawing at once left the address unanswered until the heir's plan was done (51–73
 *  ms at 3 nodes, seconds at 10 × 5,000), and a client resolving it then waited a second for ARP's
 *  retry. Kept answering (requests only; the heir's gratuitous burst moves the clients), the handover
 *  is made before it is broken. Half a second covers the heir's plan at every scale measured below
 *  10 × 5,000 and stays well inside the 1 s locktime clients honour before they take a newer MAC. */
export const HANDOVER_LINGER_MS = 500;

/** What becomes of an address this node announces and the plan no longer gives it: withdrawn now when
 *  nobody else takes it (the Service gone, no eligible node), else kept until `lingerMs` after the
 *  handover began. */
export function handoverStep(step: { self: string; newOwner: string | undefined; since: number | undefined; nowMs: number; lingerMs: number }):
  { readonly withdraw: true } | { readonly withdraw: false; readonly untilMs: number } {
  if (step.newOwner === undefined || step.newOwner === step.self || step.lingerMs <= 0) return { withdraw: true };
  const untilMs = (step.since ?? step.nowMs) + step.lingerMs;
  return untilMs <= step.nowMs ? { withdraw: true } : { withdraw: false, untilMs };
}

export class AnnouncerReconciler implements Reconciler {
  /** address → interfaces, as told to the wire. */
  private readonly announced = new Map<string, readonly string[]>();
  /** address → when this node began handing it to another (handoverStep). */
  private readonly handingOver = new Map<string, number>();

  /** When this reconciler (this process) started: a peer is not judged dead for silence we could not hear. */
  private readonly startedMs = Date.now();

  constructor(private readonly deps: AnnouncerDeps) {}

  private lastStartMs = 0;
  private lastPlanMs = 0;
  private markFirstReconcile: () => void = () => undefined;
  /** Resolves when the first plan has been applied to the wire. */
  readonly firstReconcile = new Promise<void>((resolve) => (this.markFirstReconcile = resolve));

  async reconcile(): Promise<Result> {
    const listening = this.stillListening();
    if (listening > 0) return { requeueAfterMs: listening };
    // Each plan sees every change made while it waited.
    const wait = planDelayMs({ lastStartMs: this.lastStartMs, lastPlanMs: this.lastPlanMs, nowMs: Date.now(), failover: this.livenessChanged() });
    if (wait > 0) await this.pause(wait);
    this.lastStartMs = Date.now();
    const now = Date.now();
    const nodes = this.nodeFacts(now);
    const advertisements = this.advertisementFacts();
    const plan = planAnnouncements({
      self: this.deps.self, services: this.announcedServices(), nodes, advertisements, options: this.deps.eligibility,
    });
    const self = nodes.find((node) => node.name === this.deps.self);
    if (self !== undefined) {
      const wanted = wantedInterfaces(self.labels, advertisements);
      this.deps.wire.wantInterfaces?.(wanted.interfaces, wanted.every);
    }
    const planEnd = Date.now();
    this.lastPlanMs = planEnd - now;
    const newlyDead = this.noteLiveness(now);
    const traces = this.deps.tracing === true ? this.startTraces(plan, now, planEnd, newlyDead) : new Map<string, AnnouncementTrace>();
    const { gained, lost } = this.applyToWire(plan, traces);
    this.firstApplied = true;
    this.markFirstReconcile();
    const dead = [...this.verdicts].filter(([, verdict]) => !verdict.alive).map(([name]) => name);
    this.deps.statuses.want(plan.ownedServices, dead);
    this.recordGained(plan, gained);
    this.observe(plan, gained, lost, newlyDead);
    if (this.handingOver.size === 0) return {};
    const next = Math.min(...this.handingOver.values()) + HANDOVER_LINGER_MS;
    return { requeueAfterMs: Math.max(1, next - Date.now()) };
  }

  private firstApplied = false;
  private wake: (() => void) | undefined;

  /** Sleeps `ms`, or less if `urge` is called meanwhile. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => { clearTimeout(timer); resolve(); };
    });
    this.wake = undefined;
  }

  /** A peer's liveness changed: a plan waiting out the storm spacing goes now (planDelayMs). */
  urge(): void {
    this.wake?.();
  }

  /** How long our view of the peers needs to settle before the first plan (firstPlanWaitMs). A speaker
   *  listens, saying "joining", before it announces or says it is alive (speaker-program.ts): a first plan
   *  from an unsettled view either defers to a dead peer (nobody answers once the live peers hear us)
   *  or claims a live peer's addresses. */
  private stillListening(now = Date.now()): number {
    if (this.firstApplied) return 0;
    const listened = listenedForMs(this.deps.peers.listeningSinceMs(), this.deps.peers.heardUpToMs(), now);
    const unheard = this.peerNames().filter((name) => this.neverHeard(name, now)).length;
    return firstPlanWaitMs(listened, unheard, this.deps.liveness);
  }

  /** Neither heard (alive, joining or goodbye) nor seen renewing its Lease. */
  private neverHeard(name: string, now: number): boolean {
    const { peers } = this.deps;
    if (peers.lastHeardMs(name) !== undefined || peers.joiningHeardMs(name) !== undefined || peers.goodbyeMs(name) !== undefined) return false;
    const verdict = this.peerVerdict(name, now);
    return !(verdict.alive && verdict.via === 'lease');
  }

  private livenessSeen = '';
  private verdicts = new Map<string, PeerLiveness>();
  /** Peers judged alive at this pass and not at the last one. A peer says it is alive only once it
   *  announces what it owns (speaker-program.ts), so an address handed back to one needs no linger. */
  private readonly newlyAlive = new Set<string>();

  /** Logs each peer whose verdict changed, with why: the evidence behind every move of ownership.
   *  Returns the peers that died since the last pass, with when they were last heard. */
  private noteLiveness(now: number): Map<string, number> {
    this.livenessSeen = this.livenessSignature(now);
    const next = new Map(this.peerNames().map((name) => [name, this.peerVerdict(name, now)]));
    const newlyDead = new Map<string, number>();
    this.newlyAlive.clear();
    for (const [name, verdict] of next) {
      const before = this.verdicts.get(name);
      if (before?.alive === verdict.alive) continue;
      const fields = { peer: name, heardUpToLagMs: now - (this.deps.peers.heardUpToMs() ?? now) };
      if (verdict.alive) {
        this.deps.logger.info('peer alive', { ...fields, via: verdict.via });
        this.newlyAlive.add(name);
        continue;
      }
      this.deps.logger.info('peer dead', { ...fields, reason: verdict.reason });
      if (before === undefined) continue; // never seen alive: no failover
      this.deps.metrics?.peerDeclaredDead();
      newlyDead.set(name, this.deps.peers.goodbyeMs(name) ?? this.deps.peers.lastHeardMs(name) ?? now);
    }
    this.verdicts = next;
    return newlyDead;
  }

  /** Peers judged alive at the last pass (for the memberlist gauge). */
  peersAlive(): number {
    return [...this.verdicts.values()].filter((verdict) => verdict.alive).length;
  }

  /** Metrics after a pass: what is announced, what moved, and how long a failover took end to end. */
  private observe(plan: AnnouncementPlan, gained: ReadonlySet<string>, lost: number, newlyDead: ReadonlyMap<string, number>): void {
    const metrics = this.deps.metrics;
    if (metrics === undefined) return;
    metrics.setAnnounced([...plan.owned.keys()].flatMap((ip) => (plan.addresses.get(ip)?.services ?? []).map((service) => ({ service, ip }))));
    metrics.electionChanged(gained.size, lost);
    if (gained.size > 0) for (const lastSign of newlyDead.values()) metrics.failoverObserved((Date.now() - lastSign) / 1000);
  }

  /** One `announce` trace per address this pass gains: under a failover's trace when a peer just died,
   *  else under the Service's (the controller's traceparent annotation). Ended after the last
   *  gratuitous round. */
  private startTraces(plan: AnnouncementPlan, startedAt: number, planEnd: number, newlyDead: ReadonlyMap<string, number>): Map<string, AnnouncementTrace> {
    const traces = new Map<string, AnnouncementTrace>();
    const [deadPeer, lastSign] = [...newlyDead][0] ?? [];
    let failover: FailoverTrace | undefined;
    for (const ip of plan.owned.keys()) {
      if (this.announced.has(ip)) continue;
      const key = plan.addresses.get(ip)?.services[0] ?? '';
      const attributes = { service: key, ip, node: this.deps.self };
      if (deadPeer !== undefined && lastSign !== undefined) failover ??= FailoverTrace.start(deadPeer, this.deps.self, lastSign);
      const trace = failover !== undefined
        ? AnnouncementTrace.forFailover(failover, attributes, startedAt)
        : AnnouncementTrace.forService(this.deps.services.get(key)?.metadata.annotations, attributes, startedAt);
      trace.phase('plan', { startedAt, endedAt: planEnd });
      trace.phase('election', { startedAt: planEnd, endedAt: Date.now() }, { eligible: plan.addresses.get(ip)?.eligible.length ?? 0 });
      traces.set(ip, trace);
    }
    if (failover !== undefined) {
      const last = Math.max(...GRATUITOUS_SCHEDULE_MS);
      setTimeout(() => failover.end(), last + 10).unref();
    }
    return traces;
  }

  /** Whether any peer's liveness verdict changed since the last reconcile: called every few tens of ms
   *  (cheap), so a dead peer's addresses move as soon as its deadline passes, without a full recompute
   *  on every tick. */
  livenessChanged(now = Date.now()): boolean {
    return this.livenessSignature(now) !== this.livenessSeen;
  }

  private livenessSignature(now: number): string {
    return this.peerNames().map((name) => `${name}=${this.peerVerdict(name, now).alive ? 1 : 0}`).join(',');
  }

  private peerNames(): string[] {
    const { nodes, self } = this.deps;
    return nodes.list().map((node) => node.metadata.name ?? '').filter((name) => name !== self).sort();
  }

  private peerVerdict(name: string, now: number): PeerLiveness {
    const { leases, namespace, peers, liveness } = this.deps;
    const lease = leases.get(`${namespace}/${heartbeatLeaseName(name)}`);
    const lastHeardMs = peers.lastHeardMs(name);
    const goodbyeMs = peers.goodbyeMs(name);
    const joiningHeardMs = peers.joiningHeardMs(name);
    const heardUpToMs = peers.heardUpToMs();
    const listeningSinceMs = peers.listeningSinceMs();
    return peerLiveness({
      ...(listeningSinceMs === undefined ? {} : { listeningSinceMs }),
      startedMs: this.startedMs,
      ...(lastHeardMs === undefined ? {} : { lastHeardMs }),
      ...(goodbyeMs === undefined ? {} : { goodbyeMs }),
      ...(joiningHeardMs === undefined ? {} : { joiningHeardMs }),
      selfJoining: !this.firstApplied,
      ...(heardUpToMs === undefined ? {} : { heardUpToMs }),
      ...(lease === undefined ? {} : { leaseSeenMs: this.leaseSeen(lease) }),
      leaseDurationMs: (lease?.spec?.leaseDurationSeconds ?? 0) * 1000,
    }, now, liveness);
  }

  /** Withdraws first, then announces: never two of our addresses' answers overlapping a handover. */
  private applyToWire(plan: AnnouncementPlan, traces: ReadonlyMap<string, AnnouncementTrace>): { gained: Set<string>; lost: number } {
    const gained = new Set<string>();
    let lost = 0;
    this.deps.wire.batch(() => { lost = this.changeWire(plan, gained, traces); });
    for (const [ip, trace] of traces) {
      if (!gained.has(ip)) {
        trace.end();
        continue;
      }
      // The responder sends each round on GRATUITOUS_SCHEDULE_MS; the trace marks them on the same clock.
      GRATUITOUS_SCHEDULE_MS.forEach((delay, round) => setTimeout(() => {
        trace.gratuitousRound(round, ip.includes(':') ? 1 : 2);
        if (round === GRATUITOUS_SCHEDULE_MS.length - 1) trace.end();
      }, delay).unref());
    }
    return { gained, lost };
  }

  /** Withdraws, then announces; returns how many addresses were withdrawn. */
  private changeWire(plan: AnnouncementPlan, gained: Set<string>, traces: ReadonlyMap<string, AnnouncementTrace>): number {
    const { wire, logger } = this.deps;
    let lost = 0;
    const now = Date.now();
    for (const ip of [...this.announced.keys()]) {
      if (plan.owned.has(ip)) {
        if (this.handingOver.delete(ip)) {
          // The peer may have moved the clients already: take them back.
          wire.reassert?.(ip);
          logger.info('kept', { ip, reason: 'given back before the handover ended' });
        }
        continue;
      }
      const owner = plan.addresses.get(ip)?.owner;
      // Only while something here still answers for it (not on a link that went down), and not to a
      // peer that just came back: it announced before it said it was alive.
      const lingerMs = wire.answerable?.(ip) === false || (owner !== undefined && this.newlyAlive.has(owner)) ? 0 : HANDOVER_LINGER_MS;
      const step = handoverStep({ self: this.deps.self, newOwner: owner, since: this.handingOver.get(ip), nowMs: now, lingerMs });
      if (!step.withdraw) {
        if (!this.handingOver.has(ip)) logger.info('handing over', { ip, owner: owner ?? null, answeringForMs: step.untilMs - now });
        this.handingOver.set(ip, this.handingOver.get(ip) ?? now);
        continue;
      }
      wire.withdraw(ip);
      this.announced.delete(ip);
      this.handingOver.delete(ip);
      lost++;
      logger.info('withdrew', { ip, owner: owner ?? null });
    }
    for (const [ip, interfaces] of plan.owned) {
      const before = this.announced.get(ip);
      if (before !== undefined && sameJson(before, interfaces)) continue;
      const trace = traces.get(ip);
      const result = trace === undefined ? wire.announce(ip, interfaces) : trace.responderAdd(interfaces, () => wire.announce(ip, interfaces));
      if (!result.ok) {
        logger.warn('could not announce', { ip });
        continue;
      }
      this.announced.set(ip, interfaces);
      if (before === undefined) gained.add(ip);
      logger.info('announcing', { ip, interfaces });
    }
    return lost;
  }

  private recordGained(plan: AnnouncementPlan, gained: ReadonlySet<string>): void {
    const { self, services, events } = this.deps;
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
    const own = this.deps.ownInterfaces();
    return nodes.list().map((node) => {
      const name = node.metadata.name ?? '';
      const lease = leases.get(`${namespace}/${heartbeatLeaseName(name)}`);
      const isSelf = name === self;
      const live = isSelf ? (this.deps.selfAnswering?.() ?? true) : this.peerVerdict(name, now).alive;
      const published = lease?.metadata.annotations?.[INTERFACES_ANNOTATION];
      const interfaces = isSelf ? own : peerInterfaces(published, own);
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

  private readonly leaseSeenAt = new Map<string, LeaseRenewalSeen>();

  /** When the Lease's current renewTime was seen, on our clock (liveness.ts, leaseRenewalSeen). */
  private leaseSeen(lease: HeartbeatLease): number {
    const name = lease.metadata.name ?? '';
    const seen = leaseRenewalSeen(this.leaseSeenAt.get(name), lease.spec?.renewTime ?? '', Date.now());
    this.leaseSeenAt.set(name, seen);
    return seen.seenMs;
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

  /** Graceful stop, after the peers were told goodbye: silence everything this node announces. */
  withdrawAll(): void {
    this.deps.wire.batch(() => {
      for (const ip of this.announced.keys()) this.deps.wire.withdraw(ip);
    });
    this.announced.clear();
    this.handingOver.clear();
  }
}
