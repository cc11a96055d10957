import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  eligibleNodes, endpointServes, nodeEligibility, wantedInterfaces,
  type AdvertisementFacts, type AnnouncementFacts, type Eligibility, type EligibilityInput, type NodeFacts,
} from './eligibility.js';

const worker: NodeFacts = {
  name: 'worker-1',
  labels: { 'kubernetes.io/hostname': 'worker-1', 'network-zone': 'dmz' },
  live: true,
  interfaces: ['eth0', 'eth1'],
};
const everywhere: AdvertisementFacts = { name: 'l2-all', pools: ['production'] };
const base: EligibilityInput = {
  node: worker,
  address: { ip: '192.168.1.240', pool: 'production' },
  service: { externalTrafficPolicy: 'Cluster', endpoints: [{ nodeName: 'worker-2', serving: true }] },
  advertisements: [everywhere],
};

type Change = (input: EligibilityInput) => EligibilityInput;
const node = (patch: Partial<NodeFacts>): Change => (input) => ({ ...input, node: { ...input.node, ...patch } });
const ads = (...advertisements: AdvertisementFacts[]): Change => (input) => ({ ...input, advertisements });
const service = (patch: Partial<EligibilityInput['service']>): Change => (input) => ({ ...input, service: { ...input.service, ...patch } });
const options = (patch: EligibilityInput['options']): Change => (input) => ({ ...input, options: patch });
const yes = (...interfaces: string[]): Eligibility => ({ eligible: true, interfaces });
const no = (reason: string): Eligibility => ({ eligible: false, reason });

describe('nodeEligibility', () => {
  const cases: ReadonlyArray<[string, Change[], Eligibility]> = [
    ['an advertisement without selectors or interfaces takes every node and every usable interface', [], yes('eth0', 'eth1')],
    ['the service has no endpoints: nobody announces', [service({ endpoints: [] })], no('the service has no serving endpoints')],
    ['only non-serving endpoints count as none', [service({ endpoints: [{ nodeName: 'worker-1', serving: false }] })],
      no('the service has no serving endpoints')],
    ['no advertisement covers the pool', [ads({ name: 'l2-other', pools: ['staging'] })], no('no L2Advertisement announces pool production')],
    ['nodeSelectors that miss the node', [ads({ ...everywhere, nodeSelectors: [{ matchLabels: { 'network-zone': 'lan' } }] })],
      no('the nodeSelectors of L2Advertisement l2-all (pool production) do not select node worker-1')],
    ['nodeSelectors are ORed: one matching selector is enough',
      [ads({ ...everywhere, nodeSelectors: [{ matchLabels: { 'network-zone': 'lan' } }, { matchLabels: { 'network-zone': 'dmz' } }] })], yes('eth0', 'eth1')],
    ['an advertisement selecting the node for another pool does not count',
      [ads({ name: 'l2-staging', pools: ['staging'] }, { ...everywhere, nodeSelectors: [{ matchLabels: { 'network-zone': 'lan' } }] })],
      no('the nodeSelectors of L2Advertisement l2-all (pool production) do not select node worker-1')],
    ['interfaces restrict where the node announces', [ads({ ...everywhere, interfaces: ['eth1'] })], yes('eth1')],
    ['interfaces are the union over the selecting advertisements, in the node\'s order',
      [ads({ name: 'a', pools: ['production'], interfaces: ['eth1'] }, { name: 'b', pools: ['production'], interfaces: ['eth0', 'bond0'] })],
      yes('eth0', 'eth1')],
    ['one selecting advertisement without interfaces opens them all',
      [ads({ name: 'a', pools: ['production'], interfaces: ['eth1'] }, { name: 'b', pools: ['production'] })], yes('eth0', 'eth1')],
    ['a non-selecting advertisement does not add its interfaces',
      [ads({ name: 'a', pools: ['production'], interfaces: ['eth1'] },
        { name: 'b', pools: ['production'], interfaces: ['eth0'], nodeSelectors: [{ matchLabels: { 'network-zone': 'lan' } }] })], yes('eth1')],
    ['the node has none of the named interfaces', [ads({ ...everywhere, interfaces: ['bond0', 'eth9'] })],
      no('node worker-1 has none of the interfaces bond0, eth9 named by L2Advertisement l2-all')],
    ['a node with no usable interface', [node({ interfaces: [] })], no('node worker-1 has no usable interface')],
    ['the announcer is not live', [node({ live: false })], no('the announcer on node worker-1 is not live')],
    ['a heartbeat within the threshold is live', [node({ live: { heartbeatAgeMs: 900, thresholdMs: 1000 } })], yes('eth0', 'eth1')],
    ['a heartbeat older than the threshold is not live', [node({ live: { heartbeatAgeMs: 1500, thresholdMs: 1000 } })],
      no('the announcer on node worker-1 last reported 1500 ms ago, over the 1000 ms limit')],
    ['NetworkUnavailable=True', [node({ conditions: [{ type: 'Ready', status: 'True' }, { type: 'NetworkUnavailable', status: 'True' }] })],
      no('node worker-1 has condition NetworkUnavailable=True')],
    ['NetworkUnavailable=False is fine', [node({ conditions: [{ type: 'NetworkUnavailable', status: 'False' }] })], yes('eth0', 'eth1')],
    ['the exclude-from-external-load-balancers label, whatever its value',
      [node({ labels: { ...worker.labels, 'node.kubernetes.io/exclude-from-external-load-balancers': '' } })],
      no('node worker-1 is labeled node.kubernetes.io/exclude-from-external-load-balancers')],
    ['the exclude label ignored when configured so',
      [node({ labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } }), options({ ignoreExcludeFromLoadBalancers: true })],
      yes('eth0', 'eth1')],
    ['a cordoned node hands its addresses over', [node({ unschedulable: true })], no('node worker-1 is cordoned (unschedulable)')],
    ['the unschedulable taint means cordoned too', [node({ taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] })],
      no('node worker-1 is cordoned (unschedulable)')],
    ['a cordoned node keeps announcing when configured so', [node({ unschedulable: true }), options({ announceFromCordoned: true })], yes('eth0', 'eth1')],
    ['the out-of-service taint', [node({ taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] })],
      no('node worker-1 is tainted node.kubernetes.io/out-of-service')],
    ['the out-of-service taint ignored when configured so',
      [node({ taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }] }), options({ announceFromOutOfService: true })], yes('eth0', 'eth1')],
    ['other taints do not matter', [node({ taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })], yes('eth0', 'eth1')],
    ['Local policy and no serving endpoint on this node', [service({ externalTrafficPolicy: 'Local' })],
      no('externalTrafficPolicy is Local and node worker-1 has no serving endpoint')],
    ['Local policy and a non-serving endpoint on this node',
      [service({ externalTrafficPolicy: 'Local', endpoints: [{ nodeName: 'worker-1', serving: false }, { nodeName: 'worker-2', serving: true }] })],
      no('externalTrafficPolicy is Local and node worker-1 has no serving endpoint')],
    ['Local policy and a serving endpoint here', [service({ externalTrafficPolicy: 'Local', endpoints: [{ nodeName: 'worker-1', serving: true }] })],
      yes('eth0', 'eth1')],
    ['Cluster policy does not need an endpoint on this node', [], yes('eth0', 'eth1')],
  ];
  for (const [name, changes, expected] of cases) {
    it(name, () => assert.deepEqual(nodeEligibility(changes.reduce((input, change) => change(input), base)), expected));
  }
});

describe('endpointServes', () => {
  const cases: ReadonlyArray<[string, Parameters<typeof endpointServes>[0], boolean]> = [
    ['no conditions at all: unknown counts as serving', undefined, true],
    ['ready', { ready: true }, true],
    ['not ready, serving not reported', { ready: false }, false],
    ['terminating: not ready but still serving (keeps the address up while draining)', { ready: false, serving: true }, true],
    ['not serving', { ready: true, serving: false }, false],
    ['null is unknown, as the API sends it', { ready: null, serving: null }, true],
  ];
  for (const [name, conditions, expected] of cases) it(name, () => assert.equal(endpointServes(conditions), expected));
});

describe('eligibleNodes', () => {
  const facts: AnnouncementFacts = {
    address: base.address, service: base.service,
    advertisements: [{ name: 'l2-dmz', pools: ['production'], nodeSelectors: [{ matchLabels: { 'network-zone': 'dmz' } }] }],
  };
  const nodes: NodeFacts[] = [
    { ...worker, name: 'worker-3' },
    { ...worker, name: 'worker-2', unschedulable: true },
    { ...worker, name: 'worker-1', interfaces: ['eth0'] },
    { ...worker, name: 'worker-4', labels: { 'network-zone': 'lan' } },
  ];

  it('returns the eligible names sorted, their interfaces, and why each other node is out', () => {
    const result = eligibleNodes(facts, nodes);
    assert.deepEqual(result.eligible, ['worker-1', 'worker-3']);
    assert.deepEqual([...result.interfaces], [['worker-3', ['eth0', 'eth1']], ['worker-1', ['eth0']]]);
    assert.deepEqual([...result.reasons], [
      ['worker-2', 'node worker-2 is cordoned (unschedulable)'],
      ['worker-4', 'the nodeSelectors of L2Advertisement l2-dmz (pool production) do not select node worker-4'],
    ]);
  });

  it('no nodes: nothing eligible, nothing to explain', () => {
    assert.deepEqual(eligibleNodes(facts, []), { eligible: [], interfaces: new Map(), reasons: new Map() });
  });
});

describe('wantedInterfaces', () => {
  const dmz = { 'network-zone': 'dmz' };
  const cases: Array<[string, AdvertisementFacts[], { interfaces: string[]; every: boolean }]> = [
    ['no advertisement: nothing', [], { interfaces: [], every: false }],
    ['named interfaces of the selecting advertisements, once each, sorted', [
      { name: 'a', pools: ['p'], interfaces: ['eth1', 'eth0'] }, { name: 'b', pools: ['q'], interfaces: ['eth0'] },
    ], { interfaces: ['eth0', 'eth1'], every: false }],
    ['one naming none: every usable interface', [{ name: 'a', pools: ['p'], interfaces: ['eth1'] }, { name: 'b', pools: ['q'] }], { interfaces: ['eth1'], every: true }],
    ['an advertisement whose nodeSelectors miss this node asks nothing of it', [
      { name: 'a', pools: ['p'], interfaces: ['eth2'], nodeSelectors: [{ matchLabels: { 'network-zone': 'lan' } }] },
      { name: 'b', pools: ['p'], interfaces: ['eth0'], nodeSelectors: [{ matchLabels: dmz }] },
    ], { interfaces: ['eth0'], every: false }],
    ['an advertisement of no pool asks nothing', [{ name: 'a', pools: [] }], { interfaces: [], every: false }],
  ];
  for (const [name, advertisements, expected] of cases) it(name, () => assert.deepEqual(wantedInterfaces(dmz, advertisements), expected));
});
