import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPAddressPool, IPAddressPoolSpec } from '../../schemas/generated/types.js';
import { allocatorPools, toAllocatorPool } from './config.js';
import type { AllocatorPool, IpRange } from './types.js';

const pool = (name: string | undefined, spec: IPAddressPoolSpec, generation = 1): IPAddressPool =>
  ({ metadata: { ...(name === undefined ? {} : { name }), generation }, spec });
const v4 = (first: bigint, last: bigint): IpRange => ({ family: 4, first, last });
const ip4 = (a: number, b: number, c: number, d: number): bigint => BigInt(((a * 256 + b) * 256 + c) * 256 + d);
const plain = (name: string, ranges: IpRange[]): AllocatorPool => ({ name, ranges, autoAssign: true, avoidBuggyIPs: false });

describe('toAllocatorPool', () => {
  const cases: ReadonlyArray<[string, IPAddressPool, AllocatorPool | undefined]> = [
    ['a pool with only addresses gets the defaults: autoAssign on, avoidBuggyIPs off, no serviceAllocation',
      pool('production', { addresses: ['192.168.1.240/28'] }), plain('production', [v4(ip4(192, 168, 1, 240), ip4(192, 168, 1, 255))])],
    ['ranges keep the order spec.addresses lists them, whatever their form',
      pool('mixed', { addresses: ['10.0.0.9', '10.0.0.1-10.0.0.3', 'fd00:1::/127'] }),
      plain('mixed', [v4(ip4(10, 0, 0, 9), ip4(10, 0, 0, 9)), v4(ip4(10, 0, 0, 1), ip4(10, 0, 0, 3)), { family: 6, first: 0xfd000001n << 96n, last: (0xfd000001n << 96n) | 1n }])],
    ['a prefix with host bits set uses its network, as MetalLB does',
      pool('hosty', { addresses: ['10.0.0.7/30'] }), plain('hosty', [v4(ip4(10, 0, 0, 4), ip4(10, 0, 0, 7))])],
    ['autoAssign false and avoidBuggyIPs true are kept',
      pool('manual', { addresses: ['10.0.0.1'], autoAssign: false, avoidBuggyIPs: true }),
      { name: 'manual', ranges: [v4(ip4(10, 0, 0, 1), ip4(10, 0, 0, 1))], autoAssign: false, avoidBuggyIPs: true }],
    ['an empty serviceAllocation becomes empty lists and no priority',
      pool('alloc', { addresses: [], serviceAllocation: {} }),
      { ...plain('alloc', []), serviceAllocation: { namespaces: [], namespaceSelectors: [], serviceSelectors: [] } }],
    ['serviceAllocation fields are mapped one to one',
      pool('alloc', { addresses: [], serviceAllocation: {
        priority: 10, namespaces: ['team-a'],
        namespaceSelectors: [{ matchLabels: { tier: 'prod' } }],
        serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }],
      } }),
      { ...plain('alloc', []), serviceAllocation: {
        priority: 10, namespaces: ['team-a'],
        namespaceSelectors: [{ matchLabels: { tier: 'prod' } }],
        serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }],
      } }],
    ['priority 0 is kept as 0, not dropped', pool('zero', { addresses: [], serviceAllocation: { priority: 0 } }),
      { ...plain('zero', []), serviceAllocation: { priority: 0, namespaces: [], namespaceSelectors: [], serviceSelectors: [] } }],
    ['a pool without a name is named \'\'', pool(undefined, { addresses: [] }), plain('', [])],
    ['one address that does not parse rejects the whole pool', pool('bad', { addresses: ['10.0.0.0/24', '10.0.0.300'] }), undefined],
    ['a reversed range rejects the pool', pool('bad', { addresses: ['10.0.0.9-10.0.0.1'] }), undefined],
    ['a prefix too long rejects the pool', pool('bad', { addresses: ['10.0.0.0/33'] }), undefined],
    ['a range mixing families rejects the pool', pool('bad', { addresses: ['10.0.0.1-fd00::1'] }), undefined],
  ];
  for (const [name, input, expected] of cases) it(name, () => assert.deepEqual(toAllocatorPool(input), expected));
});

describe('allocatorPools', () => {
  const good = pool('production', { addresses: ['10.0.0.0/30'] });
  const goodAfter = plain('production', [v4(ip4(10, 0, 0, 0), ip4(10, 0, 0, 3))]);
  const broken = pool('production', { addresses: ['10.0.0.0/99'], autoAssign: false }, 2);
  const other = pool('lab', { addresses: ['10.1.0.1'] });
  const otherAfter = plain('lab', [v4(ip4(10, 1, 0, 1), ip4(10, 1, 0, 1))]);
  const zeta = pool('zeta', { addresses: ['10.2.0.1'] });
  const zetaAfter = plain('zeta', [v4(ip4(10, 2, 0, 1), ip4(10, 2, 0, 1))]);

  // Each story is a sequence of pool lists handed over in turn with one `lastGood` map; after each,
  // the pools returned and the names remembered.
  const stories: ReadonlyArray<[string, ReadonlyArray<[IPAddressPool[], AllocatorPool[], string[]]>]> = [
    ['good pools are converted and remembered', [[[good], [goodAfter], ['production']]]],
    ['pools come back sorted by name whatever the input order', [
      [[zeta, good, other], [otherAfter, goodAfter, zetaAfter], ['lab', 'production', 'zeta']],
    ]],
    ['a pool whose addresses stop parsing keeps its last good version', [
      [[good, other], [otherAfter, goodAfter], ['lab', 'production']],
      [[broken, other], [otherAfter, goodAfter], ['lab', 'production']],
    ]],
    ['a pool that never parsed is left out', [[[broken, other], [otherAfter], ['lab']]]],
    ['a pool fixed again replaces the last good version', [
      [[good], [goodAfter], ['production']],
      [[broken], [goodAfter], ['production']],
      [[pool('production', { addresses: ['10.0.0.8'] }, 3)], [plain('production', [v4(ip4(10, 0, 0, 8), ip4(10, 0, 0, 8))])], ['production']],
    ]],
    ['a pool that disappears is dropped and its last good version forgotten', [
      [[good, other], [otherAfter, goodAfter], ['lab', 'production']],
      [[other], [otherAfter], ['lab']],
    ]],
    ['a pool that disappears and comes back broken is not resurrected from a forgotten version', [
      [[good], [goodAfter], ['production']],
      [[], [], []],
      [[broken], [], []],
    ]],
    ['a broken pool that disappears is forgotten too', [
      [[good], [goodAfter], ['production']],
      [[broken], [goodAfter], ['production']],
      [[other], [otherAfter], ['lab']],
    ]],
  ];
  for (const [name, steps] of stories) {
    it(name, () => {
      const lastGood = new Map<string, AllocatorPool>();
      steps.forEach(([pools, expected, remembered], step) => {
        assert.deepEqual(allocatorPools(pools, lastGood), expected, `pools after step ${step}`);
        assert.deepEqual([...lastGood.keys()].sort(), remembered, `remembered after step ${step}`);
      });
    });
  }

  it('the last good version kept for a broken pool is the one that parsed, not the broken spec', () => {
    const lastGood = new Map<string, AllocatorPool>();
    allocatorPools([good], lastGood);
    const [kept] = allocatorPools([broken], lastGood);
    assert.equal(kept?.autoAssign, true);
  });
});
