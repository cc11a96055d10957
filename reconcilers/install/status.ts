// The conditions of a MetalLB resource, read off its speaker DaemonSet's status, with metallb-operator's
// three types: Available (addresses are being announced: at least one speaker is available; in Layer 2
// one answering node per address is all a client needs), Progressing (a rollout is under way), Degraded
// (something needs a human: no node can run a speaker, or a rollout has not finished within its
// deadline). Every reason says which, and every message says what was counted. Pure.

import { findCondition, setConditions } from '../../operator/kit/conditions.js';
import type { Condition, MetalLB } from '../../schemas/generated/types.js';
import { metalLBName, type DaemonSet } from './desired.js';

/** How long a rollout may take before it is Degraded: a Deployment's default progressDeadlineSeconds. */
export const progressDeadlineMs = 10 * 60_000;

export interface InstallStatusInput {
  readonly metallb: MetalLB;
  /** The speaker DaemonSet as the cache holds it; undefined before it exists. */
  readonly daemonSet: DaemonSet | undefined;
  /** The controller's namespace: the only one whose `metallb` is installed. */
  readonly namespace: string;
  readonly now: Date;
}

export interface InstallStatus {
  readonly conditions: Condition[];
  /** When to look again even if nothing changes: the moment a rollout in progress would pass its deadline. */
  readonly requeueAfterMs?: number;
}

type Verdict = readonly [status: 'True' | 'False', reason: string, message: string];

/** Whether this MetalLB resource is the one to install, and if not, why (metallb-operator takes only one). */
export function ignoredBecause(metallb: MetalLB, namespace: string): string | undefined {
  const { name, namespace: ns } = metallb.metadata;
  if (name === metalLBName && ns === namespace) return undefined;
  return `only the MetalLB resource named "${metalLBName}" in namespace "${namespace}" is installed; this one (${ns ?? ''}/${name ?? ''}) is ignored`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function installStatus(input: InstallStatusInput): InstallStatus {
  const { metallb, daemonSet, now } = input;
  const generation = metallb.metadata.generation;
  const existing = metallb.status?.conditions ?? [];
  const verdicts = (available: Verdict, progressing: Verdict, degraded: Verdict): Condition[] =>
    setConditions(existing, ([['Available', available], ['Progressing', progressing], ['Degraded', degraded]] as const).map(
      ([type, [status, reason, message]]) => ({ type, status, reason, message, ...(generation === undefined ? {} : { observedGeneration: generation }) })), now);

  const ignored = ignoredBecause(metallb, input.namespace);
  if (ignored !== undefined) {
    return { conditions: verdicts(['False', 'Ignored', ignored], ['False', 'Ignored', ignored], ['True', 'Ignored', ignored]) };
  }
  if (daemonSet === undefined) {
    const message = 'the speaker DaemonSet is being created';
    return { conditions: verdicts(['False', 'DaemonSetMissing', message], ['True', 'Creating', message], ['False', 'AsExpected', message]), requeueAfterMs: 5_000 };
  }

  const status = daemonSet.status ?? {};
  const desired = status.desiredNumberScheduled ?? 0;
  const updated = status.updatedNumberScheduled ?? 0;
  const available = status.numberAvailable ?? 0;
  const counted = `${available} of ${plural(desired, 'speaker')} available, ${updated} updated`;
  const seen = (status.observedGeneration ?? 0) >= (daemonSet.metadata.generation ?? 0);
  const availability: Verdict = available > 0
    ? ['True', 'SpeakersAvailable', counted]
    : ['False', 'NoSpeakerAvailable', `no speaker is available: ${counted}`];

  if (seen && desired === 0) {
    const message = 'no node can run a speaker: check the MetalLB nodeSelector and speakerTolerations against the nodes and their taints';
    return { conditions: verdicts(['False', 'NoEligibleNodes', message], ['False', 'NoEligibleNodes', message], ['True', 'NoEligibleNodes', message]) };
  }
  if (seen && updated >= desired && available >= desired) {
    return { conditions: verdicts(availability, ['False', 'RolloutComplete', counted], ['False', 'AsExpected', counted]) };
  }

  // A rollout in progress: Degraded only once it has lasted past the deadline, counted from the moment
  // Progressing last became True (kept across reconciles by setConditions).
  const message = seen ? `rolling out: ${counted}` : `the DaemonSet controller has not yet seen generation ${daemonSet.metadata.generation ?? 0}`;
  const progressing = findCondition(existing, 'Progressing');
  const since = progressing?.status === 'True' ? Date.parse(progressing.lastTransitionTime) : now.getTime();
  const left = since + progressDeadlineMs - now.getTime();
  const degraded: Verdict = left <= 0
    ? ['True', 'ProgressDeadlineExceeded', `${message}, for more than ${progressDeadlineMs / 60_000} minutes: see \`kubectl -n ${input.namespace} get pods -l component=speaker\``]
    : ['False', 'AsExpected', message];
  return {
    conditions: verdicts(availability, ['True', seen ? 'RollingOut' : 'Updating', message], degraded),
    ...(left > 0 ? { requeueAfterMs: left } : {}),
  };
}
