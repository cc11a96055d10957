// The announcer's heartbeat through the API: one Lease per node in the operator's namespace, renewed
// every 2 s. It also publishes the node's usable interfaces, so that every announcer judges interface
// eligibility for every node alike. One write per 2 s per node, whatever the number of Services.

import { setTimeout as sleep } from 'node:timers/promises';
import { isStatus, type KubeClient } from '../../operator/kit/kube-client.js';
import { microTime } from '../../operator/kit/leader.js';
import { errorText, type Logger } from '../../operator/kit/log.js';
import { Leases, type KubeObject } from '../../operator/kit/resources.js';

export const HEARTBEAT_LABEL = 'l2lb.dev/heartbeat';
export const INTERFACES_ANNOTATION = 'l2lb.dev/interfaces';

/** Whether a heartbeat Lease's update changed the interfaces it publishes: its renewals (every 2 s per
 *  node) feed liveness only, and must not re-run what reads the interfaces. */
export function publishedInterfacesChanged(previous: { metadata: { annotations?: Record<string, string> } }, current: { metadata: { annotations?: Record<string, string> } }): boolean {
  return previous.metadata.annotations?.[INTERFACES_ANNOTATION] !== current.metadata.annotations?.[INTERFACES_ANNOTATION];
}

/** A peer's usable interfaces, as its Lease publishes them (`published`: the annotation, undefined with
 *  no Lease). An empty list is a peer that said it cannot answer. No Lease yet is not "none": on a fresh
 *  install every speaker starts at once and writes its Lease only after its first plan, so every first
 *  plan judged every peer ineligible and took every address (10 × 5,000: all ten speakers announced all
 *  5,000 addresses for 55 s, 53,000 Events). Until it publishes, a peer is taken to have what we have:
 *  nodes of a cluster are usually alike, and its own plan, made from its own interfaces, decides what it
 *  answers on. */
export function peerInterfaces(published: string | undefined, own: readonly string[]): readonly string[] {
  if (published === undefined) return own;
  return published.split(',').filter((name) => name !== '');
}

export const HEARTBEAT_RENEW_MS = 2000;
export const HEARTBEAT_DURATION_S = 10;

export interface HeartbeatLease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

export function heartbeatLeaseName(node: string): string {
  return `l2lb-speaker-${node}`;
}

export class NodeHeartbeat {
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private interfaces: readonly string[] = [];
  private writing: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly node: string,
    private readonly logger: Logger,
  ) {}

  setInterfaces(interfaces: readonly string[]): void {
    const changed = interfaces.join(',') !== this.interfaces.join(',');
    this.interfaces = [...interfaces];
    if (changed && this.running !== undefined) void this.renew();
  }

  start(): void {
    this.running ??= this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await this.renew();
      await sleep(HEARTBEAT_RENEW_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  private lease(): HeartbeatLease {
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: {
        name: heartbeatLeaseName(this.node), namespace: this.namespace,
        labels: { [HEARTBEAT_LABEL]: 'true', app: 'metallb', component: 'speaker' },
        annotations: { [INTERFACES_ANNOTATION]: this.interfaces.join(',') },
      },
      spec: { holderIdentity: this.node, leaseDurationSeconds: HEARTBEAT_DURATION_S, renewTime: microTime(new Date()) },
    };
  }

  /** One write at a time, in order, each built when it is sent: a renewal already in flight when the
   *  interfaces change could otherwise land after the write that publishes the change (two requests on
   *  two connections) and show peers interfaces we no longer answer on until the next renewal, 2 s
   *  later. Changes while a write is in flight coalesce into one write after it. */
  private renew(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const queued = this.writing.then(() => {
      this.queued = undefined;
      return this.write();
    });
    this.queued = queued;
    this.writing = queued;
    return queued;
  }

  private async write(): Promise<void> {
    try {
      await this.client.apply(Leases, this.lease(), 'l2lb-announcer');
    } catch (error) {
      // The API being away must change nothing on the wire: peers still hear our UDP heartbeats.
      this.logger.debug('heartbeat renewal failed', { error: errorText(error) });
    }
  }

  /** Graceful shutdown: the Lease goes, so peers that cannot hear UDP learn at once. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    try {
      await this.client.delete(Leases, this.namespace, heartbeatLeaseName(this.node));
    } catch (error) {
      if (!isStatus(error, 404)) this.logger.warn('could not remove the heartbeat Lease', { error: errorText(error) });
    }
  }
}
