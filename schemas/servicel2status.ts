// ServiceL2Status: which node announces a Service's addresses, and on which interfaces. Written by the
// announcer that owns them, as MetalLB's speaker does.

import type { CrdSource } from './crd-source.js';

export const serviceL2StatusSpecSchema = {
  type: 'object',
  description: 'ServiceL2StatusSpec is empty: the object is all status.',
} as const;

export const serviceL2StatusStatusSchema = {
  type: 'object',
  description: 'MetalLBServiceL2Status defines the observed state of ServiceL2Status.',
  properties: {
    node: { type: 'string', description: 'Node indicates the node that receives the directed traffic.' },
    serviceName: { type: 'string', description: 'ServiceName indicates the service this status represents.' },
    serviceNamespace: { type: 'string', description: 'ServiceNamespace indicates the namespace of the service.' },
    interfaces: {
      type: 'array',
      description: 'Interfaces indicates the interfaces that receive the directed traffic.',
      items: {
        type: 'object',
        description: 'InterfaceInfo defines interface info of layer2 announcement.',
        properties: { name: { type: 'string', description: 'Name the name of network interface card.' } },
      },
    },
  },
} as const;

export const serviceL2StatusSchema = {
  type: 'object',
  description: 'ServiceL2Status reveals the actual traffic status of loadbalancer services in layer2 mode.',
  properties: {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { type: 'object' },
    spec: serviceL2StatusSpecSchema,
    status: serviceL2StatusStatusSchema,
  },
} as const;

export const serviceL2StatusCrd: CrdSource = {
  kind: 'ServiceL2Status',
  plural: 'servicel2statuses',
  singular: 'servicel2status',
  schema: serviceL2StatusSchema,
  typeNames: [
    [serviceL2StatusSpecSchema, 'ServiceL2StatusSpec'],
    [serviceL2StatusStatusSchema, 'ServiceL2StatusStatus'],
  ],
  printerColumns: [
    { name: 'Node', type: 'string', jsonPath: '.status.node' },
    { name: 'Service Name', type: 'string', jsonPath: '.status.serviceName' },
    { name: 'Service Namespace', type: 'string', jsonPath: '.status.serviceNamespace' },
    // The whole list: a printer column shows only the first match of `[*].name`, hiding eth1 of eth0+eth1.
    { name: 'Interfaces', type: 'string', jsonPath: '.status.interfaces' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
