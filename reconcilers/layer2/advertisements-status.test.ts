import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { L2Advertisement } from '../../schemas/generated/types.js';
import { computeAdvertisementStatus, resolveAdvertisement, type Labelled } from './advertisements-status.js';

const advertisement = (spec: L2Advertisement['spec'], generation = 2): L2Advertisement => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name: 'adv', namespace: 'metallb-system', generation },
  spec,
});

const pools: Labelled[] = [
  { name: 'web-services-pool', labels: { purpose: 'web', environment: 'production' } },
  { name: 'internal-services-pool', labels: { purpose: 'internal', environment: 'production' } },
  { name: 'staging-pool', labels: { environment: 'staging' } },
];
const nodes: Labelled[] = [
  { name: 'worker-01', labels: { 'network-zone': 'dmz', 'topology.kubernetes.io/zone': 'zone-a' } },
  { name: 'worker-02', labels: { 'network-zone': 'dmz', 'node-role.kubernetes.io/edge': 'true' } },
  { name: 'worker-03', labels: { 'topology.kubernetes.io/zone': 'zone-c' } },
];

describe('resolveAdvertisement', () => {
  const cases: ReadonlyArray<[string, L2Advertisement['spec'], string[], string[], string[]]> = [
    ['no spec covers every pool and every node', undefined, ['internal-services-pool', 'staging-pool', 'web-services-pool'], [], ['worker-01', 'worker-02', 'worker-03']],
    ['pools by name', { ipAddressPools: ['staging-pool'] }, ['staging-pool'], [], ['worker-01', 'worker-02', 'worker-03']],
    ['a missing pool name is reported, not covered', { ipAddressPools: ['staging-pool', 'ghost-pool'] }, ['staging-pool'], ['ghost-pool'], ['worker-01', 'worker-02', 'worker-03']],
    ['only missing names resolve to no pool, not to all', { ipAddressPools: ['ghost-pool'] }, [], ['ghost-pool'], ['worker-01', 'worker-02', 'worker-03']],
    ['pools by selector', { ipAddressPoolSelectors: [{ matchLabels: { environment: 'production' } }] }, ['internal-services-pool', 'web-services-pool'], [], ['worker-01', 'worker-02', 'worker-03']],
    [
      'names and selectors are united',
      { ipAddressPools: ['staging-pool'], ipAddressPoolSelectors: [{ matchLabels: { purpose: 'web' } }] },
      ['staging-pool', 'web-services-pool'],
      [],
      ['worker-01', 'worker-02', 'worker-03'],
    ],
    ['nodes by matchLabels', { nodeSelectors: [{ matchLabels: { 'network-zone': 'dmz' } }] }, ['internal-services-pool', 'staging-pool', 'web-services-pool'], [], ['worker-01', 'worker-02']],
    [
      'node selectors are ORed (the guide edge-node example)',
      {
        nodeSelectors: [
          { matchLabels: { 'node-role.kubernetes.io/edge': 'true' } },
          { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['zone-a', 'zone-b'] }] },
        ],
      },
      ['internal-services-pool', 'staging-pool', 'web-services-pool'],
      [],
      ['worker-01', 'worker-02'],
    ],
    ['an invalid node selector selects no node', { nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'Equals', values: ['a'] }] }] }, ['internal-services-pool', 'staging-pool', 'web-services-pool'], [], []],
  ];
  for (const [name, spec, expectedPools, missing, expectedNodes] of cases) {
    it(name, () => {
      const resolution = resolveAdvertisement(advertisement(spec), pools, nodes);
      assert.deepEqual(resolution.pools, expectedPools);
      assert.deepEqual(resolution.missingPools, missing);
      assert.deepEqual(resolution.nodes, expectedNodes);
    });
  }
});

describe('computeAdvertisementStatus', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const conditionsOf = (spec: L2Advertisement['spec'], poolList = pools, nodeList = nodes) => {
    const status = computeAdvertisementStatus({ advertisement: advertisement(spec), pools: poolList, nodes: nodeList, now });
    return Object.fromEntries((status.conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.message]]));
  };
  it('lists resolved pools and the matched node count, with the generation observed', () => {
    const status = computeAdvertisementStatus({ advertisement: advertisement({ ipAddressPools: ['staging-pool'] }), pools, nodes, now });
    assert.deepEqual([status.resolvedPools, status.matchedNodes, status.observedGeneration], [['staging-pool'], 3, 2]);
    assert.deepEqual(conditionsOf({ ipAddressPools: ['staging-pool'] }).Ready, ['True', 'Advertising', 'announcing 1 pool from 3 nodes']);
  });
  it('says ResolvedRefs=False and Ready=False naming a missing pool', () => {
    const conditions = conditionsOf({ ipAddressPools: ['staging-pool', 'ghost-pool'] });
    assert.deepEqual(conditions.ResolvedRefs, ['False', 'PoolNotFound', 'ipAddressPools "ghost-pool" not found in the namespace']);
    assert.deepEqual(conditions.Ready?.slice(0, 2), ['False', 'PoolNotFound']);
  });
  it('says NoMatchingNodes when the node selectors select nothing', () => {
    assert.deepEqual(conditionsOf({ nodeSelectors: [{ matchLabels: { 'network-zone': 'lab' } }] }).Ready?.slice(0, 2), ['False', 'NoMatchingNodes']);
  });
  it('says NoPools when there is no pool at all', () => {
    assert.deepEqual(conditionsOf(undefined, []).Ready?.slice(0, 2), ['False', 'NoPools']);
  });
  it('says InvalidSelector for a selector that breaks the rules', () => {
    const conditions = conditionsOf({ nodeSelectors: [{ matchExpressions: [{ key: 'zone', operator: 'Exists', values: ['a'] }] }] });
    assert.deepEqual(conditions.Ready, ['False', 'InvalidSelector', 'invalid selectors select nothing: spec.nodeSelectors[0]']);
  });
});
