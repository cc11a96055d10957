// The allocator over time: pools changing under held addresses (MetalLB's TestConfigReload), controller
// restarts (restore), the usage counts and their change signal, determinism, and sizes no walk could cover.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Allocator } from './allocator.js';
import type { AllocatorPool } from './types.js';
import { play, pool, svc, type Story } from '../../testkit/allocator.js';
import { serviceRequest } from './service-request.js';

describe('Allocator.setPools: held addresses when pools change', () => {
  const initial = [pool('test', ['1.2.3.0/30', '1000::/126']), pool('unused', ['1.2.4.0/30', '1001::/126'])];
  const rows: ReadonlyArray<{ name: string; pools: AllocatorPool[]; s1: string | undefined; s2: string | undefined }> = [
    { name: 'the same pools change nothing', pools: initial, s1: 'test', s2: 'test' },
    { name: 'a grown pool keeps its addresses', pools: [pool('test', ['1.2.3.0/24', '1000::/120'])], s1: 'test', s2: 'test' },
    { name: 'a shrunk pool that still holds them keeps them', pools: [pool('test', ['1.2.3.0/31', '1000::/127'])], s1: 'test', s2: 'test' },
    { name: 'an IPv4 address shrunk out of its pool is released', pools: [pool('test', ['1.2.3.2/31', '1000::/126'])], s1: undefined, s2: 'test' },
    { name: 'an IPv6 address shrunk out of its pool is released', pools: [pool('test', ['1.2.3.0/30', '1000::2/127'])], s1: 'test', s2: undefined },
    { name: 'a renamed pool keeps its addresses under the new name', pools: [pool('test2', ['1.2.3.0/30', '1000::/126'])], s1: 'test2', s2: 'test2' },
    {
      name: 'a split pool keeps each address in the part that holds it',
      pools: [pool('test', ['1.2.3.0/31', '1000::2/127']), pool('test2', ['1.2.3.2/31', '1000::/127'])],
      s1: 'test',
      s2: 'test2',
    },
    { name: 'turning avoidBuggyIPs on releases a .0 address', pools: [pool('test2', ['1.2.3.0/31', '1000::/127'], { avoidBuggyIPs: true })], s1: undefined, s2: 'test2' },
    { name: 'a deleted pool releases its addresses', pools: [initial[1] as AllocatorPool], s1: undefined, s2: undefined },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const allocator = play({
        name: row.name,
        pools: initial,
        steps: [{ assign: svc('s1', { ips: '1.2.3.0' }) }, { assign: svc('s2', { ips: '1000::', families: [6] }) }],
      });
      const change = allocator.setPools(row.pools);
      assert.equal(allocator.assignment('s1')?.pool, row.s1);
      assert.equal(allocator.assignment('s2')?.pool, row.s2);
      const expectInvalid = [row.s1 === undefined ? 's1' : '', row.s2 === undefined ? 's2' : ''].filter((s) => s !== '');
      const expectRepooled = [row.s1 !== undefined && row.s1 !== 'test' ? 's1' : '', row.s2 !== undefined && row.s2 !== 'test' ? 's2' : ''].filter((s) => s !== '');
      assert.deepEqual(change.invalidated, expectInvalid);
      assert.deepEqual(change.repooled, expectRepooled);
    });
  }

  const stories: Story[] = [
    {
      name: 'a released Service gets a new address on its next reconcile, or goes pending',
      pools: [pool('p', ['10.0.0.0/30'])],
      steps: [
        { assign: svc('s1'), ips: ['10.0.0.0'] },
        { assign: svc('s2'), ips: ['10.0.0.1'] },
        { setPools: [pool('p', ['10.0.0.0/30'], { avoidBuggyIPs: true })], invalidated: ['s1'], usage: { p: [1, 0] } },
        { assign: svc('s1'), ips: ['10.0.0.2'], changed: true },
        { setPools: [pool('p', ['10.0.0.1/32'])], invalidated: ['s1'] },
        { assign: svc('s1'), code: 'NoAvailableIPs' },
        { assign: svc('s2'), ips: ['10.0.0.1'], changed: false },
      ],
    },
  ];
  for (const story of stories) it(story.name, () => void play(story));
});

describe('Allocator.restore: no address changes across controller restarts', () => {
  const p = pool('p', ['10.0.0.0/29']);
  const stories: Story[] = [
    {
      name: 'restored addresses are kept even where lower ones are free, and new Services go around them',
      pools: [p],
      steps: [
        { restore: { svc: svc('s1'), ips: ['10.0.0.5'], pool: 'p' }, ips: ['10.0.0.5'], pool: 'p', changed: false },
        { restore: { svc: svc('s2'), ips: ['10.0.0.0'] }, ips: ['10.0.0.0'] },
        { assign: svc('s1'), ips: ['10.0.0.5'], changed: false },
        { assign: svc('s3'), ips: ['10.0.0.1'] },
        { assign: svc('s2'), ips: ['10.0.0.0'], changed: false, usage: { p: [3, 0] } },
      ],
    },
    {
      name: 'sharers restore onto one address; a Service that may not share is refused and allocated afresh',
      pools: [p],
      steps: [
        { restore: { svc: svc('s1', { share: 'k', ports: ['TCP/80'] }), ips: ['10.0.0.5'] }, ips: ['10.0.0.5'] },
        { restore: { svc: svc('s2', { share: 'k', ports: ['TCP/443'] }), ips: ['10.0.0.5'] }, ips: ['10.0.0.5'], usage: { p: [1, 0] } },
        { restore: { svc: svc('s3'), ips: ['10.0.0.5'] }, code: 'SharingKeyMismatch' },
        { assign: svc('s3'), ips: ['10.0.0.0'] },
      ],
    },
    {
      name: 'what no longer fits is refused: address outside every pool, changed request, wrong family, nothing held',
      pools: [p, pool('q', ['10.1.0.0/29'])],
      steps: [
        { restore: { svc: svc('s1'), ips: ['192.168.9.9'] }, code: 'IPNotInAnyPool' },
        { assign: svc('s1'), ips: ['10.0.0.0'] },
        { restore: { svc: svc('s2', { ips: '10.0.0.3' }), ips: ['10.0.0.5'] }, code: 'RequestChanged' },
        { restore: { svc: svc('s3', { pool: 'q' }), ips: ['10.0.0.5'], pool: 'p' }, code: 'RequestChanged' },
        { restore: { svc: svc('s4', { families: [6] }), ips: ['10.0.0.5'] }, code: 'FamilyMismatch' },
        { restore: { svc: svc('s4'), ips: ['10.0.0.5', 'fd00::5'] }, ips: ['10.0.0.5'], changed: true },
        { restore: { svc: svc('s5'), ips: [] }, code: 'NothingHeld' },
        { restore: { svc: svc('s6'), ips: ['not-an-ip'] }, code: 'IPNotInAnyPool' },
      ],
    },
    {
      name: 'with overlapping pools the ip-allocated-from-pool annotation settles the pool, else the first by name',
      pools: [pool('b', ['10.0.0.0/28']), pool('a', ['10.0.0.0/24'])],
      steps: [
        { restore: { svc: svc('s1'), ips: ['10.0.0.5'], pool: 'b' }, pool: 'b', usage: { a: [0, 0], b: [1, 0] } },
        { restore: { svc: svc('s2'), ips: ['10.0.0.6'] }, pool: 'a' },
        { assign: svc('s3', { pool: 'b' }), ips: ['10.0.0.0'] },
        { assign: svc('s4', { pool: 'a' }), ips: ['10.0.0.1'] },
      ],
    },
  ];
  for (const story of stories) it(story.name, () => void play(story));
});

describe('Allocator.usage and onUsageChange', () => {
  it('counts distinct addresses per family and signals only the pools whose counts changed', () => {
    const allocator = new Allocator();
    const signals: string[][] = [];
    allocator.onUsageChange((pools) => signals.push([...pools].sort()));
    allocator.setPools([pool('p', ['10.0.0.0/30', 'fd00::/126'])]);
    assert.deepEqual(signals, [['p']], 'a new pool is announced with zero usage');
    const assign = (key: string, o: Parameters<typeof svc>[1]): void => {
      const s = svc(key, o);
      const parsed = serviceRequest(s.service);
      assert.ok(parsed.ok);
      assert.ok(allocator.assign(key, parsed.request, { namespaceLabels: {} }).ok);
    };
    signals.length = 0;
    assign('s1', { policy: 'RequireDualStack', share: 'k', ports: ['TCP/80'] });
    assert.deepEqual(allocator.usage().get('p'), { ipv4: 1, ipv6: 1 });
    assign('s1', { policy: 'RequireDualStack', share: 'k', ports: ['TCP/80'] });
    assign('s2', { policy: 'RequireDualStack', share: 'k', ports: ['TCP/443'] });
    assert.deepEqual(allocator.usage().get('p'), { ipv4: 1, ipv6: 1 }, 'a shared address counts once');
    allocator.release('s1');
    assert.deepEqual(signals, [['p']], 'idempotent assigns, sharing and a release that leaves a sharer signal nothing');
    allocator.release('s2');
    assert.deepEqual(allocator.usage().get('p'), { ipv4: 0, ipv6: 0 });
    signals.length = 0;
    allocator.setPools([pool('p', ['10.0.0.0/30', 'fd00::/126']), pool('q', ['10.1.0.0/30'])]);
    assert.deepEqual(signals, [['q']]);
    allocator.setPools([pool('q', ['10.1.0.0/30'])]);
    assert.deepEqual(signals, [['q'], ['p']]);
    assert.equal(allocator.usage().has('p'), false, 'a deleted pool has no usage entry');
  });
});

describe('Allocator: determinism and scale', () => {
  it('gives the same answers whatever order the pools arrive in', () => {
    const pools = [pool('c', ['10.3.0.0/30']), pool('a', ['10.1.0.0/31']), pool('b', ['10.2.0.0/30'], { serviceAllocation: { priority: 5 } })];
    const run = (order: AllocatorPool[]): string[] => {
      const allocator = new Allocator();
      allocator.setPools(order);
      return Array.from({ length: 8 }, (_, i) => {
        const parsed = serviceRequest(svc(`s${i}`).service);
        assert.ok(parsed.ok);
        const result = allocator.assign(`s${i}`, parsed.request, { namespaceLabels: {} });
        return result.ok ? `${result.assignment.pool}:${result.assignment.ips.join(',')}` : result.code;
      });
    };
    const forward = run(pools);
    assert.deepEqual(run([...pools].reverse()), forward);
    assert.deepEqual(forward.slice(0, 3), ['b:10.2.0.0', 'b:10.2.0.1', 'b:10.2.0.2']);
  });

  it('allocates from an IPv6 /64 without enumerating it, refilling the lowest hole first', () => {
    const allocator = new Allocator();
    allocator.setPools([pool('v6', ['fd00:1::/64'])]);
    const request = (key: string, ips?: string) => {
      const parsed = serviceRequest(svc(key, { families: [6], ...(ips === undefined ? {} : { ips }) }).service);
      assert.ok(parsed.ok);
      return allocator.assign(key, parsed.request, { namespaceLabels: {} });
    };
    const ipOf = (key: string, ips?: string): string | undefined => {
      const r = request(key, ips);
      return r.ok ? r.assignment.ips[0] : r.code;
    };
    assert.equal(ipOf('top', 'fd00:1::ffff:ffff:ffff:ffff'), 'fd00:1::ffff:ffff:ffff:ffff');
    assert.deepEqual(['a', 'b', 'c'].map((k) => ipOf(k)), ['fd00:1::', 'fd00:1::1', 'fd00:1::2']);
    allocator.release('b');
    assert.equal(ipOf('d'), 'fd00:1::1');
    assert.equal(ipOf('e'), 'fd00:1::3');
  });

  it('avoidBuggyIPs across /24 boundaries: 508 addresses of a /23, in order, then full', () => {
    const allocator = new Allocator();
    allocator.setPools([pool('p', ['10.0.0.0/23'], { avoidBuggyIPs: true })]);
    const parsed = serviceRequest(svc('x').service);
    assert.ok(parsed.ok);
    const got: string[] = [];
    for (let i = 0; i < 509; i++) {
      const r = allocator.assign(`s${i}`, parsed.request, { namespaceLabels: {} });
      got.push(r.ok ? (r.assignment.ips[0] as string) : r.code);
    }
    assert.deepEqual([got[0], got[253], got[254], got[507], got[508]], ['10.0.0.1', '10.0.0.254', '10.0.1.1', '10.0.1.254', 'NoAvailableIPs']);
    assert.deepEqual(allocator.usage().get('p'), { ipv4: 508, ipv6: 0 });
  });
});
