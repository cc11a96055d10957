// IPAddressPool: MetalLB's v1beta1 fields unchanged, plus a status MetalLB keeps out of `kubectl get`.

import { conditionsSchema, labelSelectorSchema, observedGenerationSchema } from './common.js';
import type { CrdSource } from './crd-source.js';

const int64Count = (description: string) => ({ type: 'integer', format: 'int64', minimum: 0, description }) as const;

export const ipAddressPoolSpecSchema = {
  type: 'object',
  description: 'IPAddressPoolSpec defines the desired state of IPAddressPool.',
  properties: {
    addresses: {
      type: 'array',
      description:
        'A list of IP address ranges over which MetalLB has authority. You can list multiple ranges in a single ' +
        'pool, they will all share the same settings. Each range can be either a CIDR prefix, or an explicit ' +
        'start-end range of IPs.',
      items: { type: 'string' },
    },
    autoAssign: {
      type: 'boolean',
      default: true,
      description: 'AutoAssign flag used to prevent MetallB from automatic allocation for a pool.',
    },
    avoidBuggyIPs: {
      type: 'boolean',
      default: false,
      description: 'AvoidBuggyIPs prevents addresses ending with .0 and .255 to be used by a pool.',
    },
    serviceAllocation: {
      type: 'object',
      description:
        'AllocateTo makes ip pool allocation to specific namespace and/or service. The controller will use the ' +
        'pool with lowest value of priority in case of multiple matches.',
      properties: {
        priority: {
          type: 'integer',
          description: 'Priority priority given for ip pool while ip allocation on a service.',
        },
        namespaces: {
          type: 'array',
          description: 'Namespaces list of namespace(s) on which ip pool can be attached.',
          items: { type: 'string' },
        },
        namespaceSelectors: {
          type: 'array',
          description: 'NamespaceSelectors list of label selectors to select namespace(s) for ip pool, an alternative to using namespace list.',
          items: labelSelectorSchema,
        },
        serviceSelectors: {
          type: 'array',
          description: 'ServiceSelectors list of label selector to select service(s) for which ip pool can be used for ip allocation.',
          items: labelSelectorSchema,
        },
      },
    },
  },
  required: ['addresses'],
} as const;

export const ipAddressPoolStatusSchema = {
  type: 'object',
  description: 'IPAddressPoolStatus is what l2lb observed of the pool: its usage and whether it is in effect.',
  properties: {
    assignedIPv4: int64Count('AssignedIPv4 is the number of assigned IPv4 addresses.'),
    availableIPv4: int64Count('AvailableIPv4 is the number of IPv4 addresses still free to assign.'),
    assignedIPv6: int64Count('AssignedIPv6 is the number of assigned IPv6 addresses.'),
    availableIPv6: int64Count(
      'AvailableIPv6 is the number of IPv6 addresses still free to assign, saturating at the int64 maximum.',
    ),
    assigned: int64Count('Assigned is assignedIPv4 + assignedIPv6, for the ASSIGNED column.'),
    available: int64Count('Available is availableIPv4 + availableIPv6 (saturating), for the AVAILABLE column.'),
    observedGeneration: observedGenerationSchema,
    conditions: conditionsSchema,
  },
} as const;

export const ipAddressPoolSchema = {
  type: 'object',
  description: 'IPAddressPool represents a pool of IP addresses that can be allocated to LoadBalancer services.',
  properties: {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: 'object' },
    spec: ipAddressPoolSpecSchema,
    status: ipAddressPoolStatusSchema,
  },
  required: ['spec'],
} as const;

const ready = '.status.conditions[?(@.type=="Ready")].status';

export const ipAddressPoolCrd: CrdSource = {
  kind: 'IPAddressPool',
  plural: 'ipaddresspools',
  singular: 'ipaddresspool',
  schema: ipAddressPoolSchema,
  typeNames: [
    [ipAddressPoolSpecSchema, 'IPAddressPoolSpec'],
    [ipAddressPoolStatusSchema, 'IPAddressPoolStatus'],
  ],
  printerColumns: [
    { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses' },
    { name: 'Auto Assign', type: 'boolean', jsonPath: '.spec.autoAssign' },
    { name: 'Avoid Buggy IPs', type: 'boolean', jsonPath: '.spec.avoidBuggyIPs' },
    { name: 'Assigned', type: 'integer', jsonPath: '.status.assigned' },
    { name: 'Available', type: 'integer', jsonPath: '.status.available' },
    { name: 'Ready', type: 'string', jsonPath: ready },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
