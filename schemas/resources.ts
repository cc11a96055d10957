// l2lb's own API resources (metallb.io/v1beta1, MetalLB's CRDs) as the kit's descriptors, and the field
// managers l2lb writes status under: one per component, fixed, so server-side apply keeps each one's fields.

import type { ResourceType } from '../operator/kit/resources.js';

const metallb = (kind: string, plural: string): ResourceType =>
  ({ group: 'metallb.io', version: 'v1beta1', kind, plural, namespaced: true });

export const IPAddressPools = metallb('IPAddressPool', 'ipaddresspools');
export const L2Advertisements = metallb('L2Advertisement', 'l2advertisements');
export const ServiceL2Statuses = metallb('ServiceL2Status', 'servicel2statuses');
export const MetalLBs = metallb('MetalLB', 'metallbs');

export const fieldManagers = {
  controller: 'l2lb-controller',
  announcer: 'l2lb-announcer',
} as const;
