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
  // One map, not indexOf per item: a list of 100,000 must not cost 10^10 comparisons.
  const firstIndex = new Map<string, number>();
  (items ?? []).forEach((item, i) => {
    const key = canonical(item);
    const first = firstIndex.get(key);
    if (first === undefined) firstIndex.set(key, i);
    else problems.push({ field: `${field}[${i}]`, value: show(item), reason: `duplicate of ${field}[${first}]` });
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

/** Ranges sorted by family and first address, each with the entry of largest `last` up to it: "does any
 *  range overlap [first, last]?" is then one binary search, so a pool of 100,000 entries is checked in
 *  O(n log n), not O(n²) (an admission request must answer well inside the API server's timeout). */
class RangeIndex {
  private readonly sorted: ParsedEntry[];
  private readonly reach: ParsedEntry[];

  constructor(entries: readonly ParsedEntry[]) {
    this.sorted = [...entries].sort((a, b) => order(a, b));
    this.reach = [];
    let widest: ParsedEntry | undefined;
    for (const entry of this.sorted) {
      if (widest === undefined || widest.range.family !== entry.range.family || entry.range.last > widest.range.last) widest = entry;
      this.reach.push(widest);
    }
  }

  /** An entry overlapping `range`, if any. */
  overlapping(range: IpRange): ParsedEntry | undefined {
    // The last entry of the same family whose first address is at or before range.last.
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const entry = this.sorted[mid]!.range;
      if (entry.family < range.family || (entry.family === range.family && entry.first <= range.last)) lo = mid + 1;
      else hi = mid;
    }
    const candidate = this.reach[lo - 1];
    return candidate !== undefined && rangesOverlap(candidate.range, range) ? candidate : undefined;
  }
}

function order(a: ParsedEntry, b: ParsedEntry): number {
  if (a.range.family !== b.range.family) return a.range.family < b.range.family ? -1 : 1;
  if (a.range.first !== b.range.first) return a.range.first < b.range.first ? -1 : 1;
  return a.index - b.index;
}

/** For each entry that overlaps an entry listed before it, the earliest such entry found by a sweep. */
function overlapsWithin(entries: readonly ParsedEntry[]): Map<ParsedEntry, ParsedEntry> {
  const found = new Map<ParsedEntry, ParsedEntry>();
  const note = (later: ParsedEntry, earlier: ParsedEntry): void => {
    const known = found.get(later);
    if (known === undefined || earlier.index < known.index) found.set(later, earlier);
  };
  let widest: ParsedEntry | undefined;
  for (const entry of [...entries].sort(order)) {
    if (widest !== undefined && rangesOverlap(widest.range, entry.range)) {
      if (widest.index < entry.index) note(entry, widest);
      else note(widest, entry);
    }
    if (widest === undefined || widest.range.family !== entry.range.family || entry.range.last > widest.range.last) widest = entry;
  }
  return found;
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
  const within = overlapsWithin(entries);
  const otherPools = others.filter((other) => other.metadata.name !== pool.metadata.name)
    .map((other) => ({ name: other.metadata.name ?? '', index: new RangeIndex(parsedAddresses(other)) }));
  for (const entry of entries) {
    const field = `spec.addresses[${entry.index}]`;
    const earlier = within.get(entry);
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
    for (const other of otherPools) {
      const clash = other.index.overlapping(entry.range);
      if (clash !== undefined) {
        problems.push({
          field,
          value: entry.text,
          reason: `overlaps ipaddresspool ${JSON.stringify(other.name)} spec.addresses[${clash.index}] ${JSON.stringify(clash.text)}${spelledOut(clash)}`,
        });
      }
    }
  }
  return problems.sort((a, b) => fieldIndex(a.field) - fieldIndex(b.field));
}

/** The n of `spec.addresses[n]` (-1 for the list itself): problems are reported in the list's order. */
function fieldIndex(field: string): number {
  return Number(/\[(\d+)\]$/.exec(field)?.[1] ?? '-1');
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
