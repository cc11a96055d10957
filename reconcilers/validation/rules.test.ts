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
