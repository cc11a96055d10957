// The admission rules for IPAddressPools and L2Advertisements, pure, shared by the webhook and by
// `l2lb validate`. MetalLB's webhook rejects overlaps; we also refuse what it lets through and later
// ignores (duplicates, broken selectors), each with a message naming the object, the field and the value.

import type { ValidateFunction } from 'ajv';
import type { IPAddressPool, L2Advertisement, LabelSelector } from '../../schemas/generated/types.js';
import { validateIPAddressPool, validateL2Advertisement } from '../../schemas/validators.js';
import { formatRange, parseAddressRange, rangesOverlap, type IpRange } from '../../arp/ipaddr.js';
import { selectorProblems } from '../layer2/labels.js';
import { formatProblem, objectLabel, schemaProblems, type FieldProblem } from './messages.js';

/** l2lb, like MetalLB, reads its configuration from one namespace only. */
export const configNamespace = 'metallb-system';

export type Validated<T> = { readonly ok: true; readonly object: T } | { readonly ok: false; readonly errors: readonly string[] };

export interface ValidationContext {
  /** Namespace for an object whose manifest names none (the webhook's request namespace, `-n` of the CLI). */
  readonly defaultNamespace?: string;
}

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function nameOf(object: unknown): string | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const name = (metadata as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

function metadataProblems(object: { metadata: { name?: string; namespace?: string } }, context: ValidationContext): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { name = '', namespace = context.defaultNamespace } = object.metadata;
  if (name.length > 253 || !dnsSubdomain.test(name)) {
    problems.push({ field: 'metadata.name', value: name, reason: 'not a valid name: must be a lowercase DNS subdomain' });
  }
  if (namespace === undefined || namespace === '') {
    problems.push({ field: 'metadata.namespace', reason: `is required: l2lb reads only namespace "${configNamespace}"` });
  } else if (namespace !== configNamespace) {
    problems.push({ field: 'metadata.namespace', value: namespace, reason: `must be "${configNamespace}": l2lb ignores other namespaces` });
  }
  return problems;
}

function checkSchema<T extends { metadata: { name?: string; namespace?: string } }>(
  kind: string,
  object: unknown,
  validate: ValidateFunction<T>,
  context: ValidationContext,
  semantic: (object: T) => FieldProblem[],
): Validated<T> {
  const label = objectLabel(kind, nameOf(object));
  if (!validate(object)) {
    // The namespace rule is still worth hearing about when the schema fails, if metadata can be read.
    const metadata = (object as { metadata?: unknown } | null)?.metadata;
    const readable = typeof metadata === 'object' && metadata !== null &&
      ['name', 'namespace'].every((key) => ['string', 'undefined'].includes(typeof (metadata as Record<string, unknown>)[key]));
    const problems = [
      ...schemaProblems(validate.errors ?? [], object),
      ...(readable ? metadataProblems({ metadata: metadata as { name?: string; namespace?: string } }, context) : []),
    ];
    return { ok: false, errors: problems.map((p) => formatProblem(label, p)) };
  }
  const problems = [...metadataProblems(object, context), ...semantic(object)];
  return problems.length === 0 ? { ok: true, object } : { ok: false, errors: problems.map((p) => formatProblem(label, p)) };
}

/** JSON text with keys sorted, so two selectors written in a different key order still compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function duplicateProblems<T>(field: string, items: readonly T[] | undefined, show: (item: T) => unknown = (i) => i): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const keys = (items ?? []).map(canonical);
  (items ?? []).forEach((item, i) => {
    const first = keys.indexOf(keys[i] ?? '');
    if (first < i) problems.push({ field: `${field}[${i}]`, value: show(item), reason: `duplicate of ${field}[${first}]` });
  });
  return problems;
}

function selectorListProblems(field: string, selectors: readonly LabelSelector[] | undefined): FieldProblem[] {
  return [
    ...(selectors ?? []).flatMap((selector, i) =>
      selectorProblems(selector).map((p) => ({ field: `${field}[${i}]${p.path}`, value: p.value, reason: p.reason })),
    ),
    ...duplicateProblems(field, selectors, () => undefined),
  ];
}

interface ParsedEntry {
  readonly index: number;
  readonly text: string;
  readonly range: IpRange;
}

/** The entries of `spec.addresses` that parse; the ones that do not are reported by `addressProblems`. */
export function parsedAddresses(pool: IPAddressPool): ParsedEntry[] {
  return pool.spec.addresses.flatMap((text, index) => {
    const parsed = parseAddressRange(text);
    return parsed.ok ? [{ index, text, range: parsed.value }] : [];
  });
}

/** ` (10.0.0.0-10.0.0.15)` when the entry's text does not already show its range. */
function spelledOut(entry: ParsedEntry): string {
  const range = formatRange(entry.range);
  return range === entry.text.trim() ? '' : ` (${range})`;
}

function addressProblems(pool: IPAddressPool, others: readonly IPAddressPool[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { addresses } = pool.spec;
  // MetalLB refuses an empty pool ("pool has no prefixes defined"): it could never allocate anything.
  if (addresses.length === 0) problems.push({ field: 'spec.addresses', reason: 'must list at least one CIDR, range or address' });
  addresses.forEach((text, index) => {
    const parsed = parseAddressRange(text);
    if (!parsed.ok) problems.push({ field: `spec.addresses[${index}]`, value: text, reason: parsed.reason });
  });
  const entries = parsedAddresses(pool);
  for (const entry of entries) {
    const field = `spec.addresses[${entry.index}]`;
    const earlier = entries.find((other) => other.index < entry.index && rangesOverlap(other.range, entry.range));
    if (earlier !== undefined) {
      const same = earlier.range.first === entry.range.first && earlier.range.last === entry.range.last;
      problems.push({
        field,
        value: entry.text,
        reason: same
          ? `duplicate of spec.addresses[${earlier.index}] ${JSON.stringify(earlier.text)}`
          : `overlaps spec.addresses[${earlier.index}] ${JSON.stringify(earlier.text)}`,
      });
    }
    for (const other of others) {
      if (other.metadata.name === pool.metadata.name) continue;
      const clash = parsedAddresses(other).find((o) => rangesOverlap(o.range, entry.range));
      if (clash !== undefined) {
        problems.push({
          field,
          value: entry.text,
          reason: `overlaps ipaddresspool ${JSON.stringify(other.metadata.name ?? '')} spec.addresses[${clash.index}] ${JSON.stringify(clash.text)}${spelledOut(clash)}`,
        });
      }
    }
  }
  return problems;
}

function serviceAllocationProblems(pool: IPAddressPool): FieldProblem[] {
  const allocation = pool.spec.serviceAllocation;
  if (allocation === undefined) return [];
  const field = 'spec.serviceAllocation';
  return [
    ...(allocation.namespaces ?? []).flatMap((namespace, i) =>
      namespace.length <= 63 && dnsLabel.test(namespace)
        ? []
        : [{ field: `${field}.namespaces[${i}]`, value: namespace, reason: 'not a valid namespace name: must be a lowercase DNS label' }],
    ),
    ...duplicateProblems(`${field}.namespaces`, allocation.namespaces),
    ...selectorListProblems(`${field}.namespaceSelectors`, allocation.namespaceSelectors),
    ...selectorListProblems(`${field}.serviceSelectors`, allocation.serviceSelectors),
  ];
}

/**
 * Validates an IPAddressPool against the schema and against `existingPools` (the other pools in the
 * cluster or in the same files; a pool of the same name is the object's old self and is skipped).
 */
export function validatePool(object: unknown, existingPools: readonly IPAddressPool[], context: ValidationContext = {}): Validated<IPAddressPool> {
  return checkSchema('IPAddressPool', object, validateIPAddressPool, context, (pool) => [
    ...addressProblems(pool, existingPools),
    ...serviceAllocationProblems(pool),
  ]);
}

// Linux limits interface names to IFNAMSIZ - 1 = 15 bytes, and `/` or whitespace never appear in one.
const interfaceName = /^[^/\s:]{1,15}$/;

export function validateAdvertisement(object: unknown, context: ValidationContext = {}): Validated<L2Advertisement> {
  return checkSchema('L2Advertisement', object, validateL2Advertisement, context, (advertisement) => {
    const spec = advertisement.spec ?? {};
    return [
      ...(spec.ipAddressPools ?? []).flatMap((name, i) =>
        name.length <= 253 && dnsSubdomain.test(name)
          ? []
          : [{ field: `spec.ipAddressPools[${i}]`, value: name, reason: 'not a valid pool name: must be a lowercase DNS subdomain' }],
      ),
      ...duplicateProblems('spec.ipAddressPools', spec.ipAddressPools),
      ...selectorListProblems('spec.ipAddressPoolSelectors', spec.ipAddressPoolSelectors),
      ...selectorListProblems('spec.nodeSelectors', spec.nodeSelectors),
      ...(spec.interfaces ?? []).flatMap((name, i) =>
        interfaceName.test(name)
          ? []
          : [{ field: `spec.interfaces[${i}]`, value: name, reason: 'not a valid interface name: 1 to 15 characters, no "/", ":" or whitespace' }],
      ),
      ...duplicateProblems('spec.interfaces', spec.interfaces),
    ];
  });
}
