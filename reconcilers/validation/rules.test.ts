import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { badManifests } from '../../e2e/cases/bad-manifests.js';
import type { IPAddressPool } from '../../schemas/generated/types.js';
import { validateIPAddressPool } from '../../schemas/validators.js';
import { computePoolStatus } from '../allocator/pools-status.js';
import { validateManifests } from './manifests.js';
import { validateAdvertisement, validatePool } from './rules.js';
import { guideCapacity } from '../../e2e/cases/guide-pools.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const guidesDir = join(repoRoot, 'config', 'samples', 'guides');

function validate(manifest: unknown, existing: readonly unknown[] = []) {
  const kind = (manifest as { kind?: string }).kind;
  const pools = existing.filter((p): p is IPAddressPool => validateIPAddressPool(p));
  assert.equal(pools.length, existing.length, 'every existing pool of a case is itself valid');
  return kind === 'IPAddressPool' ? validatePool(manifest, pools) : validateAdvertisement(manifest);
}

describe('bad manifests are refused with a message naming object, field and value', () => {
  it('has at least 30 cases with distinct names', () => {
    assert.ok(badManifests.length >= 30, `${badManifests.length} cases`);
    assert.equal(new Set(badManifests.map((c) => c.name)).size, badManifests.length);
  });
  for (const testCase of badManifests) {
    it(testCase.name, () => {
      const result = validate(testCase.manifest, testCase.existing);
      assert.equal(result.ok, false, 'refused');
      if (result.ok) return;
      const matches = (message: string): boolean =>
        typeof testCase.expectedMessage === 'string' ? message.includes(testCase.expectedMessage) : testCase.expectedMessage.test(message);
      assert.ok(result.errors.some(matches), `expected ${String(testCase.expectedMessage)}\n got:\n  ${result.errors.join('\n  ')}`);
      const { kind, metadata } = testCase.manifest as { kind: string; metadata: { name: string } };
      for (const error of result.errors) assert.ok(error.startsWith(`${kind.toLowerCase()} "${metadata.name}": `), error);
    });
  }
});

describe('valid pools and advertisements are admitted', () => {
  const production = { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'production-pool', namespace: 'metallb-system' }, spec: { addresses: ['192.168.1.240/28'] } };
  const cases: ReadonlyArray<{ name: string; manifest: unknown; existing?: unknown[] }> = [
    { name: 'an update of a pool is not an overlap with its old self', manifest: production, existing: [production] },
    {
      name: 'adjacent ranges of two pools do not overlap',
      manifest: { ...production, metadata: { name: 'next-pool', namespace: 'metallb-system' }, spec: { addresses: ['192.168.1.224/28'] } },
      existing: [production],
    },
    {
      name: 'the same numbers in IPv4 and IPv4-mapped IPv6 are different families',
      manifest: { ...production, metadata: { name: 'v6-pool', namespace: 'metallb-system' }, spec: { addresses: ['::ffff:c0a8:1f0/124'] } },
      existing: [production],
    },
    {
      name: 'a dual-stack pool with serviceAllocation',
      manifest: {
        ...production,
        spec: {
          addresses: ['192.168.1.240/28', 'fd00:1::/64'],
          serviceAllocation: { priority: 10, namespaces: ['web'], namespaceSelectors: [{ matchLabels: { team: 'web' } }], serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }] },
        },
      },
    },
    {
      name: 'an advertisement with every kind of selector',
      manifest: {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'L2Advertisement',
        metadata: { name: 'full', namespace: 'metallb-system' },
        spec: {
          ipAddressPools: ['production-pool'],
          ipAddressPoolSelectors: [{ matchLabels: { environment: 'production' } }],
          nodeSelectors: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/edge', operator: 'DoesNotExist' }] }, { matchLabels: { 'network-zone': '' } }],
          interfaces: ['eth0', 'bond0.100'],
        },
      },
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = validate(testCase.manifest, testCase.existing);
      assert.deepEqual(result.ok ? [] : result.errors, []);
    });
  }
  it('a manifest without a namespace is placed in the default namespace given', () => {
    const { namespace: _namespace, ...metadata } = production.metadata;
    assert.equal(validatePool({ ...production, metadata }, [], { defaultNamespace: 'metallb-system' }).ok, true);
    assert.equal(validatePool({ ...production, metadata }, []).ok, false);
  });
});


describe('every guide example passes validation', () => {
  const files = readdirSync(guidesDir).filter((f) => f.endsWith('.yaml')).sort();
  it('extracted all 16 metallb.io examples of the two guides', () => assert.equal(files.length, 16));
  const seen = new Set<string>();
  for (const file of files) {
    it(file, () => {
      const objects = yaml.loadAll(readFileSync(join(guidesDir, file), 'utf8'));
      const report = validateManifests(objects.map((object, i) => ({ origin: `${file}#${i + 1}`, object })));
      assert.deepEqual(report.errors, []);
      assert.deepEqual(report.notes, []);
      const pools = objects.filter((o): o is IPAddressPool => validateIPAddressPool(o));
      for (const pool of pools) {
        const key = `${pool.metadata.name ?? ''}@${file.slice(0, 6)}`;
        seen.add(key);
        const status = computePoolStatus({ pool, otherPools: pools, assigned: new Map(), now: new Date(0) });
        assert.equal(status.availableIPv4, guideCapacity[key], key);
        assert.equal(status.conditions?.[0]?.status, 'True', key);
      }
    });
  }
  it('checked the capacity of every pool the guides define', () => assert.deepEqual([...seen].sort(), Object.keys(guideCapacity).sort()));
});

describe('overlaps are found by a sweep, each blamed on the later entry, citing the earliest it overlaps', () => {
  const pool = (addresses: string[], name = 'p'): unknown => ({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system' }, spec: { addresses } });
  const errors = (addresses: string[], existing: unknown[] = []): string[] => {
    const result = validate(pool(addresses), existing);
    return result.ok ? [] : [...result.errors];
  };
  const cases: Array<[string, string[], string[]]> = [
    ['two inside a wide first entry: both cite it', ['10.0.0.0/28', '10.0.0.2-10.0.0.3', '10.0.0.5'], [
      'ipaddresspool "p": spec.addresses[1] "10.0.0.2-10.0.0.3": overlaps spec.addresses[0] "10.0.0.0/28"',
      'ipaddresspool "p": spec.addresses[2] "10.0.0.5": overlaps spec.addresses[0] "10.0.0.0/28"',
    ]],
    ['a wide last entry is blamed, citing the earliest it overlaps', ['10.0.0.2-10.0.0.3', '10.0.0.5', '10.0.0.0/28'], [
      'ipaddresspool "p": spec.addresses[2] "10.0.0.0/28": overlaps spec.addresses[0] "10.0.0.2-10.0.0.3"',
    ]],
    ['the same range twice is a duplicate', ['fd00::/126', '10.0.0.0/30', 'fd00::0-fd00::3'], [
      'ipaddresspool "p": spec.addresses[2] "fd00::0-fd00::3": duplicate of spec.addresses[0] "fd00::/126"',
    ]],
    ['the same numbers in two families never overlap', ['10.0.0.0/30', '::a00:0/126'], []],
  ];
  for (const [name, addresses, expected] of cases) it(name, () => assert.deepEqual(errors(addresses), expected));

  it('an entry overlapping another pool cites that pool\'s entry, once per pool', () => {
    assert.deepEqual(errors(['10.0.1.0/24'], [pool(['10.0.0.0/24', '10.0.1.128/25', '10.0.1.0/26'], 'q')]), [
      'ipaddresspool "p": spec.addresses[0] "10.0.1.0/24": overlaps ipaddresspool "q" spec.addresses[1] "10.0.1.128/25" (10.0.1.128-10.0.1.255)',
    ]);
  });

  it('100,000 entries, every one overlapping, against a pool of 100,000 more: checked without quadratic work', { timeout: 20_000 }, () => {
    const many = Array.from({ length: 100_000 }, (_, i) => `fd00:0:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`);
    const twice = [...many, ...many.slice(0, 10)];
    const result = validate(pool(twice), [pool(many, 'q')]);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.errors.length, 100_010 + 10);
  });
});

describe('long lists cost linear work', () => {
  it('an advertisement of 100,000 interfaces, some twice: each duplicate named, in well under the test timeout', { timeout: 20_000 }, () => {
    const interfaces = [...Array.from({ length: 100_000 }, (_, i) => `e${i}`), 'e7', 'e99999'];
    const result = validateAdvertisement({ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'wide', namespace: 'metallb-system' }, spec: { interfaces } });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.deepEqual(result.errors, [
        'l2advertisement "wide": spec.interfaces[100000] "e7": duplicate of spec.interfaces[7]',
        'l2advertisement "wide": spec.interfaces[100001] "e99999": duplicate of spec.interfaces[99999]',
      ]);
    }
  });
});
