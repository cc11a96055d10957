// The ServiceL2Status reconciler (speaker side): one ServiceL2Status per Service this node announces,
// saying which node and interfaces answer for it. The announcer hands it the wanted set after each plan
// (`want`) and goes back to the wire at once; this reconciler writes the differences one status at a
// time, through the program's ApiGate, so that
//  - the wire never waits on the API: an outage delays status, never an announcement;
//  - our own writes never trigger a recompute of the plan: a status event enqueues only that status;
//  - a status someone deletes or edits is put back (level-triggered, keyed by the status's name);
//  - a crashed node cannot remove its own statuses: for each Service this node took over, the status
//    of every peer judged dead is deleted (by its deterministic name), so `kubectl get
//    servicel2statuses` names only nodes that answer.

import { createHash } from 'node:crypto';
import type { ApiGate } from '../operator/kit/api-gate.js';
import type { Reconciler, Result } from '../operator/kit/controller.js';
import type { Informer } from '../operator/kit/informer.js';
import { isStatus, type KubeClient } from '../operator/kit/kube-client.js';
import { ServiceL2Statuses, fieldManagers } from '../schemas/resources.js';
import { applyStatus, sameJson } from '../operator/kit/status.js';
import type { ServiceL2Status } from '../schemas/generated/types.js';

export const NODE_LABEL = 'metallb.io/node';
export const SERVICE_NAME_LABEL = 'metallb.io/service-name';
export const SERVICE_NAMESPACE_LABEL = 'metallb.io/service-namespace';

export interface WantedStatus {
  /** namespace/name of the Service. */
  readonly service: string;
  readonly interfaces: readonly string[];
}

export function statusName(node: string, serviceKey: string): string {
  return `l2-${createHash('sha256').update(`${node}/${serviceKey}`).digest('hex').slice(0, 12)}`;
}

/** What the status of `name` should be, given what we want and what the cache holds: plain data. */
export type StatusAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'create-and-write'; readonly labels: Readonly<Record<string, string>>; readonly status: ServiceL2Status['status'] }
  | { readonly kind: 'write'; readonly status: ServiceL2Status['status'] };

export function statusAction(self: string, wanted: WantedStatus | undefined, existing: ServiceL2Status | undefined): StatusAction {
  if (wanted === undefined) {
    // Only our own: another node's status (same namespace) is never ours to remove.
    return existing !== undefined && existing.metadata.labels?.[NODE_LABEL] === self ? { kind: 'delete' } : { kind: 'none' };
  }
  const [serviceNamespace = '', serviceName = ''] = wanted.service.split('/');
  const status = { node: self, serviceName, serviceNamespace, interfaces: wanted.interfaces.map((name) => ({ name })) };
  if (existing === undefined) {
    return { kind: 'create-and-write', status,
      labels: { [NODE_LABEL]: self, [SERVICE_NAME_LABEL]: serviceName, [SERVICE_NAMESPACE_LABEL]: serviceNamespace } };
  }
  return sameJson(existing.status, status) ? { kind: 'none' } : { kind: 'write', status };
}

export interface ServiceL2StatusDeps {
  readonly self: string;
  readonly namespace: string;
  readonly client: KubeClient;
  /** This node's statuses only (label metallb.io/node=<self>). */
  readonly statuses: Informer<ServiceL2Status>;
  readonly gate: ApiGate;
  /** Enqueues one status name in this reconciler's controller. */
  readonly enqueue: (name: string) => void;
}

export class ServiceL2StatusReconciler implements Reconciler {
  private wanted = new Map<string, WantedStatus>();
  /** Dead peers' statuses for Services we announce now: to delete once each. */
  private stale = new Set<string>();
  private readonly cleared = new Set<string>();

  constructor(private readonly deps: ServiceL2StatusDeps) {}

  /** The statuses this node should have, by Service key → interfaces, and the peers judged dead.
   *  Enqueues only what changed. */
  want(services: ReadonlyMap<string, readonly string[]>, deadPeers: readonly string[] = []): void {
    const next = new Map<string, WantedStatus>();
    for (const [service, interfaces] of services) next.set(statusName(this.deps.self, service), { service, interfaces });
    for (const [name, wanted] of next) {
      const before = this.wanted.get(name);
      if (before === undefined || !sameJson(before, wanted)) this.deps.enqueue(name);
    }
    for (const name of this.wanted.keys()) if (!next.has(name)) this.deps.enqueue(name);
    this.wanted = next;
    this.stale = new Set([...services.keys()].flatMap((service) => deadPeers.map((peer) => statusName(peer, service))));
    // A peer that comes back and dies again leaves new statuses behind: forget what was cleared.
    for (const name of this.cleared) if (!this.stale.has(name)) this.cleared.delete(name);
    for (const name of this.stale) if (!this.cleared.has(name)) this.deps.enqueue(name);
  }

  /** Every name worth a look on resync: wanted ones, stale ones not yet cleared, and our cached ones. */
  keys(): string[] {
    return [...new Set([...this.wanted.keys(), ...[...this.stale].filter((name) => !this.cleared.has(name)),
      ...this.deps.statuses.list().map((s) => s.metadata.name ?? '')])];
  }

  async reconcile(name: string): Promise<Result> {
    const { self, namespace, client, statuses, gate } = this.deps;
    if (this.stale.has(name) && !this.wanted.has(name)) {
      if (this.cleared.has(name)) return {};
      await gate.pass(() => client.delete(ServiceL2Statuses, namespace, name).catch((error: unknown) => {
        if (!isStatus(error, 404)) throw error;
      }));
      this.cleared.add(name);
      return {};
    }
    const action = statusAction(self, this.wanted.get(name), statuses.get(`${namespace}/${name}`));
    switch (action.kind) {
      case 'none':
        return {};
      case 'delete':
        await gate.pass(() => client.delete(ServiceL2Statuses, namespace, name).catch((error: unknown) => {
          if (!isStatus(error, 404)) throw error;
        }));
        return {};
      case 'create-and-write':
        await gate.pass(() => client.create(ServiceL2Statuses, {
          apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name, namespace, labels: { ...action.labels } }, ...{ spec: {} },
        }).catch((error: unknown) => {
          if (!isStatus(error, 409)) throw error;
        }));
        await gate.pass(() => applyStatus(client, ServiceL2Statuses, { metadata: { name, namespace } }, action.status, fieldManagers.announcer));
        return {};
      case 'write':
        await gate.pass(() => applyStatus(client, ServiceL2Statuses, { metadata: { name, namespace } }, action.status, fieldManagers.announcer));
        return {};
    }
  }
}
