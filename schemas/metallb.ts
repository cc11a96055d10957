// MetalLB: the install resource metallb-operator defines (one, named `metallb`, in `metallb-system`). Under
// OLM, which installs only Deployments, the controller's install reconciler (reconcilers/install.ts) turns
// it into the speaker DaemonSet. Field names and meaning are metallb-operator's; the BGP and frr-k8s
// fields are left out (l2lb has no BGP), and so pruned by the API server like any unknown field.

import { conditionsSchema } from './common.js';
import type { CrdSource } from './crd-source.js';

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

export const tolerationSchema = {
  type: 'object',
  description:
    'The pod this Toleration is attached to tolerates any taint that matches the triple <key,value,effect> ' +
    'using the matching operator <operator>.',
  properties: {
    effect: { type: 'string', description: 'Effect indicates the taint effect to match. Empty means match all taint effects. When specified, allowed values are NoSchedule, PreferNoSchedule and NoExecute.' },
    key: { type: 'string', description: 'Key is the taint key that the toleration applies to. Empty means match all taint keys. If the key is empty, operator must be Exists.' },
    operator: { type: 'string', description: "Operator represents a key's relationship to the value. Valid operators are Exists and Equal. Defaults to Equal." },
    tolerationSeconds: { type: 'integer', format: 'int64', description: 'TolerationSeconds represents the period of time the toleration (which must be of effect NoExecute) tolerates the taint.' },
    value: { type: 'string', description: 'Value is the taint value the toleration matches to. If the operator is Exists, the value should be empty.' },
  },
} as const;

// A resource.Quantity: `cpu: 1` and `cpu: 500m` alike, as the API server's own schema accepts it.
const quantitySchema = {
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
} as const;

export const resourceRequirementsSchema = {
  type: 'object',
  description: 'Resource Requirements to be applied for containers which gets deployed via MetalLB Operator',
  properties: {
    limits: { type: 'object', description: 'Limits describes the maximum amount of compute resources allowed.', additionalProperties: quantitySchema },
    requests: { type: 'object', description: 'Requests describes the minimum amount of compute resources required.', additionalProperties: quantitySchema },
  },
} as const;

export const metalLBConfigSchema = {
  type: 'object',
  description:
    'additional configs to be applied on the MetalLB speaker daemonset (speakerConfig) or controller deployment ' +
    '(controllerConfig). l2lb applies speakerConfig; the controller Deployment is installed by OLM or kustomize.',
  properties: {
    priorityClassName: { type: 'string', description: 'Define priority class name' },
    runtimeClassName: { type: 'string', description: 'Define container runtime configuration class' },
    affinity: {
      type: 'object',
      description: "If specified, the pod's scheduling constraints (a core/v1 Affinity).",
      'x-kubernetes-preserve-unknown-fields': true,
    },
    annotations: { ...stringMap, description: 'Annotations to be applied for MetalLB Operator' },
    resources: resourceRequirementsSchema,
  },
} as const;

export const logLevels = ['all', 'debug', 'info', 'warn', 'error', 'none'] as const;

export const metalLBSpecSchema = {
  type: 'object',
  description: 'MetalLBSpec defines the desired state of MetalLB',
  properties: {
    image: { type: 'string', description: 'image sets the metallb image. Deprecated: The image property has no effect and will be removed in a future version.' },
    nodeSelector: { ...stringMap, description: 'node selector applied to MetalLB speaker daemonset.' },
    speakerTolerations: {
      type: 'array',
      description: 'tolerations is a list of tolerations applied to MetalLB speaker daemonset.',
      items: tolerationSchema,
    },
    logLevel: {
      type: 'string',
      description: 'Define the verbosity of the controller and the speaker logging. Allowed values are: all, debug, info, warn, error, none. (default: info). l2lb applies it to the speaker.',
      enum: logLevels,
    },
    loadBalancerClass: {
      type: 'string',
      description: 'The loadBalancerClass spec attribute that the MetalLB controller should be watching for. l2lb: not applied by the install reconciler; the controller takes it from its --lb-class flag.',
      pattern: '^([a-z0-9A-Z]([\\w.\\-]*[a-z0-9A-Z])?/)?[a-z0-9A-Z]([\\w.\\-]*[a-z0-9A-Z])?$',
    },
    controllerNodeSelector: { ...stringMap, description: 'node selector applied to MetalLB controller deployment. l2lb: not applied; the controller Deployment is installed by OLM or kustomize.' },
    controllerTolerations: {
      type: 'array',
      description: 'tolerations is a list of tolerations applied to MetalLB controller deployment. l2lb: not applied; the controller Deployment is installed by OLM or kustomize.',
      items: tolerationSchema,
    },
    // Both configs share one schema (and one generated type); l2lb applies only the speaker's.
    controllerConfig: metalLBConfigSchema,
    speakerConfig: metalLBConfigSchema,
  },
} as const;

export const metalLBStatusSchema = {
  type: 'object',
  description: 'MetalLBStatus defines the observed state of MetalLB',
  properties: {
    conditions: conditionsSchema,
  },
} as const;

export const metalLBSchema = {
  type: 'object',
  description: 'MetalLB is the Schema for the metallbs API',
  properties: {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: 'object' },
    spec: metalLBSpecSchema,
    status: metalLBStatusSchema,
  },
} as const;

const conditionColumn = (type: string): { name: string; type: 'string'; jsonPath: string; description: string } =>
  ({ name: type, type: 'string', jsonPath: `.status.conditions[?(@.type=='${type}')].status`, description: `${type} condition status` });

export const metalLBCrd: CrdSource = {
  kind: 'MetalLB',
  plural: 'metallbs',
  singular: 'metallb',
  schema: metalLBSchema,
  typeNames: [
    [metalLBSpecSchema, 'MetalLBSpec'],
    [metalLBStatusSchema, 'MetalLBStatus'],
    [tolerationSchema, 'Toleration'],
    [metalLBConfigSchema, 'MetalLBConfig'],
    [resourceRequirementsSchema, 'ResourceRequirements'],
  ],
  printerColumns: [
    conditionColumn('Available'),
    conditionColumn('Degraded'),
    conditionColumn('Progressing'),
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
