// Admission fuzz: manifests made by mutating the guides' pools and advertisements (config/samples/guides),
// from a seed, so a failing case can be replayed. Each is the request body as it goes on the wire (text:
// some mutations, such as duplicate keys, cannot be written as a JS object) and names its mutation.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { seededRandom } from '../lab/random.js';

export interface FuzzCase {
  readonly kind: 'IPAddressPool' | 'L2Advertisement';
  readonly name: string;
  readonly mutation: string;
  /** The JSON request body. */
  readonly body: string;
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  spec?: Record<string, unknown>;
}

export function guideManifests(guidesDir: string): Manifest[] {
  return readdirSync(guidesDir).filter((file) => file.endsWith('.yaml')).sort()
    .flatMap((file) => loadAll(readFileSync(join(guidesDir, file), 'utf8')) as Manifest[])
    .filter((doc) => doc !== null && (doc.kind === 'IPAddressPool' || doc.kind === 'L2Advertisement'));
}

const BAD_ADDRESSES = [
  '10.0.0.300/30', '192.168.1.250-192.168.1.240', '10.0.0.0/33', '0.0.0.0/0', '::/0', 'fd00::/129', '10.0.0.1-',
  '-10.0.0.1', '', ' ', '１９２.１６８.１.１', '192.168.1.0/24\u0000', '10.0.0.0/24,10.0.1.0/24', '10.0.0.0 /24',
  'fd00::1-fd00::', '::ffff:10.0.0.1/200', '10.0.0.0/8/8', 'localhost', '1e3.0.0.1', '0x0a.0.0.1', '010.0.0.1',
  'fd00::/128', '10.9.9.9/32', 'fe80::1%eth0', '\u202e10.0.0.1', '🙂',
];
const WRONG_TYPES: ReadonlyArray<readonly [string, unknown]> = [
  ['addresses', '10.0.0.0/24'], ['addresses', [1, 2]], ['addresses', { a: 1 }], ['addresses', null], ['autoAssign', 'yes'],
  ['autoAssign', 1], ['avoidBuggyIPs', 'no'], ['serviceAllocation', 'x'], ['serviceAllocation', { priority: '1' }],
  ['serviceAllocation', { namespaces: 'a' }], ['ipAddressPools', 'a'], ['ipAddressPools', [1]], ['interfaces', 'eth0'],
  ['interfaces', [true]], ['nodeSelectors', [{ matchLabels: { a: 1 } }]], ['nodeSelectors', 'x'],
];
const BAD_NAMES = ['', 'Bad_Name', 'é', 'a'.repeat(300), '-x', 'x-', '..', 'a/b', 'UPPER', '🙂'];
const BAD_INTERFACES = ['', 'eth0/1', 'a'.repeat(16), 'eth 0', 'eth:0', '\t'];
const BAD_SELECTORS: unknown[] = [
  { matchExpressions: [{ key: 'a', operator: 'Bogus', values: ['x'] }] },
  { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
  { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
  { matchLabels: { 'bad key!': 'v' } },
  { matchLabels: { a: 'v'.repeat(64) } },
];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

function nest(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { n: value };
  return value;
}

type Mutator = (m: Manifest, next: () => number) => { mutation: string; body?: string };

const poolMutators: Mutator[] = [
  (m, next) => { const bad = pick(next, BAD_ADDRESSES); (m.spec!.addresses as string[])[0] = bad; return { mutation: `bad address ${JSON.stringify(bad)}` }; },
  (m, next) => { const bad = pick(next, BAD_ADDRESSES); (m.spec!.addresses as string[]).push(bad); return { mutation: `bad address appended ${JSON.stringify(bad)}` }; },
  (m) => { const list = m.spec!.addresses as string[]; list.push(list[0]!); return { mutation: 'duplicate entry' }; },
  (m) => { m.spec!.addresses = []; return { mutation: 'empty addresses' }; },
  (m) => { delete m.spec!.addresses; return { mutation: 'no addresses' }; },
  (m, next) => {
    const n = pick(next, [1_000, 10_000, 100_000]);
    m.spec!.addresses = Array.from({ length: n }, (_, i) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    return { mutation: `${n}-entry list` };
  },
  (m) => { m.spec!.addresses = ['10.77.0.0/16', `${'9'.repeat(1 << 20)}`]; return { mutation: '1 MiB entry' }; },
  (m, next) => { const [field, value] = pick(next, WRONG_TYPES); m.spec![field] = value; return { mutation: `wrong type ${field}=${JSON.stringify(value)}` }; },
  (m, next) => { const ns = pick(next, BAD_NAMES); m.spec!.serviceAllocation = { namespaces: [ns] }; return { mutation: `bad namespace ${JSON.stringify(ns).slice(0, 20)}` }; },
  (m, next) => { const selector = pick(next, BAD_SELECTORS); m.spec!.serviceAllocation = { serviceSelectors: [selector] }; return { mutation: 'bad service selector' }; },
  (m) => { m.spec!.addresses = ['fd00:77::5/128', '10.66.0.9/32']; return { mutation: '/128 and /32' }; },
];

const advertisementMutators: Mutator[] = [
  (m, next) => { const name = pick(next, BAD_NAMES); m.spec = { ...m.spec, ipAddressPools: [name] }; return { mutation: `bad pool name ${JSON.stringify(name).slice(0, 20)}` }; },
  (m, next) => { const name = pick(next, BAD_INTERFACES); m.spec = { ...m.spec, interfaces: [name] }; return { mutation: `bad interface ${JSON.stringify(name)}` }; },
  (m) => { m.spec = { ...m.spec, interfaces: ['eth0', 'eth0'] }; return { mutation: 'duplicate interface' }; },
  (m, next) => { const selector = pick(next, BAD_SELECTORS); m.spec = { ...m.spec, nodeSelectors: [selector] }; return { mutation: 'bad node selector' }; },
  (m, next) => { const [field, value] = pick(next, WRONG_TYPES); m.spec = { ...m.spec, [field]: value }; return { mutation: `wrong type ${field}=${JSON.stringify(value)}` }; },
  (m) => { m.spec = { ...m.spec, interfaces: Array.from({ length: 100_000 }, (_, i) => `e${i}`) }; return { mutation: '100000-entry interfaces' }; },
  (m) => { m.spec = { ...m.spec, ipAddressPools: ['x'.repeat(1 << 20)] }; return { mutation: '1 MiB pool name' }; },
];

const anyMutators: Mutator[] = [
  (m, next) => { const name = pick(next, BAD_NAMES); m.metadata.name = name; return { mutation: `bad name ${JSON.stringify(name).slice(0, 20)}` }; },
  (m) => { m.metadata.namespace = 'default'; return { mutation: 'outside metallb-system' }; },
  (m) => { (m.spec ??= {}).unknownField = nest(200); return { mutation: 'unknown field nested 200 deep' }; },
  (m) => { m.metadata.annotations = { big: 'x'.repeat(1 << 20) }; return { mutation: '1 MiB annotation' }; },
  (m) => { m.metadata.labels = { 'ünï': 'cödé' }; return { mutation: 'unicode label' }; },
  (m) => {
    const text = JSON.stringify(m);
    // The same key twice: decoders keep the last; the first must not slip through unvalidated.
    return { mutation: 'duplicate spec key', body: text.replace('"spec":{', '"spec":{"zz":1,"zz":2,') };
  },
  (m) => {
    const text = JSON.stringify(m);
    return { mutation: 'duplicate spec', body: text.replace(/}$/, ',"spec":{"addresses":["0.0.0.0/0"],"ipAddressPools":["..."]}}') };
  },
  (m) => { const text = JSON.stringify(m); return { mutation: 'truncated JSON', body: text.slice(0, Math.floor(text.length / 2)) }; },
  () => ({ mutation: 'valid (renamed only)' }),
];

/** `count` cases from the guides' manifests, each renamed `fuzz-<i>` unless its mutation is the name. */
export function admissionFuzzCases(guides: readonly Manifest[], count: number, seed: number): FuzzCase[] {
  const next = seededRandom(seed);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const source = pick(next, guides);
    const manifest = structuredClone(source);
    manifest.metadata = { ...manifest.metadata, name: `fuzz-${i}`, namespace: 'metallb-system' };
    const specific = manifest.kind === 'IPAddressPool' ? poolMutators : advertisementMutators;
    const mutator = next() < 0.6 ? pick(next, specific) : pick(next, anyMutators);
    const { mutation, body } = mutator(manifest, next);
    cases.push({ kind: manifest.kind as FuzzCase['kind'], name: manifest.metadata.name, mutation, body: body ?? JSON.stringify(manifest) });
  }
  return cases;
}
