// The services reconciler: every LoadBalancer Service it is responsible for gets the addresses a MetalLB
// user expects (the rules are the allocator's), keeps them while they are valid, and says clearly why
// when it cannot have them: in status.loadBalancer.ingress, in a condition, in the
// metallb.io/ip-allocated-from-pool annotation, and in events. It writes only differences.

import type { Reconciler } from '../operator/kit/controller.js';
import type { EventRecorder } from '../operator/kit/events.js';
import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import type { Logger } from '../operator/kit/log.js';
import { objectKey, Services, type KubeObject } from '../operator/kit/resources.js';
import { sameJson } from '../operator/kit/status.js';
import { fieldManagers } from '../schemas/resources.js';
import { setCondition, type Condition } from '../operator/kit/conditions.js';
import { activeTraceparent, inSpan, TRACE_ANNOTATION } from '../operator/kit/tracing.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { allocatorPools } from './allocator/config.js';
import type { AllocatorPool, AssignResult, Failure } from './allocator/types.js';
import type { Allocator } from './allocator/allocator.js';
import { annotations, heldAddresses, serviceRequest, type ServiceLike } from './allocator/service-request.js';

export const ALLOCATED_CONDITION = 'l2lb.dev/IPAllocated';

export interface Service extends KubeObject, ServiceLike {
  readonly metadata: KubeObject['metadata'];
  readonly spec?: ServiceLike['spec'] & { readonly type?: string; readonly loadBalancerClass?: string };
  readonly status?: ServiceLike['status'] & { readonly conditions?: readonly Condition[] };
}

export interface ServicesReconcilerDeps {
  readonly client: KubeClient;
  readonly services: Informer<Service>;
  readonly pools: Informer<IPAddressPool>;
  readonly namespaces: Informer<KubeObject>;
  readonly allocator: Allocator;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** Services of this class only; undefined: only Services without a class. */
  readonly loadBalancerClass: string | undefined;
  readonly now?: () => Date;
}

/** Whether l2lb is responsible for the Service's addresses. */
export function handles(service: Service, loadBalancerClass: string | undefined): boolean {
  return service.spec?.type === 'LoadBalancer' && (service.spec.loadBalancerClass ?? undefined) === loadBalancerClass;
}

export class ServicesReconciler implements Reconciler {
  private poolsFingerprint: string | undefined;
  private readonly lastGoodPools = new Map<string, AllocatorPool>();
  private restored = false;
  private readonly warned = new Set<string>();
  /** Set by the wiring: re-queues Services (pending ones after an address is freed). */
  enqueue: (keys: Iterable<string>) => void = () => undefined;

  constructor(private readonly deps: ServicesReconcilerDeps) {}

  /** Brings the allocator up to date with the pools and, once, with what Services already hold. The
   *  pools reconciler calls it too, so pool counts never show a restarted controller's empty allocator. */
  prepare(): void {
    this.syncPools();
    if (!this.restored) this.restoreAll();
  }

  async reconcile(key: string): Promise<void> {
    this.prepare();
    const { allocator, services, loadBalancerClass } = this.deps;
    const service = services.get(key);
    if (service === undefined || !handles(service, loadBalancerClass)) {
      if (allocator.release(key)) this.enqueuePending();
      if (service !== undefined) await this.clearIfOurs(service);
      return;
    }
    const requested = serviceRequest(service);
    const held = allocator.assignment(key) !== undefined;
    const result: AssignResult = await inSpan('allocation', { 'l2lb.service': key }, async (span) => {
      const assigned = requested.ok
        ? allocator.assign(key, requested.request, { namespaceLabels: this.namespaceLabels(service) })
        : requested;
      span.setAttributes(assigned.ok
        ? { 'l2lb.pool': assigned.assignment.pool, 'l2lb.ips': assigned.assignment.ips.join(',') }
        : { 'l2lb.reason': assigned.reason });
      return assigned;
    });
    if (!requested.ok) allocator.release(key);
    if (!result.ok && held) this.enqueuePending();
    if (requested.ok) this.warnDeprecated(service, requested.request.warnings);
    await inSpan('status write', { 'l2lb.service': key }, () => this.write(service, result));
  }

  /** Hands the pools to the allocator when they changed; Services whose addresses left every pool, or
   *  moved to another pool, are re-queued. */
  private syncPools(): void {
    const pools = this.deps.pools.list();
    const fingerprint = pools.map((p) => `${p.metadata.name}@${p.metadata.generation}`).sort().join(',');
    if (fingerprint === this.poolsFingerprint) return;
    this.poolsFingerprint = fingerprint;
    const change = this.deps.allocator.setPools(allocatorPools(pools, this.lastGoodPools));
    this.enqueue([...change.invalidated, ...change.repooled]);
  }

  /** After a (re)start or a change of leader, the allocator learns what every Service holds before it
   *  allocates anything, so no address changes hands. */
  private restoreAll(): void {
    this.restored = true;
    const { allocator, services, loadBalancerClass, logger } = this.deps;
    let restored = 0;
    for (const service of [...services.list()].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1))) {
      if (!handles(service, loadBalancerClass)) continue;
      const current = heldAddresses(service);
      if (current.ips.length === 0) continue;
      const requested = serviceRequest(service);
      if (!requested.ok) continue;
      const result = allocator.restore(objectKey(service), requested.request, { namespaceLabels: this.namespaceLabels(service) }, current);
      if (result.ok) restored++;
      else logger.info('not keeping a held address', { service: objectKey(service), ips: current.ips, reason: result.reason });
    }
    logger.info('restored assignments from Service status', { restored });
  }

  private namespaceLabels(service: Service): Readonly<Record<string, string>> {
    return this.deps.namespaces.get(service.metadata.namespace ?? '')?.metadata.labels ?? {};
  }

  private enqueuePending(): void {
    const { services, allocator, loadBalancerClass } = this.deps;
    this.enqueue(services.list().filter((s) => handles(s, loadBalancerClass) && allocator.assignment(objectKey(s)) === undefined).map(objectKey));
  }

  private warnDeprecated(service: Service, warnings: readonly string[]): void {
    const key = `${service.metadata.uid}:${warnings.join('|')}`;
    if (warnings.length === 0 || this.warned.has(key)) return;
    this.warned.add(key);
    for (const warning of warnings) {
      this.deps.events.record(Services, service, { type: 'Warning', reason: 'DeprecatedAnnotation', action: 'Allocate', note: warning });
    }
  }

  private async write(service: Service, result: AssignResult): Promise<void> {
    const { client, events } = this.deps;
    const now = (this.deps.now ?? (() => new Date()))();
    const ips = result.ok ? result.assignment.ips : [];
    const pool = result.ok ? result.assignment.pool : undefined;
    const current = heldAddresses(service);
    const condition = result.ok
      ? { type: ALLOCATED_CONDITION, status: 'True' as const, reason: 'IPAllocated', message: `assigned ${ips.join(', ')} from pool ${pool}${incomplete(result)}` }
      : { type: ALLOCATED_CONDITION, status: 'False' as const, reason: result.code, message: result.reason };
    const conditions = setCondition(service.status?.conditions ?? [], condition, now);
    const ingressChanged = !sameJson(current.ips, ips);
    const statusChanged = ingressChanged || !sameJson(conditions, service.status?.conditions ?? []);

    // A new address is what the speakers act on: its trace context goes with it, in the same metadata
    // patch as the pool annotation and before the status, so the speaker that wins finds it in its cache.
    const traceparent = ingressChanged && ips.length > 0 ? activeTraceparent() : undefined;
    if ((service.metadata.annotations?.[annotations.allocatedFromPool] ?? undefined) !== pool || traceparent !== undefined) {
      await client.patch(Services, service.metadata.namespace, service.metadata.name ?? '',
        { metadata: { annotations: { [annotations.allocatedFromPool]: pool ?? null, ...(traceparent === undefined ? {} : { [TRACE_ANNOTATION]: traceparent }) } } });
    }
    if (!statusChanged) return;
    await client.apply(Services, {
      metadata: { namespace: service.metadata.namespace, name: service.metadata.name },
      ...{ status: { loadBalancer: { ingress: ips.map((ip) => ({ ip, ipMode: 'VIP' })) }, conditions: [findOwn(conditions)] } },
    }, fieldManagers.controller, 'status');
    if (result.ok && ingressChanged) {
      events.record(Services, service, { type: 'Normal', reason: 'IPAllocated', action: 'Allocate', note: `Assigned IP ${JSON.stringify(ips)}` });
    } else if (!result.ok) {
      if (current.ips.length > 0) {
        events.record(Services, service, { type: 'Normal', reason: 'ClearAssignment', action: 'Allocate', note: `Cleared ${JSON.stringify(current.ips)}: ${result.reason}` });
      }
      events.record(Services, service, { type: 'Warning', reason: 'AllocationFailed', action: 'Allocate',
        note: `Failed to allocate IP for "${objectKey(service)}": ${result.reason}` });
    }
  }

  /** A Service we no longer handle (type changed, class changed) loses what we wrote on it. */
  private async clearIfOurs(service: Service): Promise<void> {
    if (service.metadata.annotations?.[annotations.allocatedFromPool] === undefined) return;
    const { client, events } = this.deps;
    await client.patch(Services, service.metadata.namespace, service.metadata.name ?? '',
      { metadata: { annotations: { [annotations.allocatedFromPool]: null } } });
    if (service.status?.loadBalancer?.ingress?.length) {
      await client.apply(Services, { metadata: { namespace: service.metadata.namespace, name: service.metadata.name },
        ...{ status: { loadBalancer: { ingress: [] }, conditions: [] } } }, fieldManagers.controller, 'status');
      events.record(Services, service, { type: 'Normal', reason: 'ClearAssignment', action: 'Allocate', note: 'Service is no longer handled by l2lb: address released' });
    }
  }
}

function findOwn(conditions: readonly Condition[]): Condition {
  return conditions.find((c) => c.type === ALLOCATED_CONDITION) as Condition;
}

function incomplete(result: AssignResult): string {
  return result.ok && result.incomplete !== undefined ? `; ${(result.incomplete as Failure).reason}` : '';
}
