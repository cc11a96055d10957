import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition, MetalLB } from '../../schemas/generated/types.js';
import type { DaemonSet, DaemonSetStatus } from './desired.js';
import { installStatus, progressDeadlineMs } from './status.js';

const now = new Date('2026-11-30T07:00:00Z');
const metallb = (conditions: Condition[] = [], name = 'metallb', namespace = 'metallb-system'): MetalLB => ({
  metadata: { name, namespace, generation: 2 }, spec: {}, ...(conditions.length === 0 ? {} : { status: { conditions } }),
});
const daemonSet = (status: DaemonSetStatus, generation = 1): DaemonSet => ({
  metadata: { name: 'speaker', namespace: 'metallb-system', generation },
  spec: { selector: {}, template: { spec: { containers: [] } } },
  status,
});
const summary = (conditions: readonly Condition[]) => conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe('installStatus', () => {
  const cases: ReadonlyArray<readonly [string, MetalLB, DaemonSet | undefined, readonly string[]]> = [
    ['no DaemonSet yet: being created', metallb(), undefined,
      ['Available=False/DaemonSetMissing', 'Progressing=True/Creating', 'Degraded=False/AsExpected']],
    ['every speaker updated and available: Available, done', metallb(),
      daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }),
      ['Available=True/SpeakersAvailable', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected']],
    ['two of three available while rolling out: still Available (one answering node per address is enough), Progressing', metallb(),
      daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 2 }),
      ['Available=True/SpeakersAvailable', 'Progressing=True/RollingOut', 'Degraded=False/AsExpected']],
    ['none available yet: not Available, Progressing', metallb(),
      daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 0 }),
      ['Available=False/NoSpeakerAvailable', 'Progressing=True/RollingOut', 'Degraded=False/AsExpected']],
    ['the DaemonSet controller has not seen the new spec: Updating', metallb(),
      daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }, 2),
      ['Available=True/SpeakersAvailable', 'Progressing=True/Updating', 'Degraded=False/AsExpected']],
    ['no node matches the selector and tolerations: Degraded, says which settings to check', metallb(),
      daemonSet({ observedGeneration: 1, desiredNumberScheduled: 0, updatedNumberScheduled: 0, numberAvailable: 0 }),
      ['Available=False/NoEligibleNodes', 'Progressing=False/NoEligibleNodes', 'Degraded=True/NoEligibleNodes']],
    ['a rollout Progressing for longer than the deadline: Degraded', metallb([
      { type: 'Progressing', status: 'True', reason: 'RollingOut', message: '', lastTransitionTime: new Date(now.getTime() - progressDeadlineMs - 1000).toISOString() },
    ]), daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 }),
    ['Progressing=True/RollingOut', 'Available=True/SpeakersAvailable', 'Degraded=True/ProgressDeadlineExceeded']],
    ['a second MetalLB resource is ignored, and says so', metallb([], 'other'), undefined,
      ['Available=False/Ignored', 'Progressing=False/Ignored', 'Degraded=True/Ignored']],
    ['a MetalLB resource in another namespace is ignored', metallb([], 'metallb', 'default'), undefined,
      ['Available=False/Ignored', 'Progressing=False/Ignored', 'Degraded=True/Ignored']],
  ];
  for (const [story, resource, ds, expected] of cases) {
    it(story, () => assert.deepEqual(summary(installStatus({ metallb: resource, daemonSet: ds, namespace: 'metallb-system', now }).conditions), expected));
  }

  it('counts speakers in the message and records the generation it judged', () => {
    const { conditions } = installStatus({
      metallb: metallb(), namespace: 'metallb-system', now,
      daemonSet: daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 1 }),
    });
    const available = conditions.find((c) => c.type === 'Available');
    assert.equal(available?.message, '1 of 3 speakers available, 2 updated');
    assert.equal(available?.observedGeneration, 2);
  });

  it('looks again when a rollout would pass its deadline, and not when it is done', () => {
    const rolling = installStatus({ metallb: metallb(), namespace: 'metallb-system', now,
      daemonSet: daemonSet({ observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 1 }) });
    assert.equal(rolling.requeueAfterMs, progressDeadlineMs);
    const done = installStatus({ metallb: metallb(), namespace: 'metallb-system', now,
      daemonSet: daemonSet({ observedGeneration: 1, desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1 }) });
    assert.equal(done.requeueAfterMs, undefined);
  });

  it('keeps lastTransitionTime while a status holds', () => {
    const earlier = '2026-11-30T06:00:00Z';
    const { conditions } = installStatus({
      metallb: metallb([{ type: 'Available', status: 'True', reason: 'SpeakersAvailable', message: 'old', lastTransitionTime: earlier }]),
      namespace: 'metallb-system', now,
      daemonSet: daemonSet({ observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }),
    });
    assert.equal(conditions.find((c) => c.type === 'Available')?.lastTransitionTime, earlier);
  });
});
