// The CRDs l2lb serves, in one list: the generator and the validators iterate over it.

import { conditionSchema, labelSelectorSchema } from './common.js';
import type { CrdSource, JsonSchema } from './crd-source.js';
import { ipAddressPoolCrd } from './ipaddresspool.js';
import { l2AdvertisementCrd } from './l2advertisement.js';
import { metalLBCrd } from './metallb.js';
import { serviceL2StatusCrd } from './servicel2status.js';

export { group, version } from './crd-source.js';
export type { CrdSource, JsonSchema, PrinterColumn } from './crd-source.js';

export const crds: readonly CrdSource[] = [ipAddressPoolCrd, l2AdvertisementCrd, serviceL2StatusCrd, metalLBCrd];

/** Shared sub-schemas that get one named type, whichever CRD they appear in. */
export const sharedTypeNames: ReadonlyArray<readonly [JsonSchema, string]> = [
  [labelSelectorSchema, 'LabelSelector'],
  [labelSelectorSchema.properties.matchExpressions.items, 'LabelSelectorRequirement'],
  [conditionSchema, 'Condition'],
];
