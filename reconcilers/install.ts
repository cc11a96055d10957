// The install reconciler: a MetalLB resource becomes the speaker DaemonSet. OLM installs only Deployments
// (the controller's, from the CSV), so without this nothing would run the speakers of an OLM install; a
// kustomize install ships the DaemonSet itself and may add a MetalLB resource to tune it.
//
// The DaemonSet is written by server-side apply under its own field manager, with the MetalLB resource as
// its controlling owner: deleting the MetalLB resource lets the garbage collector remove the speakers,
// while every Service keeps its address (addresses are the controller's, in Service status). What to
// apply is `desiredSpeakerDaemonSet`'s, the conditions are `installStatus`'s; this file reads and writes.

import type { Informer } from '../operator/kit/informer.js';
import type { KubeClient } from '../operator/kit/kube-client.js';
import type { Reconciler, Result } from '../operator/kit/controller.js';
import { DaemonSets } from '../operator/kit/resources.js';
import { MetalLBs, fieldManagers } from '../schemas/resources.js';
import { applyStatus, sameJson } from '../operator/kit/status.js';
import type { Logger } from '../operator/kit/log.js';
import type { MetalLB } from '../schemas/generated/types.js';
import { desiredSpeakerDaemonSet, needsApply, type DaemonSet, type DesiredOptions } from './install/desired.js';
import { ignoredBecause, installStatus } from './install/status.js';

/** Field manager of the speaker DaemonSet: distinct from status writes, so `managedFields` says who set what. */
export const installFieldManager = 'l2lb-install';

/** Which DaemonSets the install reconciler watches: the speaker's labels, as config/manager sets them. */
export const speakerSelector = 'app=metallb,component=speaker';

export interface InstallReconcilerOptions extends DesiredOptions {
  readonly namespace: string;
  /** config/manager's speaker DaemonSet (schemas/generated/speaker-daemonset.ts). */
  readonly template: DaemonSet;
}

export class InstallReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly metallbs: Informer<MetalLB>,
    private readonly daemonSets: Informer<DaemonSet & { metadata: { name?: string } }>,
    private readonly options: InstallReconcilerOptions,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reconcile(key: string): Promise<Result | void> {
    const metallb = this.metallbs.get(key);
    if (metallb === undefined) return; // deleted: the garbage collector removes what it owned
    const { namespace, template } = this.options;
    const daemonSetKey = `${metallb.metadata.namespace ?? namespace}/${template.metadata.name ?? 'speaker'}`;
    let daemonSet = this.daemonSets.get(daemonSetKey);

    if (ignoredBecause(metallb, namespace) === undefined) {
      const desired = desiredSpeakerDaemonSet(template, metallb, this.options);
      if (needsApply(daemonSet, desired)) {
        // The answer is the DaemonSet as stored: its status is read from it until the watch catches up.
        daemonSet = await this.client.apply<DaemonSet>(DaemonSets, desired, installFieldManager);
        this.logger.info('applied the speaker DaemonSet', { metallb: key, daemonSet: daemonSetKey });
      }
    }

    const status = installStatus({ metallb, daemonSet, namespace, now: this.now() });
    if (!sameJson({ conditions: status.conditions }, { conditions: metallb.status?.conditions ?? [] })) {
      await applyStatus(this.client, MetalLBs, metallb, { conditions: status.conditions }, fieldManagers.controller);
    }
    return status.requeueAfterMs === undefined ? undefined : { requeueAfterMs: status.requeueAfterMs };
  }
}
