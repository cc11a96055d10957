import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IPAddressPool } from '../../schemas/generated/types.js';
import { parseAddressRange } from '../../arp/ipaddr.js';
import { INT64_MAX, buggyAddressCount, computePoolStatus, int64Json, poolCapacity, type AssignedByPool } from './pools-status.js';

function pool(name: string, addresses: string[], extra: Partial<IPAddressPool['spec']> = {}, generation = 1): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system', generation }, spec: { addresses, ...extra } };
}

const now = new Date('2026-01-01T00:00:00Z');

describe('poolCapacity', () => {
  const cases: ReadonlyArray<[string, string[], boolean, bigint, bigint]> = [
    ['a /28', ['192.168.1.240/28'], false, 16n, 0n],
    ['a /28 avoiding buggy IPs loses .255', ['192.168.1.240/28'], true, 15n, 0n],
    ['a /24 avoiding buggy IPs loses .0 and .255', ['10.0.0.0/24'], true, 254n, 0n],
    ['a /22 avoiding buggy IPs loses four .0 and four .255', ['10.0.0.0/22'], true, 1016n, 0n],
    ['a range across a .255/.0 boundary', ['10.0.0.250-10.0.1.5'], true, 10n, 0n],
    ['a range without .0 or .255 is untouched', ['192.168.1.200-192.168.1.204'], true, 5n, 0n],
    ['avoidBuggyIPs does not apply to IPv6', ['fd00:1::/120'], true, 0n, 256n],
    ['overlapping entries count once', ['192.168.1.240/28', '192.168.1.250-192.168.1.252'], false, 16n, 0n],
    ['invalid entries count nothing', ['192.168.1.240/28', '10.0.0.300/30'], false, 16n, 0n],
    ['dual stack', ['192.168.1.240/28', 'fd00:1::10-fd00:1::1f'], false, 16n, 16n],
    ['an IPv6 /64 is counted, not enumerated', ['fd00:1::/64'], false, 0n, 1n << 64n],
    ['the guide production pool', ['192.168.1.100-192.168.1.150', '192.168.1.200-192.168.1.220', '10.0.0.0/28'], true, 87n, 0n],
  ];
  for (const [name, addresses, avoidBuggyIPs, ipv4, ipv6] of cases) {
    it(name, () => assert.deepEqual(poolCapacity({ addresses, avoidBuggyIPs }), { ipv4, ipv6 }));
  }
  it('counts buggy addresses without enumerating a /8', () => {
    const range = parseAddressRange('10.0.0.0/8');
    assert.ok(range.ok);
    assert.equal(buggyAddressCount(range.value), 2n * 65536n);
  });
});

describe('computePoolStatus', () => {
  const none: AssignedByPool = new Map();
  it('reports usage per family and in total, and Ready', () => {
    const status = computePoolStatus({
      pool: pool('dual', ['192.168.1.240/28', 'fd00:1::/120'], {}, 3),
      otherPools: [],
      assigned: new Map([['dual', { ipv4: 3, ipv6: 1 }]]),
      now,
    });
    assert.deepEqual(
      { ...status, conditions: undefined },
      { assignedIPv4: 3, availableIPv4: 13, assignedIPv6: 1, availableIPv6: 255, assigned: 4, available: 268, observedGeneration: 3, conditions: undefined },
    );
    assert.deepEqual(status.conditions, [
      { type: 'Ready', status: 'True', reason: 'AddressesAvailable', message: '268 of 272 usable addresses available', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });
  it('saturates a huge IPv6 pool at the int64 maximum', () => {
    const status = computePoolStatus({ pool: pool('huge', ['fd00:1::/64']), otherPools: [], assigned: none, now });
    assert.equal(status.availableIPv6, Number(INT64_MAX));
    assert.equal(status.available, Number(INT64_MAX));
    assert.match(int64Json(status), /"availableIPv6":9223372036854775807,/);
    assert.match(int64Json(status), /"available":9223372036854775807,/);
  });
  it('says Exhausted when every usable address is assigned', () => {
    const status = computePoolStatus({ pool: pool('small', ['10.0.0.0/30'], { avoidBuggyIPs: true }), otherPools: [], assigned: new Map([['small', { ipv4: 3, ipv6: 0 }]]), now });
    assert.equal(status.availableIPv4, 0);
    assert.deepEqual([status.conditions?.[0]?.status, status.conditions?.[0]?.reason], ['False', 'Exhausted']);
  });
  it('says Exhausted when avoidBuggyIPs leaves no usable address', () => {
    const status = computePoolStatus({ pool: pool('edge', ['10.0.0.255', '10.0.1.0'], { avoidBuggyIPs: true }), otherPools: [], assigned: none, now });
    assert.deepEqual([status.availableIPv4, status.conditions?.[0]?.reason], [0, 'Exhausted']);
    assert.match(status.conditions?.[0]?.message ?? '', /avoidBuggyIPs excludes every address/);
  });
  it('never reports a negative availability', () => {
    const status = computePoolStatus({ pool: pool('shrunk', ['10.0.0.4/30']), otherPools: [], assigned: new Map([['shrunk', { ipv4: 9, ipv6: 0 }]]), now });
    assert.equal(status.availableIPv4, 0);
  });
  it('names the other pool on Overlap', () => {
    const status = computePoolStatus({
      pool: pool('staging', ['192.168.1.250-192.168.1.251']),
      otherPools: [pool('staging', ['192.168.1.250-192.168.1.251']), pool('production', ['192.168.1.240/28'])],
      assigned: none,
      now,
    });
    const ready = status.conditions?.[0];
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'Overlap']);
    assert.match(ready?.message ?? '', /ipaddresspool "production" \("192\.168\.1\.240\/28"\)/);
  });
  it('names the entry on InvalidAddresses and still counts the valid ones', () => {
    const status = computePoolStatus({ pool: pool('broken', ['10.0.0.0/30', '10.0.0.300/30']), otherPools: [], assigned: none, now });
    assert.equal(status.availableIPv4, 4);
    assert.deepEqual([status.conditions?.[0]?.reason, status.conditions?.[0]?.message], ['InvalidAddresses', 'spec.addresses[1] "10.0.0.300/30": not an IP prefix']);
  });
  it('keeps lastTransitionTime while Ready stays True across allocations', () => {
    const first = computePoolStatus({ pool: pool('p', ['10.0.0.0/28']), otherPools: [], assigned: none, now });
    const later = computePoolStatus({
      pool: { ...pool('p', ['10.0.0.0/28']), status: first },
      otherPools: [],
      assigned: new Map([['p', { ipv4: 2, ipv6: 0 }]]),
      now: new Date('2026-01-02T00:00:00Z'),
    });
    assert.equal(later.conditions?.[0]?.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(later.conditions?.[0]?.message, '14 of 16 usable addresses available');
  });
});
