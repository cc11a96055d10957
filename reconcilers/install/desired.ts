// The speaker DaemonSet a MetalLB resource asks for: config/manager's speaker DaemonSet (compiled in as
// schemas/generated/speaker-daemonset.ts, so the kustomize install and the OLM install run one pod spec)
// with the MetalLB spec's node selector, tolerations, log level and speakerConfig laid over it. Pure.

import { createHash } from 'node:crypto';
import type { MetalLB, ResourceRequirements, Toleration } from '../../schemas/generated/types.js';
import type { Level } from '../../operator/kit/log.js';

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: unknown;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly env?: readonly EnvVar[];
  readonly resources?: ResourceRequirements;
  readonly [field: string]: unknown;
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly nodeSelector?: { readonly [key: string]: string };
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: unknown;
  readonly priorityClassName?: string;
  readonly runtimeClassName?: string;
  readonly [field: string]: unknown;
}

export interface DaemonSet {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name?: string;
    readonly namespace?: string;
    readonly generation?: number;
    readonly labels?: { readonly [key: string]: string };
    readonly annotations?: { readonly [key: string]: string };
    readonly ownerReferences?: ReadonlyArray<{ readonly apiVersion: string; readonly kind: string; readonly name: string; readonly uid: string; readonly controller?: boolean }>;
  };
  readonly spec: {
    readonly selector: unknown;
    readonly template: {
      readonly metadata?: { readonly labels?: { readonly [key: string]: string }; readonly annotations?: { readonly [key: string]: string } };
      readonly spec: PodSpec;
    };
    readonly [field: string]: unknown;
  };
  readonly status?: DaemonSetStatus;
}

export interface DaemonSetStatus {
  readonly observedGeneration?: number;
  readonly desiredNumberScheduled?: number;
  readonly currentNumberScheduled?: number;
  readonly updatedNumberScheduled?: number;
  readonly numberReady?: number;
  readonly numberAvailable?: number;
  readonly numberUnavailable?: number;
  readonly numberMisscheduled?: number;
}

/** The only MetalLB resource that is installed, as metallb-operator has it: `metallb` in the operator's namespace. */
export const metalLBName = 'metallb';

/** The speaker container in the template: the one the spec's log level and resources apply to. */
export const speakerContainerName = 'speaker';

/** MetalLB's six levels onto l2lb's four: `all` is everything l2lb logs, `none` keeps only errors. */
export function logLevelOf(level: NonNullable<NonNullable<MetalLB['spec']>['logLevel']>): Level {
  switch (level) {
    case 'all':
    case 'debug':
      return 'debug';
    case 'info':
      return 'info';
    case 'warn':
      return 'warn';
    case 'error':
    case 'none':
      return 'error';
  }
}

export interface DesiredOptions {
  /** The speaker image; unset, the template's (the controller's own tag, as config/manager names it). */
  readonly image?: string;
}

/**
 * The DaemonSet to apply for `metallb`: the template in MetalLB's namespace, owned by it (so the garbage
 * collector removes the speakers when the MetalLB resource goes), with the spec's settings over it. A
 * field the spec leaves unset keeps the template's value; one it sets replaces it, as in metallb-operator
 * (tolerations included: a user who lists tolerations lists all of them).
 */
export function desiredSpeakerDaemonSet(template: DaemonSet, metallb: MetalLB, options: DesiredOptions = {}): DaemonSet {
  const spec = metallb.spec ?? {};
  const config = spec.speakerConfig ?? {};
  const pod = template.spec.template.spec;
  const containers = pod.containers.map((container): Container => {
    if (container.name !== speakerContainerName) return container;
    const env = spec.logLevel === undefined
      ? container.env
      : [...(container.env ?? []).filter((variable) => variable.name !== 'L2LB_LOG_LEVEL'), { name: 'L2LB_LOG_LEVEL', value: logLevelOf(spec.logLevel) }];
    return {
      ...container,
      ...(options.image === undefined ? {} : { image: options.image }),
      ...(env === undefined ? {} : { env }),
      ...(config.resources === undefined ? {} : { resources: config.resources }),
    };
  });
  const podSpec: PodSpec = {
    ...pod,
    containers,
    ...(spec.nodeSelector === undefined ? {} : { nodeSelector: spec.nodeSelector }),
    ...(spec.speakerTolerations === undefined ? {} : { tolerations: spec.speakerTolerations }),
    ...(config.affinity === undefined ? {} : { affinity: config.affinity }),
    ...(config.priorityClassName === undefined ? {} : { priorityClassName: config.priorityClassName }),
    ...(config.runtimeClassName === undefined ? {} : { runtimeClassName: config.runtimeClassName }),
  };
  const podMetadata = template.spec.template.metadata ?? {};
  const annotations = config.annotations === undefined ? podMetadata.annotations : { ...podMetadata.annotations, ...config.annotations };
  const desired: DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      ...template.metadata,
      namespace: metallb.metadata.namespace,
      ownerReferences: [{ apiVersion: 'metallb.io/v1beta1', kind: 'MetalLB', name: metallb.metadata.name ?? metalLBName, uid: metallb.metadata.uid ?? '', controller: true }],
    },
    spec: {
      ...template.spec,
      template: { metadata: { ...podMetadata, ...(annotations === undefined ? {} : { annotations }) }, spec: podSpec },
    },
  };
  return { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [desiredHashAnnotation]: desiredHash(desired) } } };
}

/**
 * Annotation holding a digest of what was last applied. A field the spec stops setting (a node selector
 * key removed) leaves `current` a superset of `desired`, which `containsJson` cannot see; the digest can.
 */
export const desiredHashAnnotation = 'l2lb.dev/desired-hash';

function desiredHash(desired: DaemonSet): string {
  return createHash('sha256').update(JSON.stringify(desired)).digest('hex').slice(0, 16);
}

/** Whether `desired` must be applied over `current`: absent, changed since the last apply, or drifted. */
export function needsApply(current: DaemonSet | undefined, desired: DaemonSet): boolean {
  if (current === undefined) return true;
  const applied = current.metadata.annotations?.[desiredHashAnnotation];
  return applied !== desired.metadata.annotations?.[desiredHashAnnotation] || !containsJson(current, desired);
}

/**
 * Whether `current` already holds every field of `desired` with the same value (fields the API server
 * added, defaults and status, are ignored). Lists must match item by item: a toleration removed from
 * the spec is a difference. Keeps a resync from writing when nothing changed.
 */
export function containsJson(current: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return Array.isArray(current) && current.length === desired.length && desired.every((item, i) => containsJson(current[i], item));
  }
  if (typeof desired === 'object' && desired !== null) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return false;
    const have = current as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([key, value]) => containsJson(have[key], value));
  }
  return current === desired;
}
