import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetalLB } from '../../schemas/generated/types.js';
import { speakerDaemonSet } from '../../schemas/generated/speaker-daemonset.js';
import { containsJson, desiredHashAnnotation, desiredSpeakerDaemonSet, needsApply, type DaemonSet } from './desired.js';

const metallb = (spec: MetalLB['spec']): MetalLB => ({
  apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', metadata: { name: 'metallb', namespace: 'metallb-system', uid: 'u-1', generation: 1 }, spec,
});

const speaker = (ds: DaemonSet) => ds.spec.template.spec.containers.find((c) => c.name === 'speaker');
const withoutHash = (ds: DaemonSet): DaemonSet => {
  const { [desiredHashAnnotation]: _hash, ...annotations } = ds.metadata.annotations ?? {};
  return { ...ds, metadata: { ...ds.metadata, annotations } };
};

describe('desiredSpeakerDaemonSet', () => {
  it('an empty spec is config/manager’s DaemonSet, owned by the MetalLB resource', () => {
    const desired = desiredSpeakerDaemonSet(speakerDaemonSet, metallb({}));
    assert.deepEqual(desired.metadata.ownerReferences, [{ apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', name: 'metallb', uid: 'u-1', controller: true }]);
    assert.deepEqual(desired.spec.template, speakerDaemonSet.spec.template);
    assert.deepEqual(withoutHash(desired).metadata.labels, speakerDaemonSet.metadata.labels);
    assert.equal(desired.metadata.namespace, 'metallb-system');
  });

  const cases: ReadonlyArray<readonly [string, MetalLB['spec'], (ds: DaemonSet) => void]> = [
    ['nodeSelector becomes the pods’ node selector', { nodeSelector: { 'l2lb.dev/speaker': 'yes' } },
      (ds) => assert.deepEqual(ds.spec.template.spec.nodeSelector, { 'l2lb.dev/speaker': 'yes' })],
    ['speakerTolerations replace the template’s tolerations', { speakerTolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] },
      (ds) => assert.deepEqual(ds.spec.template.spec.tolerations, [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }])],
    ['no speakerTolerations keeps the template’s (the control-plane taint)', { nodeSelector: {} },
      (ds) => assert.deepEqual(ds.spec.template.spec.tolerations, speakerDaemonSet.spec.template.spec.tolerations)],
    ['logLevel debug sets L2LB_LOG_LEVEL=debug on the speaker container', { logLevel: 'debug' },
      (ds) => assert.deepEqual(speaker(ds)?.env?.find((e) => e.name === 'L2LB_LOG_LEVEL'), { name: 'L2LB_LOG_LEVEL', value: 'debug' })],
    ['logLevel all is l2lb’s debug, none its error', { logLevel: 'none' },
      (ds) => assert.equal(speaker(ds)?.env?.find((e) => e.name === 'L2LB_LOG_LEVEL')?.value, 'error')],
    ['logLevel keeps the template’s other variables', { logLevel: 'info' },
      (ds) => assert.deepEqual(speaker(ds)?.env?.map((e) => e.name), ['NODE_NAME', 'POD_NAMESPACE', 'NODE_OPTIONS', 'L2LB_LOG_LEVEL'])],
    ['speakerConfig.resources replace the container’s', { speakerConfig: { resources: { limits: { memory: '512Mi' }, requests: { cpu: 1, memory: '256Mi' } } } },
      (ds) => assert.deepEqual(speaker(ds)?.resources, { limits: { memory: '512Mi' }, requests: { cpu: 1, memory: '256Mi' } })],
    ['speakerConfig.annotations join the pod template’s', { speakerConfig: { annotations: { team: 'net' } } },
      (ds) => assert.deepEqual(ds.spec.template.metadata?.annotations, { ...speakerDaemonSet.spec.template.metadata?.annotations, team: 'net' })],
    ['speakerConfig priority and runtime class names', { speakerConfig: { priorityClassName: 'system-node-critical', runtimeClassName: 'runc' } },
      (ds) => assert.deepEqual([ds.spec.template.spec.priorityClassName, ds.spec.template.spec.runtimeClassName], ['system-node-critical', 'runc'])],
    ['controller settings do not touch the speakers', { controllerNodeSelector: { a: 'b' }, controllerConfig: { priorityClassName: 'x' } },
      (ds) => assert.deepEqual(ds.spec.template, speakerDaemonSet.spec.template)],
  ];
  for (const [story, spec, check] of cases) it(story, () => check(desiredSpeakerDaemonSet(speakerDaemonSet, metallb(spec))));

  it('an image option replaces the speaker’s image only', () => {
    const ds = desiredSpeakerDaemonSet(speakerDaemonSet, metallb({}), { image: 'registry.local/l2lb:dev' });
    assert.equal(speaker(ds)?.image, 'registry.local/l2lb:dev');
  });
});

describe('needsApply', () => {
  const desired = desiredSpeakerDaemonSet(speakerDaemonSet, metallb({ nodeSelector: { a: '1', b: '2' } }));
  const asStored = (ds: DaemonSet): DaemonSet => ({
    ...ds, metadata: { ...ds.metadata, generation: 3 }, status: { desiredNumberScheduled: 3 },
    spec: { ...ds.spec, revisionHistoryLimit: 10 },
  });
  const cases: ReadonlyArray<readonly [string, DaemonSet | undefined, DaemonSet, boolean]> = [
    ['nothing there yet: apply', undefined, desired, true],
    ['what was applied, plus the server’s defaults and status: nothing to write', asStored(desired), desired, false],
    ['a node selector key removed from the spec: apply (the stored object is a superset)', asStored(desired),
      desiredSpeakerDaemonSet(speakerDaemonSet, metallb({ nodeSelector: { a: '1' } })), true],
    ['someone edited the image by hand: apply', asStored({ ...desired, spec: { ...desired.spec, template: { ...desired.spec.template, spec: { ...desired.spec.template.spec, containers: [{ name: 'speaker', image: 'other' }] } } } }), desired, true],
  ];
  for (const [story, current, want, expected] of cases) it(story, () => assert.equal(needsApply(current, want), expected));
});

describe('containsJson', () => {
  const cases: ReadonlyArray<readonly [string, unknown, unknown, boolean]> = [
    ['extra fields in current are fine', { a: 1, b: 2 }, { a: 1 }, true],
    ['a different value is not', { a: 1 }, { a: 2 }, false],
    ['lists compare item by item and by length', [{ a: 1, x: 0 }, { a: 2 }], [{ a: 1 }, { a: 2 }], true],
    ['a list item fewer is a difference', [{ a: 1 }], [{ a: 1 }, { a: 2 }], false],
    ['an object is not a list', { 0: 'a' }, ['a'], false],
  ];
  for (const [story, current, desired, expected] of cases) it(story, () => assert.equal(containsJson(current, desired), expected));
});
