// ajv validators compiled at load time from the same schema objects the CRDs are generated from, so the
// webhook, the CLI and the API server judge an object by one schema. Compiling three small schemas costs
// a few milliseconds at start-up, and leaves no generated JavaScript to go stale.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from './crd-source.js';
import type { IPAddressPool, L2Advertisement, ServiceL2Status } from './generated/types.js';
import { ipAddressPoolSchema } from './ipaddresspool.js';
import { l2AdvertisementSchema } from './l2advertisement.js';
import { serviceL2StatusSchema } from './servicel2status.js';

// ajv-formats is CommonJS with a default export; under NodeNext its namespace is what `import` yields.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * The schema the validators check: the CRD schema, made as strict as `kubectl apply` with server-side
 * field validation is. Unknown fields are errors (the API server would drop or refuse them), and metadata
 * must carry a name: a manifest without one cannot be applied.
 */
export function strictVariant(schema: JsonSchema, top = true): Record<string, unknown> {
  const result: Record<string, unknown> = { ...schema };
  if (schema.items !== undefined) result.items = strictVariant(schema.items, false);
  if (typeof schema.additionalProperties === 'object') {
    result.additionalProperties = strictVariant(schema.additionalProperties, false);
  }
  if (schema.properties !== undefined) {
    const properties: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(schema.properties)) {
      properties[name] = top && name === 'metadata' ? metadataSchema : strictVariant(property, false);
    }
    result.properties = properties;
    result.additionalProperties = false;
  }
  if (top) result.required = [...new Set([...(schema.required ?? []), 'apiVersion', 'kind', 'metadata'])];
  return result;
}

const metadataSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
  required: ['name'],
};

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  // The structural-schema extensions mean something to the API server only; declared so strict mode
  // accepts them instead of taking them for typos.
  for (const keyword of [
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-int-or-string',
    'x-kubernetes-embedded-resource',
  ]) {
    ajv.addKeyword({ keyword, schemaType: ['string', 'array', 'boolean'] });
  }
  return ajv;
}

const ajv = newAjv();

export const validateIPAddressPool: ValidateFunction<IPAddressPool> = ajv.compile<IPAddressPool>(
  strictVariant(ipAddressPoolSchema),
);
export const validateL2Advertisement: ValidateFunction<L2Advertisement> = ajv.compile<L2Advertisement>(
  strictVariant(l2AdvertisementSchema),
);
export const validateServiceL2Status: ValidateFunction<ServiceL2Status> = ajv.compile<ServiceL2Status>(
  strictVariant(serviceL2StatusSchema),
);

export type SchemaError = ErrorObject;
