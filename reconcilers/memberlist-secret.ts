// The controller's half of authenticated heartbeats: Secret `memberlist` (data key `secretkey`) in the
// configuration namespace, the key every announcer seals its heartbeats with (reconcilers/layer2/heartbeat-auth.ts).
// Created with 32 random bytes when absent, as MetalLB's install does; never changed once it exists —
// whoever made it (MetalLB's manifests, an operator rotating it by hand) owns its value, and rotating it
// is safe because announcers accept the previous key for a grace period. A Secret without a usable key
// is reported, not repaired: replacing a key an administrator chose is not ours to do.

import { randomBytes } from 'node:crypto';
import type { Reconciler } from '../operator/kit/controller.js';
import { MEMBERLIST_SECRET } from './layer2/heartbeat-auth.js';
import type { Informer } from '../operator/kit/informer.js';
import { isStatus, type KubeClient } from '../operator/kit/kube-client.js';
import type { Logger } from '../operator/kit/log.js';
import { Secrets, type KubeObject } from '../operator/kit/resources.js';

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** The informer options that keep only this Secret in the cache. */
export const memberlistSecretSelector = { fieldSelector: `metadata.name=${MEMBERLIST_SECRET.name}` } as const;

/** 32 bytes: HMAC-SHA256's key size. (MetalLB's install stores `openssl rand -base64 128`; any length works, the key is derived.) */
export const MEMBERLIST_KEY_BYTES = 32;

export type MemberlistDecision =
  | { readonly action: 'create'; readonly secret: Secret }
  | { readonly action: 'keep'; readonly problem?: string };

/** The Secret to create, for `key` (random bytes in production). */
export function memberlistSecret(namespace: string, key: Uint8Array): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: MEMBERLIST_SECRET.name, namespace, labels: { app: 'metallb', 'app.kubernetes.io/part-of': 'l2lb' } },
    type: 'Opaque',
    data: { [MEMBERLIST_SECRET.key]: Buffer.from(key).toString('base64') },
  };
}

/** What to do given the Secret as the cache holds it: create it when absent, otherwise keep it, saying
 *  what is wrong with it if announcers cannot use it. */
export function decideMemberlistSecret(existing: Secret | undefined, namespace: string, newKey: () => Uint8Array): MemberlistDecision {
  if (existing === undefined) return { action: 'create', secret: memberlistSecret(namespace, newKey()) };
  if (existing.metadata.deletionTimestamp !== undefined) return { action: 'keep', problem: 'being deleted; it is made again once gone' };
  const value = existing.data?.[MEMBERLIST_SECRET.key];
  if (value === undefined) return { action: 'keep', problem: `has no data key ${MEMBERLIST_SECRET.key}: announcers cannot authenticate heartbeats (delete it to have a new one made)` };
  if (Buffer.from(value, 'base64').length === 0) return { action: 'keep', problem: `its ${MEMBERLIST_SECRET.key} is empty: announcers cannot authenticate heartbeats (delete it to have a new one made)` };
  return { action: 'keep' };
}

export class MemberlistSecretReconciler implements Reconciler {
  private lastProblem: string | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly secrets: Informer<Secret>,
    private readonly namespace: string,
    private readonly logger: Logger,
    private readonly newKey: () => Uint8Array = () => randomBytes(MEMBERLIST_KEY_BYTES),
  ) {}

  async reconcile(): Promise<void> {
    const existing = this.secrets.get(`${this.namespace}/${MEMBERLIST_SECRET.name}`);
    const decision = decideMemberlistSecret(existing, this.namespace, this.newKey);
    if (decision.action === 'keep') {
      if (decision.problem !== this.lastProblem && decision.problem !== undefined) {
        this.logger.warn(`Secret ${MEMBERLIST_SECRET.name} ${decision.problem}`, { namespace: this.namespace });
      }
      this.lastProblem = decision.problem;
      return;
    }
    try {
      await this.client.create(Secrets, decision.secret);
      this.logger.info('created the heartbeat key', { secret: `${this.namespace}/${MEMBERLIST_SECRET.name}` });
    } catch (error) {
      // Someone made it between our cache and our write (another replica, an installer): theirs stands.
      if (!isStatus(error, 409)) throw error;
    }
  }
}
