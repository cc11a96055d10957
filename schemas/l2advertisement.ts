// L2Advertisement: MetalLB's v1beta1 fields unchanged, plus a status saying what it resolved to, where
// MetalLB silently ignores a pool name that does not exist.

import { conditionsSchema, labelSelectorSchema, observedGenerationSchema } from './common.js';
import type { CrdSource } from './crd-source.js';

export const l2AdvertisementSpecSchema = {
  type: 'object',
  description: 'L2AdvertisementSpec defines the desired state of L2Advertisement.',
  properties: {
    ipAddressPools: {
      type: 'array',
      description: 'The list of IPAddressPools to advertise via this advertisement, selected by name.',
      items: { type: 'string' },
    },
    ipAddressPoolSelectors: {
      type: 'array',
      description:
        'A selector for the IPAddressPools which would get advertised via this advertisement. If no IPAddressPool ' +
        'is selected by this or by the list, the advertisement is applied to all the IPAddressPools.',
      items: labelSelectorSchema,
    },
    nodeSelectors: {
      type: 'array',
      description: 'NodeSelectors allows to limit the nodes to announce as next hops for the LoadBalancer IP. When empty, all the nodes having are announced as next hops.',
      items: labelSelectorSchema,
    },
    interfaces: {
      type: 'array',
      description:
        'A list of interfaces to announce from. The LB IP will be announced only from these interfaces. If the ' +
        'field is not set, we advertise from all the interfaces on the host.',
      items: { type: 'string' },
    },
  },
} as const;

export const l2AdvertisementStatusSchema = {
  type: 'object',
  description: 'L2AdvertisementStatus is what l2lb resolved the advertisement to.',
  properties: {
    resolvedPools: {
      type: 'array',
      description: 'ResolvedPools are the names of the existing IPAddressPools this advertisement announces.',
      items: { type: 'string' },
    },
    matchedNodes: {
      type: 'integer',
      format: 'int32',
      minimum: 0,
      description: 'MatchedNodes is the number of nodes the nodeSelectors select (all nodes when there are none).',
    },
    observedGeneration: observedGenerationSchema,
    conditions: conditionsSchema,
  },
} as const;

export const l2AdvertisementSchema = {
  type: 'object',
  description: 'L2Advertisement allows to advertise the LoadBalancer IPs provided by the selected pools via L2.',
  properties: {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: 'object' },
    spec: l2AdvertisementSpecSchema,
    status: l2AdvertisementStatusSchema,
  },
} as const;

const ready = '.status.conditions[?(@.type=="Ready")].status';

export const l2AdvertisementCrd: CrdSource = {
  kind: 'L2Advertisement',
  plural: 'l2advertisements',
  singular: 'l2advertisement',
  schema: l2AdvertisementSchema,
  typeNames: [
    [l2AdvertisementSpecSchema, 'L2AdvertisementSpec'],
    [l2AdvertisementStatusSchema, 'L2AdvertisementStatus'],
  ],
  printerColumns: [
    // The resolved list, not spec.ipAddressPools: a catch-all advertisement then shows the pools it covers,
    // and a name that matches no pool is visibly absent.
    { name: 'IPAddressPools', type: 'string', jsonPath: '.status.resolvedPools' },
    { name: 'Interfaces', type: 'string', jsonPath: '.spec.interfaces' },
    { name: 'Nodes', type: 'integer', jsonPath: '.status.matchedNodes' },
    { name: 'Ready', type: 'string', jsonPath: ready },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Node Selectors', type: 'string', jsonPath: '.spec.nodeSelectors', priority: 1 },
    { name: 'IPAddressPool Selectors', type: 'string', jsonPath: '.spec.ipAddressPoolSelectors', priority: 1 },
  ],
};
