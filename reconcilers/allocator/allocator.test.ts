// Allocation stories: each table row is a story played step by step against one Allocator. MetalLB's
// internal/allocator and controller tests are the checklist; the stories are told in our own words.

import { describe, it } from 'node:test';
import { play, pool, svc, type Story } from '../../testkit/allocator.js';

const requested: Story[] = [
  {
    name: 'requested IPv4 addresses: exclusive by default, buggy addresses refused, sharing by key, ports and backend',
    pools: [pool('p1', ['1.2.3.4/31']), pool('p2', ['1.2.4.0/24'], { avoidBuggyIPs: true })],
    steps: [
      { assign: svc('s1', { ips: '1.2.3.4' }), ips: ['1.2.3.4'], pool: 'p1', changed: true },
      { assign: svc('s1', { ips: '1.2.3.4' }), ips: ['1.2.3.4'], changed: false },
      { assign: svc('s2', { ips: '1.2.3.4' }), code: 'SharingKeyMismatch' },
      { assign: svc('s2', { ips: '1.2.3.5' }), ips: ['1.2.3.5'] },
      { assign: svc('s1', { ips: '1.2.3.5' }), code: 'SharingKeyMismatch' },
      { release: 's1' },
      { assign: svc('s2', { ips: '1.2.3.4' }), ips: ['1.2.3.4'], changed: true },
      { assign: svc('s1', { ips: '1.2.3.5' }), ips: ['1.2.3.5'] },
      { assign: svc('s3', { ips: '1.2.4.0' }), code: 'IPNotInAnyPool' },
      { assign: svc('s3', { ips: '1.2.4.255' }), code: 'IPNotInAnyPool' },
      { assign: svc('s3', { ips: '1.2.4.254' }), ips: ['1.2.4.254'], pool: 'p2' },
      { assign: svc('s4', { ips: '1.2.4.3', share: 'share', ports: ['TCP/80'] }), ips: ['1.2.4.3'] },
      { assign: svc('s4', { ips: '1.2.4.3', share: 'other', ports: ['TCP/80'] }), ips: ['1.2.4.3'], changed: false },
      { assign: svc('s3', { ips: '1.2.4.3', share: 'other', ports: ['TCP/80'] }), code: 'PortInUse' },
      { assign: svc('s3', { ips: '1.2.4.3', share: 'wrong', ports: ['TCP/443'] }), code: 'SharingKeyMismatch' },
      { assign: svc('s3', { ips: '1.2.4.3', share: 'other', ports: ['TCP/443'], local: { app: 'x' } }), code: 'BackendMismatch' },
      { assign: svc('s3', { ips: '1.2.4.3', share: 'other', ports: ['TCP/443'] }), ips: ['1.2.4.3'], usage: { p2: [1, 0] } },
      { assign: svc('s3', { ips: '1.2.4.3', share: 'other', ports: ['TCP/443', 'UDP/80'] }), ips: ['1.2.4.3'], changed: false },
      { assign: svc('s3', { ips: '1.2.4.3', share: 'changed', ports: ['TCP/443'] }), code: 'SharingKeyMismatch' },
      // Without a requested address, a Service whose key no longer fits its sharers moves to a fresh one.
      { assign: svc('s3', { ips: '1.2.4.3', share: 'other', ports: ['TCP/443'] }), ips: ['1.2.4.3'] },
      { assign: svc('s3', { share: 'changed', ports: ['TCP/443'] }), ips: ['1.2.4.1'], changed: true },
      { assign: svc('s5', { ips: '9.9.9.9' }), code: 'IPNotInAnyPool' },
    ],
  },
  {
    name: 'requested IPv6 addresses follow the same rules',
    pools: [pool('p6', ['1000::4/127'])],
    steps: [
      { assign: svc('s1', { ips: '1000::4', families: [6] }), ips: ['1000::4'] },
      { assign: svc('s2', { ips: '1000::4', families: [6] }), code: 'SharingKeyMismatch' },
      { assign: svc('s2', { ips: '1000::5', families: [6], share: 'k', ports: ['TCP/80'] }), ips: ['1000::5'] },
      { assign: svc('s3', { ips: '1000::5', families: [6], share: 'k', ports: ['TCP/80'] }), code: 'PortInUse' },
      { assign: svc('s3', { ips: '1000::5', families: [6], share: 'k', ports: ['UDP/80'] }), ips: ['1000::5'], usage: { p6: [0, 2] } },
    ],
  },
  {
    name: 'requested dual-stack addresses come from one pool, primary family first',
    pools: [pool('p4', ['1.2.3.0/24']), pool('p46', ['1.2.4.0/24', '1000::/120'])],
    steps: [
      { assign: svc('s1', { policy: 'RequireDualStack', ips: '1.2.4.5,1000::5' }), ips: ['1.2.4.5', '1000::5'], pool: 'p46' },
      { assign: svc('s2', { policy: 'RequireDualStack', ips: '1.2.3.5, 1000::6' }), code: 'IPsInDifferentPools' },
      { assign: svc('s3', { ips: '1.2.4.6', pool: 'p4' }), code: 'PoolMismatch' },
      { assign: svc('s3', { ips: '1.2.4.6', pool: 'ghost' }), code: 'UnknownPool' },
      { assign: svc('s3', { loadBalancerIP: '1.2.4.6', pool: 'p46' }), ips: ['1.2.4.6'], pool: 'p46' },
      { assign: svc('s4', { policy: 'RequireDualStack', families: [6, 4], ips: '1.2.4.7,1000::7' }), ips: ['1000::7', '1.2.4.7'] },
      { assign: svc('s5', { policy: 'PreferDualStack', ips: '1.2.4.8' }), ips: ['1.2.4.8'], incomplete: undefined },
    ],
  },
  {
    name: 'a requested address must lie in a pool that admits the Service',
    pools: [pool('team', ['10.0.0.0/24'], { serviceAllocation: { namespaces: ['team-a'] } })],
    steps: [
      { assign: svc('s1', { ns: 'team-b', ips: '10.0.0.1' }), code: 'PoolNotAllowed' },
      { assign: svc('s1', { ns: 'team-a', ips: '10.0.0.1' }), ips: ['10.0.0.1'], pool: 'team' },
      // The namespace lost its access (labels or pool changed): the address is not kept.
      { assign: svc('s1', { ns: 'team-b' }), code: 'NoPoolAdmits' },
    ],
  },
];

const automatic: Story[] = [
  {
    name: 'the lowest free address, ranges in the order the pool lists them; sharing when the pool is full',
    pools: [pool('p', ['1.2.3.10/31', '1.2.3.4/31'])],
    steps: [
      { assign: svc('s1'), ips: ['1.2.3.10'], pool: 'p' },
      { assign: svc('s2'), ips: ['1.2.3.11'] },
      { assign: svc('s3'), ips: ['1.2.3.4'] },
      { assign: svc('s4'), ips: ['1.2.3.5'], usage: { p: [4, 0] } },
      { assign: svc('s5'), code: 'NoAvailableIPs' },
      { assign: svc('s6'), code: 'NoAvailableIPs' },
      { release: 's1', usage: { p: [3, 0] } },
      { assign: svc('s5'), ips: ['1.2.3.10'] },
      { assign: svc('s6'), code: 'NoAvailableIPs' },
      { assign: svc('s5', { share: 'k', ports: ['TCP/80'] }), ips: ['1.2.3.10'], changed: false },
      { assign: svc('s6', { share: 'k', ports: ['TCP/443'] }), ips: ['1.2.3.10'], usage: { p: [4, 0] } },
      { assign: svc('s7', { share: 'k', ports: ['TCP/80'] }), code: 'NoAvailableIPs' },
      { release: 's2' },
      { assign: svc('s7', { share: 'k', ports: ['TCP/80'] }), ips: ['1.2.3.11'] },
    ],
  },
  {
    name: 'a sharing Service joins its group even when a lower address is free',
    pools: [pool('p', ['10.0.0.0/29'])],
    steps: [
      { assign: svc('a'), ips: ['10.0.0.0'] },
      { assign: svc('dns-tcp', { share: 'dns', ports: ['TCP/53'] }), ips: ['10.0.0.1'] },
      { release: 'a' },
      { assign: svc('dns-udp', { share: 'dns', ports: ['UDP/53'] }), ips: ['10.0.0.1'] },
      { assign: svc('dns-local', { share: 'dns', ports: ['UDP/5353'], local: { app: 'dns' } }), ips: ['10.0.0.0'] },
      { assign: svc('dns-local-2', { share: 'dns', ports: ['TCP/5353'], local: { app: 'dns' } }), ips: ['10.0.0.0'] },
    ],
  },
  {
    name: 'IPv6 pools: lowest free, exhaustion, and a family the pools lack',
    pools: [pool('p6', ['1000::4/127'])],
    steps: [
      { assign: svc('s1', { families: [6] }), ips: ['1000::4'] },
      { assign: svc('s2', { families: [6] }), ips: ['1000::5'] },
      { assign: svc('s3', { families: [6] }), code: 'NoAvailableIPs' },
      { assign: svc('s4', { families: [4] }), code: 'FamilyNotAvailable' },
      { assign: svc('s5', { policy: 'RequireDualStack' }), code: 'FamilyNotAvailable' },
    ],
  },
  {
    name: 'RequireDualStack takes both families from one pool or nothing',
    pools: [pool('p', ['1.2.3.4/31', '1000::4/127'])],
    steps: [
      { assign: svc('s1', { policy: 'RequireDualStack' }), ips: ['1.2.3.4', '1000::4'] },
      { assign: svc('s2', { policy: 'RequireDualStack' }), ips: ['1.2.3.5', '1000::5'], usage: { p: [2, 2] } },
      { assign: svc('s3', { policy: 'RequireDualStack' }), code: 'NoAvailableIPs' },
      { release: 's1' },
      { assign: svc('s3', { policy: 'RequireDualStack', families: [6, 4] }), ips: ['1000::4', '1.2.3.4'] },
    ],
  },
  {
    name: 'PreferDualStack takes what the pools give, prefers a pool giving both, and gains the second family later',
    pools: [pool('a', ['10.1.0.0/30']), pool('b', ['10.2.0.0/30', 'fd01::/126'])],
    steps: [
      { assign: svc('s1', { policy: 'PreferDualStack' }), ips: ['10.2.0.0', 'fd01::'], pool: 'b' },
      { assign: svc('s2', { policy: 'PreferDualStack', families: [6, 4] }), ips: ['fd01::1', '10.2.0.1'] },
      { assign: svc('s3', { policy: 'PreferDualStack', pool: 'a' }), ips: ['10.1.0.0'], incomplete: 'FamilyNotAvailable' },
      { setPools: [pool('a', ['10.1.0.0/30', 'fd02::/126']), pool('b', ['10.2.0.0/30', 'fd01::/126'])], invalidated: [] },
      { assign: svc('s3', { policy: 'PreferDualStack', pool: 'a' }), ips: ['10.1.0.0', 'fd02::'], changed: true },
      { assign: svc('s3', { policy: 'PreferDualStack', pool: 'a' }), ips: ['10.1.0.0', 'fd02::'], changed: false },
    ],
  },
  {
    name: 'a Service whose family policy changes keeps the addresses of the families it still has',
    pools: [pool('a', ['10.1.0.0/30']), pool('b', ['10.2.0.0/30', 'fd01::/126'])],
    steps: [
      { assign: svc('s1', { policy: 'RequireDualStack' }), ips: ['10.2.0.0', 'fd01::'], pool: 'b' },
      { assign: svc('s1'), ips: ['10.2.0.0'], changed: true, usage: { b: [1, 0] } },
      { assign: svc('s1', { policy: 'RequireDualStack' }), ips: ['10.2.0.0', 'fd01::'], changed: true },
      { assign: svc('s2', { pool: 'a' }), ips: ['10.1.0.0'] },
      // Its pool has no IPv6: RequireDualStack moves it to a pool that has both.
      { assign: svc('s2', { policy: 'RequireDualStack' }), ips: ['10.2.0.1', 'fd01::1'], pool: 'b', changed: true, usage: { a: [0, 0], b: [2, 2] } },
    ],
  },
  {
    name: 'PreferDualStack settles for one family when no pool gives both',
    pools: [pool('v6', ['fd00::/126']), pool('v4', ['10.0.0.0/32'])],
    steps: [
      { assign: svc('s1', { policy: 'PreferDualStack' }), ips: ['10.0.0.0'], pool: 'v4', incomplete: 'NoAvailableIPs' },
      { assign: svc('s2', { policy: 'PreferDualStack' }), ips: ['fd00::'], pool: 'v6', incomplete: 'NoAvailableIPs' },
    ],
  },
  {
    name: 'avoidBuggyIPs skips addresses ending in .0 and .255, whatever the prefix (MetalLB TestBuggyIPs)',
    pools: [
      pool('test', ['1.2.3.0/31']),
      pool('test2', ['1.2.3.254/31']),
      pool('test3', ['1.2.4.0/31'], { avoidBuggyIPs: true }),
      pool('test4', ['1.2.4.254/31'], { avoidBuggyIPs: true }),
    ],
    steps: [
      { assign: svc('s1'), ips: ['1.2.3.0'] },
      { assign: svc('s2'), ips: ['1.2.3.1'] },
      { assign: svc('s3'), ips: ['1.2.3.254'] },
      { assign: svc('s4'), ips: ['1.2.3.255'] },
      { assign: svc('s5'), ips: ['1.2.4.1'] },
      { assign: svc('s6'), ips: ['1.2.4.254'] },
      { assign: svc('s7'), code: 'NoAvailableIPs' },
    ],
  },
];

const choice: Story[] = [
  {
    name: 'pools by priority (lower first, unset and 0 last), then pools without serviceAllocation, ties by name; autoAssign false only on request',
    pools: [
      pool('zeta', ['10.0.0.1/32']),
      pool('manual', ['10.9.0.0/32'], { autoAssign: false }),
      pool('zero', ['10.1.0.4/32'], { serviceAllocation: { priority: 0 } }),
      pool('alpha', ['10.0.0.2/32']),
      pool('low', ['10.1.0.1/32'], { serviceAllocation: { priority: 20 } }),
      pool('unset', ['10.1.0.3/32'], { serviceAllocation: {} }),
      pool('high', ['10.1.0.2/32'], { serviceAllocation: { priority: 10 } }),
    ],
    steps: [
      { assign: svc('s1'), ips: ['10.1.0.2'], pool: 'high' },
      { assign: svc('s2'), ips: ['10.1.0.1'], pool: 'low' },
      { assign: svc('s3'), ips: ['10.1.0.3'], pool: 'unset' },
      { assign: svc('s4'), ips: ['10.1.0.4'], pool: 'zero' },
      { assign: svc('s5'), ips: ['10.0.0.2'], pool: 'alpha' },
      { assign: svc('s6'), ips: ['10.0.0.1'], pool: 'zeta' },
      { assign: svc('s7'), code: 'NoAvailableIPs' },
      { assign: svc('s8', { pool: 'manual' }), ips: ['10.9.0.0'], pool: 'manual' },
      { assign: svc('s9', { pool: 'ghost' }), code: 'UnknownPool' },
      { assign: svc('s10', { pool: 'manual' }), code: 'NoAvailableIPs' },
    ],
  },
  {
    name: 'serviceAllocation: namespaces by name or selector, service selectors, both ANDed',
    pools: [
      pool('general', ['10.0.0.0/30']),
      pool('ns-a', ['10.1.0.0/30'], { serviceAllocation: { namespaces: ['a'] } }),
      pool('team', ['10.2.0.0/30'], { serviceAllocation: { namespaceSelectors: [{ matchLabels: { team: 'x' } }] } }),
      pool('web', ['10.3.0.0/30'], { serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] }] } }),
      pool('a-web', ['10.4.0.0/30'], { serviceAllocation: { priority: 1, namespaces: ['a'], serviceSelectors: [{ matchLabels: { tier: 'web' } }] } }),
    ],
    steps: [
      { assign: svc('s1', { ns: 'a' }), ips: ['10.1.0.0'], pool: 'ns-a' },
      { assign: svc('s2', { ns: 'b', labels: { tier: 'web' } }), ips: ['10.3.0.0'], pool: 'web' },
      { assign: svc('s3', { ns: 'a', labels: { tier: 'web' } }), ips: ['10.4.0.0'], pool: 'a-web' },
      { assign: svc('s4', { ns: 'c', nsLabels: { team: 'x' } }), ips: ['10.2.0.0'], pool: 'team' },
      { assign: svc('s5', { ns: 'c', nsLabels: { team: 'y' } }), ips: ['10.0.0.0'], pool: 'general' },
      { assign: svc('s6', { ns: 'b', labels: { tier: 'web' }, pool: 'ns-a' }), code: 'PoolNotAllowed' },
      { assign: svc('s7', { ns: 'b', pool: 'general' }), ips: ['10.0.0.1'], pool: 'general' },
    ],
  },
  {
    name: 'changing address-pool moves the Service; dropping the annotation keeps its address',
    pools: [pool('a', ['10.1.0.0/30']), pool('b', ['10.2.0.0/30'], { autoAssign: false })],
    steps: [
      { assign: svc('s1', { pool: 'a' }), ips: ['10.1.0.0'], pool: 'a' },
      { assign: svc('s1', { pool: 'b' }), ips: ['10.2.0.0'], pool: 'b', changed: true, usage: { a: [0, 0], b: [1, 0] } },
      { assign: svc('s1'), ips: ['10.2.0.0'], pool: 'b', changed: false },
      { assign: svc('s2'), ips: ['10.1.0.0'], pool: 'a' },
    ],
  },
  {
    name: 'a Service no auto-assign pool admits stays pending, even when a selector matches no namespace at all',
    pools: [
      pool('ns-a', ['10.1.0.0/30'], { serviceAllocation: { namespaces: ['a'] } }),
      pool('nobody', ['10.2.0.0/30'], { serviceAllocation: { namespaceSelectors: [{ matchLabels: { nothing: 'here' } }] } }),
    ],
    steps: [
      { assign: svc('s1', { ns: 'b' }), code: 'NoPoolAdmits' },
      { assign: svc('s2', { ns: 'a' }), ips: ['10.1.0.0'] },
      { setPools: [] },
      { assign: svc('s3', { ns: 'a' }), code: 'NoPoolAdmits' },
    ],
  },
];

describe('Allocator: requested addresses', () => {
  for (const story of requested) it(story.name, () => void play(story));
});

describe('Allocator: automatic allocation', () => {
  for (const story of automatic) it(story.name, () => void play(story));
});

describe('Allocator: pool choice', () => {
  for (const story of choice) it(story.name, () => void play(story));
});
