import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planAnnouncements, type AnnouncedService, type AnnouncementInputs, type AnnouncementPlan } from './announcements.js';
import { electOwner } from './election.js';
import type { AdvertisementFacts, EndpointFacts, NodeFacts } from './eligibility.js';

const IP = '192.168.1.240';
const IP2 = '192.168.1.241';
const IP6 = 'fd00:1::240';

const node = (name: string, zone: string, patch: Partial<NodeFacts> = {}): NodeFacts =>
  ({ name, labels: { 'kubernetes.io/hostname': name, zone }, live: true, interfaces: ['eth0', 'eth1'], ...patch });
const nodes: readonly NodeFacts[] = [node('node-a', 'east'), node('node-b', 'east'), node('node-c', 'west'), node('node-d', 'west')];
const names = nodes.map((n) => n.name);
const everywhere: AdvertisementFacts = { name: 'l2-all', pools: ['production'] };
const servingOn = (...on: string[]): EndpointFacts[] => on.map((nodeName) => ({ nodeName, serving: true }));
const service = (key: string, ips: readonly string[], patch: Partial<AnnouncedService> = {}): AnnouncedService =>
  ({ key, ips, pool: 'production', externalTrafficPolicy: 'Cluster', endpoints: servingOn('node-a'), ...patch });
const inputs = (patch: Partial<AnnouncementInputs>): AnnouncementInputs =>
  ({ self: 'node-a', services: [service('default/web', [IP])], nodes, advertisements: [everywhere], ...patch });
const without = (all: readonly string[], ...gone: (string | undefined)[]): string[] => all.filter((n) => !gone.includes(n));
const winner = (ip: string, eligible: readonly string[]): string => {
  const owner = electOwner(ip, eligible);
  assert.ok(owner !== undefined);
  return owner;
};
const decision = (plan: AnnouncementPlan, ip: string) => {
  const found = plan.addresses.get(ip);
  assert.ok(found !== undefined, `a decision for ${ip}`);
  return found;
};

// The nodes that win IP among all four, and among the other three: cordoning or killing the first must
// move the address to the second, which proves the flag is applied (not merely passed through).
const first = winner(IP, names);
const second = winner(IP, without(names, first));

describe('planAnnouncements', () => {
  const cases: ReadonlyArray<[string, AnnouncementInputs, (plan: AnnouncementPlan) => void]> = [
    ['every node eligible: the sha256 election winner among all of them owns the address', inputs({}), (plan) => {
      const d = decision(plan, IP);
      assert.deepEqual(d.eligible, names);
      assert.equal(d.owner, first);
      assert.deepEqual(d.services, ['default/web']);
      assert.deepEqual(d.interfaces, ['eth0', 'eth1']);
      assert.equal(d.reasons.size, 0);
    }],
    ['an IPv6 address is elected among the eligible nodes too', inputs({ services: [service('default/web6', [IP6])] }), (plan) => {
      assert.equal(decision(plan, IP6).owner, winner(IP6, names));
    }],
    ['a dual-stack Service gets one decision per address, each with its own winner',
      inputs({ services: [service('default/dual', [IP, IP6])] }), (plan) => {
        assert.deepEqual([...plan.addresses.keys()].sort(), [IP, IP6].sort());
        assert.equal(decision(plan, IP).owner, first);
        assert.equal(decision(plan, IP6).owner, winner(IP6, names));
      }],
    ['Services sharing an address are owned by a node eligible for all of them (the intersection)',
      inputs({ services: [
        service('default/tcp', [IP], { externalTrafficPolicy: 'Local', endpoints: servingOn(...without(names, first)) }),
        service('default/udp', [IP], { externalTrafficPolicy: 'Local', endpoints: servingOn(...without(names, second)) }),
      ] }), (plan) => {
        assert.equal(plan.addresses.size, 1);
        const d = decision(plan, IP);
        const both = without(names, first, second);
        assert.deepEqual(d.eligible, both);
        assert.equal(d.owner, winner(IP, both));
        assert.notEqual(d.owner, first);
        assert.notEqual(d.owner, second);
        assert.deepEqual(d.services, ['default/tcp', 'default/udp']);
        assert.match(d.reasons.get(first) ?? '', /Local and node .* has no serving endpoint/);
        assert.match(d.reasons.get(second) ?? '', /Local and node .* has no serving endpoint/);
      }],
    ['Services sharing an address with no node eligible for both: nobody owns it',
      inputs({ services: [
        service('default/tcp', [IP], { externalTrafficPolicy: 'Local', endpoints: servingOn('node-a') }),
        service('default/udp', [IP], { externalTrafficPolicy: 'Local', endpoints: servingOn('node-b') }),
      ] }), (plan) => {
        const d = decision(plan, IP);
        assert.equal(d.owner, undefined);
        assert.deepEqual(d.eligible, []);
        assert.deepEqual(d.interfaces, []);
        assert.equal(plan.owned.size, 0);
      }],
    ['a Service without a pool annotation is not announced at all',
      inputs({ services: [service('default/stray', [IP], { pool: undefined })] }), (plan) => {
        assert.equal(plan.addresses.size, 0);
        assert.equal(plan.owned.size, 0);
        assert.equal(plan.ownedServices.size, 0);
      }],
    ['a pool-less Service sharing an address does not narrow the pooled Service\'s decision',
      inputs({ services: [
        service('default/web', [IP]),
        service('default/stray', [IP], { pool: undefined, externalTrafficPolicy: 'Local', endpoints: [] }),
      ] }), (plan) => {
        const d = decision(plan, IP);
        assert.deepEqual(d.services, ['default/web']);
        assert.equal(d.owner, first);
      }],
    ['no serving endpoints: no owner, and a reason for every node',
      inputs({ services: [service('default/web', [IP], { endpoints: [{ nodeName: 'node-a', serving: false }] })] }), (plan) => {
        const d = decision(plan, IP);
        assert.equal(d.owner, undefined);
        assert.deepEqual(d.eligible, []);
        assert.deepEqual([...d.reasons.keys()].sort(), names);
        for (const reason of d.reasons.values()) assert.equal(reason, 'the service has no serving endpoints');
      }],
    ['externalTrafficPolicy Local: only nodes with a serving endpoint are eligible',
      inputs({ services: [service('default/web', [IP], { externalTrafficPolicy: 'Local', endpoints: [
        { nodeName: 'node-b', serving: true }, { nodeName: 'node-c', serving: true }, { nodeName: 'node-d', serving: false },
      ] })] }), (plan) => {
        const d = decision(plan, IP);
        assert.deepEqual(d.eligible, ['node-b', 'node-c']);
        assert.equal(d.owner, winner(IP, ['node-b', 'node-c']));
        assert.deepEqual([...d.reasons.keys()].sort(), ['node-a', 'node-d']);
      }],
    ['externalTrafficPolicy Cluster: an endpoint anywhere makes every node eligible',
      inputs({ services: [service('default/web', [IP], { endpoints: servingOn('node-d') })] }), (plan) => {
        assert.deepEqual(decision(plan, IP).eligible, names);
      }],
    ['an advertisement\'s nodeSelectors limit the eligible nodes',
      inputs({ advertisements: [{ ...everywhere, nodeSelectors: [{ matchLabels: { zone: 'west' } }] }] }), (plan) => {
        const d = decision(plan, IP);
        assert.deepEqual(d.eligible, ['node-c', 'node-d']);
        assert.equal(d.owner, winner(IP, ['node-c', 'node-d']));
        assert.match(d.reasons.get('node-a') ?? '', /nodeSelectors of L2Advertisement l2-all .* do not select node node-a/);
      }],
    ['no advertisement covers the pool: no owner, and a reason for every node',
      inputs({ advertisements: [{ name: 'l2-staging', pools: ['staging'] }] }), (plan) => {
        const d = decision(plan, IP);
        assert.equal(d.owner, undefined);
        assert.equal(d.reasons.size, names.length);
        for (const reason of d.reasons.values()) assert.equal(reason, 'no L2Advertisement announces pool production');
      }],
    ['an advertisement naming interfaces: the owner announces on those only',
      inputs({ advertisements: [{ ...everywhere, interfaces: ['eth1'] }] }), (plan) => {
        const d = decision(plan, IP);
        assert.equal(d.owner, first);
        assert.deepEqual(d.interfaces, ['eth1']);
        assert.deepEqual(plan.owned.get(IP), first === 'node-a' ? ['eth1'] : undefined);
      }],
    ['an advertisement naming an interface no node has: no owner, and the reason names the interface',
      inputs({ advertisements: [{ ...everywhere, interfaces: ['bond7'] }] }), (plan) => {
        const d = decision(plan, IP);
        assert.equal(d.owner, undefined);
        assert.deepEqual(d.interfaces, []);
        assert.equal(d.reasons.size, names.length);
        for (const reason of d.reasons.values()) assert.match(reason, /bond7/);
      }],
    ['only the nodes that have the named interface are eligible',
      inputs({ advertisements: [{ ...everywhere, interfaces: ['eth2'] }],
        nodes: nodes.map((n) => (n.name === 'node-c' ? { ...n, interfaces: ['eth0', 'eth2'] } : n)) }), (plan) => {
        const d = decision(plan, IP);
        assert.deepEqual(d.eligible, ['node-c']);
        assert.equal(d.owner, 'node-c');
        assert.deepEqual(d.interfaces, ['eth2']);
      }],
    ['a cordoned node is not eligible by default: the address moves to the next winner',
      inputs({ nodes: nodes.map((n) => (n.name === first ? { ...n, unschedulable: true } : n)) }), (plan) => {
        const d = decision(plan, IP);
        assert.deepEqual(d.eligible, without(names, first));
        assert.equal(d.owner, second);
        assert.equal(d.reasons.get(first), `node ${first} is cordoned (unschedulable)`);
      }],
    ['a cordoned node stays eligible when announceFromCordoned is set',
      inputs({ nodes: nodes.map((n) => (n.name === first ? { ...n, unschedulable: true } : n)), options: { announceFromCordoned: true } }),
      (plan) => assert.equal(decision(plan, IP).owner, first)],
    ['a node whose announcer is not live is not eligible',
      inputs({ nodes: nodes.map((n) => (n.name === first ? { ...n, live: false } : n)) }), (plan) => {
        const d = decision(plan, IP);
        assert.equal(d.owner, second);
        assert.equal(d.reasons.get(first), `the announcer on node ${first} is not live`);
      }],
    ['a node whose heartbeat is older than the threshold is not eligible',
      inputs({ nodes: nodes.map((n) => (n.name === first ? { ...n, live: { heartbeatAgeMs: 2000, thresholdMs: 1000 } } : n)) }),
      (plan) => assert.equal(decision(plan, IP).owner, second)],
    ['no nodes at all: no owner', inputs({ nodes: [] }), (plan) => {
      assert.equal(decision(plan, IP).owner, undefined);
      assert.equal(plan.owned.size, 0);
    }],
  ];
  for (const [name, input, check] of cases) it(name, () => check(planAnnouncements(input)));
});

describe('planAnnouncements: what this node announces', () => {
  const services = [
    service('default/web', [IP]),
    service('default/api', [IP2]),
    service('default/dual', [IP6, '192.168.1.242']),
    service('default/shared-a', ['192.168.1.243']),
    service('default/shared-b', ['192.168.1.243']),
  ];
  for (const self of names) {
    it(`owned and ownedServices hold exactly the addresses ${self} wins, and the Services behind them`, () => {
      const plan = planAnnouncements(inputs({ self, services }));
      const mine = [...plan.addresses.values()].filter((d) => d.owner === self);
      assert.deepEqual([...plan.owned.keys()].sort(), mine.map((d) => d.ip).sort());
      for (const d of mine) assert.deepEqual(plan.owned.get(d.ip), d.interfaces);
      assert.deepEqual([...plan.ownedServices.keys()].sort(), [...new Set(mine.flatMap((d) => d.services))].sort());
      for (const [ip, d] of plan.addresses) assert.equal(d.owner, electOwner(ip, names), `owner of ${ip}`);
    });
  }

  it('every address has exactly one owner, whichever node computes the plan', () => {
    const plans = names.map((self) => planAnnouncements(inputs({ self, services })));
    const addresses = [...(plans[0]?.addresses.keys() ?? [])];
    assert.equal(addresses.length, 5);
    for (const ip of addresses) {
      const claimants = plans.filter((p) => p.owned.has(ip));
      assert.equal(claimants.length, 1, `${ip} is announced by exactly one node`);
    }
  });

  it('a node that owns nothing announces nothing', () => {
    const plan = planAnnouncements(inputs({ self: 'node-z', services }));
    assert.equal(plan.owned.size, 0);
    assert.equal(plan.ownedServices.size, 0);
  });
});

describe('planAnnouncements: the order of the input does not matter', () => {
  // A seeded shuffle (mulberry32): the same permutations on every run.
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const shuffle = <T>(items: readonly T[], next: () => number): T[] => {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  };
  const base = inputs({
    self: first,
    nodes: nodes.map((n) => (n.name === 'node-d' ? { ...n, unschedulable: true } : n)),
    services: [
      service('default/web', [IP]),
      service('default/tcp', ['192.168.1.243'], { externalTrafficPolicy: 'Local', endpoints: servingOn('node-a', 'node-b', 'node-c') }),
      service('default/udp', ['192.168.1.243'], { externalTrafficPolicy: 'Local', endpoints: servingOn('node-b', 'node-c', 'node-d') }),
      service('default/dual', [IP6, IP2]),
      service('default/none', ['192.168.1.250'], { endpoints: [] }),
    ],
  });
  const owners = (plan: AnnouncementPlan) => [...plan.addresses].map(([ip, d]) => [ip, d.owner, d.eligible] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const ownedSets = (plan: AnnouncementPlan) => ({
    owned: [...plan.owned].map(([ip, ifs]) => [ip, [...ifs].sort()]).sort(),
    ownedServices: [...plan.ownedServices].map(([key, ifs]) => [key, [...ifs].sort()]).sort(),
  });
  const reference = planAnnouncements(base);
  const next = random(20261123);
  const orders = Array.from({ length: 8 }, (_, i) => ({ i, nodes: shuffle(base.nodes, next), services: shuffle(base.services, next) }));

  it('owners, eligible nodes, owned addresses and owned Services are the same for shuffled nodes and Services', () => {
    for (const order of orders) {
      const plan = planAnnouncements({ ...base, nodes: order.nodes, services: order.services });
      assert.deepEqual(owners(plan), owners(reference), `permutation ${order.i}`);
      assert.deepEqual(ownedSets(plan), ownedSets(reference), `permutation ${order.i}`);
    }
  });

  it('interfaces keep the node\'s own order whatever the order of the nodes', () => {
    const plan = planAnnouncements({ ...base, nodes: [...base.nodes].reverse() });
    for (const [ip, d] of plan.addresses) assert.deepEqual(d.interfaces, decision(reference, ip).interfaces);
  });

  // Services sharing an address in another order: their ineligibility reasons for a node, their
  // interface lists, and their `services` list are taken in input order.
  const sharedAds: AdvertisementFacts[] = [
    { name: 'l2-a', pools: ['pool-a'], interfaces: ['eth1'] },
    { name: 'l2-b', pools: ['pool-b'], interfaces: ['eth0'] },
  ];
  const sharedServices = [
    service('default/tcp', [IP], { pool: 'pool-a', externalTrafficPolicy: 'Local', endpoints: servingOn('node-a', 'node-b') }),
    service('default/udp', [IP], { pool: 'pool-b', endpoints: servingOn('node-a') }),
  ];
  const sharedNodes = nodes.map((n) => (n.name === 'node-c' ? { ...n, interfaces: ['eth2'] } : n));
  const sharedPlan = (services: readonly AnnouncedService[]) => decision(planAnnouncements(inputs({
    self: winner(IP, ['node-a', 'node-b']), nodes: sharedNodes, advertisements: sharedAds, services,
  })), IP);

  const forward = () => sharedPlan(sharedServices);
  const backward = () => sharedPlan([...sharedServices].reverse());

  it('the owner of an address shared by Services is the same whichever Service comes first', () => {
    assert.equal(forward().owner, backward().owner);
    assert.deepEqual(forward().eligible, backward().eligible);
  });

  it('the interfaces of an address shared by Services are the same whichever Service comes first',
    () => assert.deepEqual(forward().interfaces, backward().interfaces));

  it('the reason a node is ineligible for a shared address is the same whichever Service comes first',
    () => assert.deepEqual([...forward().reasons].sort(), [...backward().reasons].sort()));

  it('the Services listed for a shared address are the same whichever Service comes first',
    () => assert.deepEqual(forward().services, backward().services));

  it('an address shared by Services with different advertisements is announced on the union of their interfaces', () => {
    const d = sharedPlan(sharedServices);
    assert.deepEqual(d.eligible, ['node-a', 'node-b']);
    assert.equal(d.owner, winner(IP, ['node-a', 'node-b']));
    assert.deepEqual([...d.interfaces].sort(), ['eth0', 'eth1']);
  });
});
