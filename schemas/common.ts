// Schema pieces shared by the CRDs: Kubernetes' own LabelSelector and metav1.Condition, written as
// they appear in the upstream OpenAPI so `kubectl explain` reads the same as for built-in kinds.

export const labelSelectorSchema = {
  type: 'object',
  description:
    'A label query over a set of resources. The result of matchLabels and matchExpressions are ANDed. ' +
    'An empty label selector matches all objects.',
  properties: {
    matchExpressions: {
      type: 'array',
      description: 'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      items: {
        type: 'object',
        description: 'A label selector requirement: a key, an operator and values.',
        properties: {
          key: { type: 'string', description: 'key is the label key that the selector applies to.' },
          operator: {
            type: 'string',
            description: "operator is a key's relationship to a set of values: In, NotIn, Exists and DoesNotExist.",
          },
          values: {
            type: 'array',
            description:
              'values is an array of string values. With In or NotIn it must be non-empty; with Exists or ' +
              'DoesNotExist it must be empty.',
            items: { type: 'string' },
            'x-kubernetes-list-type': 'atomic',
          },
        },
        required: ['key', 'operator'],
      },
      'x-kubernetes-list-type': 'atomic',
    },
    matchLabels: {
      type: 'object',
      description: 'matchLabels is a map of {key,value} pairs, each equivalent to an In requirement with one value.',
      additionalProperties: { type: 'string' },
    },
  },
  'x-kubernetes-map-type': 'atomic',
} as const;

export const conditionSchema = {
  type: 'object',
  description: 'Condition contains details for one aspect of the current state of this API Resource.',
  properties: {
    type: {
      type: 'string',
      description: 'type of condition in CamelCase.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', description: 'status of the condition, one of True, False, Unknown.', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'observedGeneration is the .metadata.generation that the condition was set based upon.',
    },
    lastTransitionTime: {
      type: 'string',
      format: 'date-time',
      description: 'lastTransitionTime is the last time the condition transitioned from one status to another.',
    },
    reason: {
      type: 'string',
      description: "reason contains a programmatic identifier indicating the reason for the condition's last transition.",
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: {
      type: 'string',
      description: 'message is a human readable message indicating details about the transition.',
      maxLength: 32768,
    },
  },
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
} as const;

export const conditionsSchema = {
  type: 'array',
  description: 'Conditions of the object; Ready summarises whether it is in effect and, if not, why.',
  items: conditionSchema,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
} as const;

export const observedGenerationSchema = {
  type: 'integer',
  format: 'int64',
  description: 'The .metadata.generation this status was computed from.',
} as const;
