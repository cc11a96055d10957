// What one CRD is made of in `schemas/`: the schema of the whole object plus the few facts the CRD
// manifest needs around it. `tools/generate.ts` turns these into the CRD YAML and the TS types; the ajv
// validators compile the same objects at load time.

export interface JsonSchema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number';
  readonly description?: string;
  readonly properties?: { readonly [name: string]: JsonSchema };
  readonly additionalProperties?: JsonSchema | boolean;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly required?: readonly string[];
  readonly enum?: readonly string[];
  readonly default?: unknown;
  readonly format?: string;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
  readonly 'x-kubernetes-int-or-string'?: true;
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'boolean' | 'date' | 'number';
  readonly jsonPath: string;
  readonly priority?: number;
  readonly description?: string;
}

export interface CrdSource {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly schema: JsonSchema;
  /** Sub-schemas that get a name of their own in the generated types (found by identity). */
  readonly typeNames: ReadonlyArray<readonly [JsonSchema, string]>;
  readonly printerColumns: readonly PrinterColumn[];
}

export const group = 'metallb.io';
export const version = 'v1beta1';
