// The speaker program (the announcer reconciler's), started by speaker-main.ts: one process per node
// (DaemonSet, host network, CAP_NET_RAW), the node's name from NODE_NAME or --node.

import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { L2Announcer } from '../arp/announcer.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ApiGate } from './kit/api-gate.js';
import { collectProcessMetrics, kitMetrics, METRICS_PATH, metricsRoute, registry } from './kit/metrics.js';
import { startTracing } from './kit/tracing.js';
import { configStale, registerK8sClientMetrics, responderHealth, SpeakerMetrics } from '../reconcilers/observability/metrics.js';
import { cachedContentChanged, controllerFor, specChanged } from './kit/controller.js';
import { EventRecorder } from './kit/events.js';
import { KubeClient } from './kit/kube-client.js';
import { loadKubeConfig } from './kit/kubeconfig.js';
import { createLogger, type Logger } from './kit/log.js';
import { Manager } from './kit/manager.js';
import { HEARTBEAT_LABEL, NodeHeartbeat, publishedInterfacesChanged, type HeartbeatLease } from '../reconcilers/layer2/node-heartbeat.js';
import { parseDuration, parsePort } from './options.js';
import { MEMBERLIST_PORT, PeerHeartbeats } from '../reconcilers/layer2/peer-heartbeats.js';
import { EndpointSlices, Leases, Nodes, Secrets, Services, type KubeObject } from './kit/resources.js';
import { IPAddressPools, L2Advertisements, ServiceL2Statuses } from '../schemas/resources.js';
import { countDrop, emptyDropTally, MEMBERLIST_SECRET } from '../reconcilers/layer2/heartbeat-auth.js';
import { memberlistSecretSelector } from '../reconcilers/memberlist-secret.js';
import type { IPAddressPool, L2Advertisement, ServiceL2Status } from '../schemas/generated/types.js';
import { ANNOUNCER_KEY, AnnouncerReconciler, NODE_LABEL, type EndpointSlice, type Node } from '../reconcilers/announcer.js';
import { defaultLivenessTimings } from '../reconcilers/layer2/liveness.js';
import { SteadyInterfaces } from '../reconcilers/layer2/steady-interfaces.js';
import { endpointSliceAsAnnounced, nodeAsAnnounced, serviceAsAnnounced } from '../reconcilers/layer2/speaker-cache.js';
import { ServiceL2StatusReconciler } from '../reconcilers/servicel2status.js';
import type { Service } from '../reconcilers/services.js';

/** How often peers' liveness is re-judged: the failover budget is 1 s, the UDP deadline 500 ms. */
const LIVENESS_TICK_MS = 25;

function parseAnnouncerOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      node: { type: 'string' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'http-port': { type: 'string', default: '7472' },
      'http-host': { type: 'string', default: '0.0.0.0' },
      'memberlist-port': { type: 'string', default: String(MEMBERLIST_PORT) },
      'udp-deadline': { type: 'string', default: '500ms' },
      'answer-grace': { type: 'string', default: '500ms' },
      'lb-class': { type: 'string' },
      'announce-from-cordoned': { type: 'boolean', default: false },
    },
  });
  const node = values.node ?? env.NODE_NAME ?? hostname();
  return {
    node,
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    namespace: values.namespace ?? env.METALLB_NAMESPACE ?? env.POD_NAMESPACE ?? 'metallb-system',
    httpPort: parsePort('http-port', values['http-port']),
    httpHost: values['http-host'],
    memberlistPort: parsePort('memberlist-port', values['memberlist-port']),
    udpDeadlineMs: parseDuration('udp-deadline', values['udp-deadline']),
    answerGraceMs: parseDuration('answer-grace', values['answer-grace']),
    loadBalancerClass: values['lb-class'] === '' ? undefined : values['lb-class'],
    announceFromCordoned: values['announce-from-cordoned'],
  };
}

export async function main(): Promise<void> {
  const options = parseAnnouncerOptions(process.argv.slice(2));
  const logger = createLogger({ fields: { component: 'speaker', node: options.node } });
  const tracing = await startTracing('l2lb-speaker');
  const client = await KubeClient.create(loadKubeConfig(options.kubeconfig), `l2lb-speaker/${options.node}`);
  const manager = new Manager({ client, logger, httpPort: options.httpPort, httpHost: options.httpHost });
  const ns = { namespace: options.namespace };
  // Every Service, EndpointSlice and Node of the cluster is cached, each cut down to what we read.
  const services = manager.informer<Service>(Services, { transform: serviceAsAnnounced });
  const endpointSlices = manager.informer<EndpointSlice>(EndpointSlices, { transform: endpointSliceAsAnnounced });
  const nodes = manager.informer<Node>(Nodes, { transform: nodeAsAnnounced });
  const pools = manager.informer<IPAddressPool>(IPAddressPools, ns);
  const advertisements = manager.informer<L2Advertisement>(L2Advertisements, ns);
  const leases = manager.informer<HeartbeatLease>(Leases, { ...ns, labelSelector: `${HEARTBEAT_LABEL}=true` });
  const statuses = manager.informer<ServiceL2Status>(ServiceL2Statuses, { ...ns, labelSelector: `${NODE_LABEL}=${options.node}` });
  const memberlist = manager.informer<Secret>(Secrets, { ...ns, ...memberlistSecretSelector });

  let healthChanged: () => void = () => undefined;
  let interfacesChanged: (names: readonly string[]) => void = () => undefined;
  // One scanner: the wire's, which acts on link events at once. The plan and the Lease read its view, so
  // a flap that the wire repaired in place is never seen by the plan 2 s late (issue 10).
  const wire = new L2Announcer({
    logger,
    onHealthChange: () => healthChanged(),
    onInterfacesChange: (names) => interfacesChanged(names),
  });
  await wire.start(); // the first plan must know this node's interfaces, or it would judge itself ineligible
  const heartbeat = new NodeHeartbeat(client.withOwnConnections(), options.namespace, options.node, logger);
  let enqueue: () => void = () => undefined;
  // Dropped heartbeats: counted by reason, each reason logged at most once a minute.
  const drops = emptyDropTally();
  let countMetric: (reason: string) => void = () => undefined;
  const peers = new PeerHeartbeats(options.node, () => enqueue(), logger, {
    port: options.memberlistPort,
    onDrop: (reason, from) => {
      countMetric(reason);
      if (countDrop(drops, reason, Date.now())) logger.warn('heartbeat dropped', { reason, from, total: drops.counts[reason] });
    },
  });
  // Status writes go through one gate with its own pacing (at most about one request a second while
  // the API fails), on their own queue: the wire never waits for them.
  const gate = new ApiGate();
  let enqueueStatus: (name: string) => void = () => undefined;
  const statusWriter = new ServiceL2StatusReconciler({
    self: options.node, namespace: options.namespace, client, statuses, gate, enqueue: (name) => enqueueStatus(name),
  });
  const statusController = controllerFor('servicel2status', statusWriter)
    .watches(statuses, (status) => [status.metadata.name ?? ''])
    .resyncEvery(5 * 60_000)
    .build(logger, () => statusWriter.keys());
  enqueueStatus = (name) => statusController.queue.add(name);
  // The Lease publishes the interfaces we can answer on: none while we cannot answer at all, so a peer
  // that still sees our Lease renewed (the API reached by another path than the broken link) does not
  // hand our addresses back to a node that has fallen silent.
  const answering = new Answering(wire, options.answerGraceMs);
  const publishInterfaces = (names: readonly string[] = interfaces.current()): void => heartbeat.setInterfaces(answering.answering ? names : []);
  const interfaces = new SteadyInterfaces(() => wire.usableInterfaces(), options.answerGraceMs, (names) => {
    logger.info('usable interfaces', { interfaces: names });
    // An interface gone for the grace is usually a broken responder past the same grace: fall silent
    // first, so the Lease never shows peers the remaining interfaces of a node that cannot answer.
    healthChanged();
    publishInterfaces(names);
    enqueue();
  });
  interfacesChanged = () => interfaces.changed();
  // The memberlist key authenticates heartbeats; without it we send and accept none (Leases carry
  // liveness) and say so in /readyz.
  const keyFrom = (secret: Secret | undefined): Uint8Array | undefined => {
    const data = secret?.data?.[MEMBERLIST_SECRET.key];
    return data === undefined ? undefined : Buffer.from(data, 'base64');
  };
  memberlist.on({ add: (s) => peers.setKey(keyFrom(s)), update: (_, s) => peers.setKey(keyFrom(s)), delete: () => peers.setKey(undefined) });
  collectProcessMetrics();
  registerK8sClientMetrics(registry, kitMetrics, () => ({ loaded: pools.hasSynced() && advertisements.hasSynced(), stale: configStale(pools.list()) }));
  let peersAlive: () => number = () => 0;
  const speakerMetrics = new SpeakerMetrics(registry, {
    node: options.node,
    layer2: () => wire.counters.snapshot(),
    peers: () => ({ alive: peersAlive(), known: Math.max(0, peerAddresses(nodes.list()).size - 1) }),
    responders: () => responderHealth(wire.status(), interfaces.current()),
  });
  manager.http.route(METRICS_PATH, metricsRoute());
  const reconciler = new AnnouncerReconciler({
    self: options.node, namespace: options.namespace, services, endpointSlices, nodes, pools, advertisements,
    leases, statuses: statusWriter, peers, wire, logger,
    events: new EventRecorder(client, 'metallb.io/speaker', options.node, logger),
    ownInterfaces: interfaces.current,
    selfAnswering: () => answering.answering,
    metrics: speakerMetrics,
    tracing: tracing.config.enabled,
    loadBalancerClass: options.loadBalancerClass,
    eligibility: { announceFromCordoned: options.announceFromCordoned },
    liveness: { ...defaultLivenessTimings, udpDeadlineMs: options.udpDeadlineMs },
  });
  const key = (): string[] => [ANNOUNCER_KEY];
  const controller = controllerFor('announcer', reconciler)
    // Cut down to what we read, most updates of these change nothing we read (the controller's status
    // conditions on a Service, a Node's heartbeat): only a change to what is kept re-plans.
    .watches(services, key, cachedContentChanged).watches(endpointSlices, key, cachedContentChanged).watches(nodes, key, cachedContentChanged)
    // The controller's status writes on pools and advertisements change nothing we announce.
    .watches(pools, key, specChanged).watches(advertisements, key, specChanged)
    .resyncEvery(30_000)
    .build(logger, key);
  enqueue = () => controller.queue.add(ANNOUNCER_KEY);
  // Leases matter when one comes or goes or its published interfaces change; renewals only feed
  // liveness, which the ticker below watches without a full recompute on every renewal.
  leases.on({ add: () => enqueue(), delete: () => enqueue(), update: (before, after) => { if (publishedInterfacesChanged(before, after)) enqueue(); } });
  // Can we answer? A responder broken past the grace makes us fall silent (goodbye: peers take over at
  // once) and claim nothing, until it is repaired.
  const judgeAnswering = (): void => {
    if (!answering.changed()) return;
    logger.warn(answering.answering ? 'answering again' : 'cannot answer: handing every address over', { problems: wire.health().problems });
    peers.setSilent(!answering.answering);
    publishInterfaces();
    enqueue();
  };
  healthChanged = judgeAnswering;
  const livenessTicker = setInterval(() => {
    judgeAnswering();
    if (!reconciler.livenessChanged()) return;
    reconciler.urge();
    enqueue();
  }, LIVENESS_TICK_MS);
  manager.addReadinessCheck('responders', () => {
    const { ok, problems } = wire.health();
    return ok ? { ok: true } : { ok: false, reason: problems.map((p) => `responder ${p.interface}: ${p.reason} since ${new Date(p.sinceMs).toISOString()}`).join(', ') };
  });
  manager.addReadinessCheck('heartbeats', () => (peers.keyed ? { ok: true }
    : { ok: false, reason: `no key in Secret ${options.namespace}/${MEMBERLIST_SECRET.name}: peers' liveness from Leases only` }));
  manager.addHealthCheck('heartbeats', () => (peers.running || !started ? { ok: true } : { ok: false, reason: 'the heartbeat thread stopped' }));
  let started = false;
  nodes.on({
    add: () => void peers.setPeers(peerAddresses(nodes.list())),
    update: () => void peers.setPeers(peerAddresses(nodes.list())),
    delete: () => void peers.setPeers(peerAddresses(nodes.list())),
  });
  countMetric = (reason) => speakerMetrics.heartbeatDropped(reason);
  peersAlive = () => reconciler.peersAlive();
  manager.add(controller);
  manager.add(statusController);
  const loopDelay = watchLoopDelay(logger);
  // Graceful stop: tell the peers first (they take over at once), then fall silent, then tidy the API.
  // (Answering on for a second after the goodbye was tried and taken out: docs/decisions.md, "Handover".)
  manager.onShutdown(async () => {
    clearInterval(livenessTicker);
    interfaces.stop();
    loopDelay.stop();
    await peers.stop();
    reconciler.withdrawAll();
    wire.close();
    await heartbeat.stop();
    await tracing.shutdown();
    for (const status of statuses.list()) {
      await client.delete(ServiceL2Statuses, options.namespace, status.metadata.name ?? '').catch(() => undefined);
    }
  });
  manager.stopOnSignals();
  // Listen first, while the caches fill, saying "joining": the first plan waits until we have listened
  // for one UDP deadline (AnnouncerReconciler), so it sees who is alive as the peers do, and speakers
  // starting together count each other in.
  await peers.start({ joining: true });
  started = true;
  await manager.start();
  // Only a node that already announces what it owns may say it is alive: a peer that hears us hands
  // our addresses over at once, and they must not fall silent in between.
  await reconciler.firstReconcile;
  peers.join();
  heartbeat.start();
  logger.info('announcing as a live member', { peers: nodes.list().length - 1 });
  await manager.done;
  process.exit(0);
}

/** Whether this node can answer for what it owns: every interface the announcements want has a working
 *  responder, or the broken one has been broken for less than the grace (a short flap is repaired in
 *  place: the responder reopens and re-sends its gratuitous schedule, and nothing moves). */
class Answering {
  answering = true;

  constructor(private readonly wire: L2Announcer, private readonly graceMs: number) {}

  /** Re-judges; true when the verdict changed. */
  changed(now = Date.now()): boolean {
    const broken = this.wire.health().problems.some((problem) => now - problem.sinceMs >= this.graceMs);
    if (broken === !this.answering) return false;
    this.answering = !broken;
    return true;
  }
}

/** Logs the main thread's worst event-loop delays once a minute when they pass 100 ms: the delays that
 *  once made peers look dead (docs/decisions.md, "Ownership that settles"). */
function watchLoopDelay(logger: Logger): { stop: () => void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const timer = setInterval(() => {
    const maxMs = histogram.max / 1e6;
    if (maxMs > 100) logger.info('event loop delayed', { maxMs: Math.round(maxMs), p99Ms: Math.round(histogram.percentile(99) / 1e6) });
    histogram.reset();
  }, 60_000);
  timer.unref();
  return { stop: () => { clearInterval(timer); histogram.disable(); } };
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

function peerAddresses(nodes: readonly Node[]): Map<string, string> {
  const peers = new Map<string, string>();
  for (const node of nodes) {
    const ipv4 = node.status?.addresses?.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))?.address;
    if (ipv4 !== undefined && node.metadata.name !== undefined) peers.set(node.metadata.name, ipv4);
  }
  return peers;
}

