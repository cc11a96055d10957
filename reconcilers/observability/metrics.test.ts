import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { KitMetrics } from '../../operator/kit/metrics.js';
import type { IPAddressPool } from '../../schemas/generated/types.js';
import type { Layer2CountersSnapshot } from '../../arp/counters.js';
import {
  configStale, poolGauges, registerAllocatorMetrics, registerK8sClientMetrics, responderHealth, SpeakerMetrics, type PoolGauges,
} from './metrics.js';
import type { ServiceLike } from '../allocator/service-request.js';

function pool(name: string, addresses: string[], extra: Partial<IPAddressPool['spec']> = {}): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system' }, spec: { addresses, ...extra } };
}

function service(name: string, fromPool: string | undefined, ips: string[]): ServiceLike {
  return {
    metadata: { name, namespace: 'default', annotations: fromPool === undefined ? {} : { 'metallb.io/ip-allocated-from-pool': fromPool } },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  } as ServiceLike;
}

const empty = { inUse: 0, ipv4InUse: 0, ipv6InUse: 0, servicesAllocated: 0 };

async function samples(registry: Registry, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line.startsWith(prefix));
}

describe('poolGauges: MetalLB allocator gauges from the caches', () => {
  const cases: ReadonlyArray<{ name: string; pools: IPAddressPool[]; services: ServiceLike[]; want: PoolGauges[] }> = [
    {
      name: 'a pool nobody uses: capacity only',
      pools: [pool('web', ['192.168.1.100-192.168.1.119'])],
      services: [],
      want: [{ pool: 'web', addresses: 20, ipv4Addresses: 20, ipv6Addresses: 0, ...empty }],
    },
    {
      name: 'an address shared by two Services counts once; both Services count',
      pools: [pool('web', ['192.168.1.100-192.168.1.119'])],
      services: [service('a', 'web', ['192.168.1.100']), service('b', 'web', ['192.168.1.100']), service('c', 'web', ['192.168.1.101'])],
      want: [{ pool: 'web', addresses: 20, ipv4Addresses: 20, ipv6Addresses: 0, inUse: 2, ipv4InUse: 2, ipv6InUse: 0, servicesAllocated: 3 }],
    },
    {
      name: 'dual stack: each family apart, and the sum',
      pools: [pool('dual', ['192.168.1.240/29', 'fd00:1::/120'])],
      services: [service('a', 'dual', ['192.168.1.240', 'fd00:1::5'])],
      want: [{ pool: 'dual', addresses: 264, ipv4Addresses: 8, ipv6Addresses: 256, inUse: 2, ipv4InUse: 1, ipv6InUse: 1, servicesAllocated: 1 }],
    },
    {
      name: 'Services count toward the pool their annotation names; one without an address counts nowhere',
      pools: [pool('a', ['10.0.0.0/30']), pool('b', ['10.0.1.0/30'])],
      services: [service('x', 'b', ['10.0.1.1']), service('pending', undefined, []), service('noip', 'a', [])],
      want: [
        { pool: 'a', addresses: 4, ipv4Addresses: 4, ipv6Addresses: 0, ...empty },
        { pool: 'b', addresses: 4, ipv4Addresses: 4, ipv6Addresses: 0, inUse: 1, ipv4InUse: 1, ipv6InUse: 0, servicesAllocated: 1 },
      ],
    },
    {
      name: 'avoidBuggyIPs leaves .0 and .255 out of the usable count, as MetalLB does',
      pools: [pool('buggy', ['10.0.0.0/24'], { avoidBuggyIPs: true })],
      services: [],
      want: [{ pool: 'buggy', addresses: 254, ipv4Addresses: 254, ipv6Addresses: 0, ...empty }],
    },
    {
      name: 'an IPv6 /64 is counted, never enumerated',
      pools: [pool('v6', ['fd00:1::/64'])],
      services: [],
      want: [{ pool: 'v6', addresses: 2 ** 64, ipv4Addresses: 0, ipv6Addresses: 2 ** 64, ...empty }],
    },
  ];
  for (const { name, pools, services, want } of cases) {
    it(name, () => assert.deepEqual(poolGauges(pools, services), want));
  }
});

describe('allocator gauges on a scrape', () => {
  it('every gauge has the pool label, and a deleted pool\'s series are gone from the next scrape', async () => {
    const registry = new Registry();
    let pools = [pool('web', ['192.168.1.100-192.168.1.119']), pool('internal', ['192.168.1.120-192.168.1.129'])];
    const services = [service('a', 'web', ['192.168.1.100'])];
    registerAllocatorMetrics(registry, () => poolGauges(pools, services));
    assert.deepEqual(await samples(registry, 'metallb_allocator_'), [
      'metallb_allocator_addresses_total{pool="internal"} 10',
      'metallb_allocator_addresses_total{pool="web"} 20',
      'metallb_allocator_ipv4_addresses_total{pool="internal"} 10',
      'metallb_allocator_ipv4_addresses_total{pool="web"} 20',
      'metallb_allocator_ipv6_addresses_total{pool="internal"} 0',
      'metallb_allocator_ipv6_addresses_total{pool="web"} 0',
      'metallb_allocator_addresses_in_use_total{pool="internal"} 0',
      'metallb_allocator_addresses_in_use_total{pool="web"} 1',
      'metallb_allocator_ipv4_addresses_in_use_total{pool="internal"} 0',
      'metallb_allocator_ipv4_addresses_in_use_total{pool="web"} 1',
      'metallb_allocator_ipv6_addresses_in_use_total{pool="internal"} 0',
      'metallb_allocator_ipv6_addresses_in_use_total{pool="web"} 0',
      'metallb_allocator_services_allocated_total{pool="internal"} 0',
      'metallb_allocator_services_allocated_total{pool="web"} 1',
    ]);
    const text = await registry.metrics();
    assert.match(text, /^# HELP metallb_allocator_addresses_total Number of usable IP addresses, per pool$/m);
    assert.match(text, /^# TYPE metallb_allocator_addresses_in_use_total gauge$/m);
    pools = pools.filter((p) => p.metadata.name !== 'internal');
    await new Promise((resolve) => setTimeout(resolve, 120)); // past the per-scrape cache
    assert.ok(!(await registry.metrics()).includes('pool="internal"'));
  });
});

describe('metallb_k8s_client_*', () => {
  it('reconciles are processed updates, failed ones update errors; the booleans are read at scrape time', async () => {
    const registry = new Registry();
    const kit = new KitMetrics(registry);
    let health = { loaded: false, stale: false };
    registerK8sClientMetrics(registry, kit, () => health);
    kit.reconciled({ controller: 'services', outcome: 'success', seconds: 0.001 });
    kit.reconciled({ controller: 'services', outcome: 'error', seconds: 0.001 });
    health = { loaded: true, stale: true };
    assert.deepEqual(await samples(registry, 'metallb_k8s_client_'), [
      'metallb_k8s_client_updates_total 2', 'metallb_k8s_client_update_errors_total 1',
      'metallb_k8s_client_config_loaded_bool 1', 'metallb_k8s_client_config_stale_bool 1',
    ]);
  });

  it('the configuration is stale while a pool\'s latest addresses are invalid (its last good ranges stay in use)', () => {
    const invalid = { ...pool('p', ['10.0.0.300/30']), status: { conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidAddresses', message: 'm', lastTransitionTime: 't' }] } } as IPAddressPool;
    const exhausted = { ...pool('q', ['10.0.0.0/32']), status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Exhausted', message: 'm', lastTransitionTime: 't' }] } } as IPAddressPool;
    assert.equal(configStale([pool('ok', ['10.0.0.0/30']), exhausted]), false);
    assert.equal(configStale([pool('ok', ['10.0.0.0/30']), invalid]), true);
  });
});

describe('speaker metrics', () => {
  const snapshot = (): Layer2CountersSnapshot => ({
    metallb_layer2_requests_received: { '192.168.1.240': 3 },
    metallb_layer2_responses_sent: { '192.168.1.240': 2 },
    metallb_layer2_gratuitous_sent: { '192.168.1.240': 10, 'fd00:1::240': 5 },
    l2lb_layer2_malformed_dropped_total: 1,
    malformedByReason: { 'length N': 1 },
  });

  it('MetalLB\'s layer2 counters are the responders\' totals at scrape time, under MetalLB\'s names, by ip', async () => {
    const registry = new Registry();
    new SpeakerMetrics(registry, { node: 'lab-node-1', layer2: snapshot, peers: () => ({ alive: 2, known: 2 }), responders: () => new Map() });
    assert.deepEqual(await samples(registry, 'metallb_layer2_'), [
      'metallb_layer2_requests_received{ip="192.168.1.240"} 3',
      'metallb_layer2_responses_sent{ip="192.168.1.240"} 2',
      'metallb_layer2_gratuitous_sent{ip="192.168.1.240"} 10',
      'metallb_layer2_gratuitous_sent{ip="fd00:1::240"} 5',
    ]);
    const text = await registry.metrics();
    assert.match(text, /^# TYPE metallb_layer2_requests_received counter$/m);
    assert.match(text, /^# HELP metallb_layer2_gratuitous_sent Number of gratuitous layer2 packets sent for owned IPs as a result of failovers$/m);
    assert.deepEqual(await samples(registry, 'l2lb_layer2_malformed'), ['l2lb_layer2_malformed_dropped_total 1']);
  });

  it('metallb_speaker_announced follows the whole announced set; a withdrawn address loses its series', async () => {
    const registry = new Registry();
    const metrics = new SpeakerMetrics(registry, { node: 'lab-node-1', layer2: snapshot, peers: () => ({ alive: 0, known: 0 }), responders: () => new Map() });
    metrics.setAnnounced([{ service: 'default/nginx-lb', ip: '192.168.1.240' }, { service: 'default/web', ip: '192.168.1.241' }]);
    metrics.setAnnounced([{ service: 'default/web', ip: '192.168.1.241' }]);
    assert.deepEqual(await samples(registry, 'metallb_speaker_announced'), [
      'metallb_speaker_announced{service="default/web",protocol="layer2",node="lab-node-1",ip="192.168.1.241"} 1',
    ]);
  });

  it('peer health carries "memberlist" in its names (the guide greps for it); elections, failovers, responders', async () => {
    const registry = new Registry();
    const metrics = new SpeakerMetrics(registry, {
      node: 'lab-node-1', layer2: snapshot, peers: () => ({ alive: 1, known: 2 }),
      responders: () => responderHealth({ '192.168.1.240': { eth0: 'announcing', eth1: 'interface eth1 is down' } }, ['eth0']),
    });
    metrics.heartbeatDropped('malformed');
    metrics.peerDeclaredDead();
    metrics.electionChanged(3, 0);
    metrics.failoverObserved(0.52);
    const text = await registry.metrics();
    const memberlist = text.split('\n').filter((line) => line.includes('memberlist') && !line.startsWith('#'));
    assert.deepEqual(memberlist, [
      'l2lb_memberlist_peers_alive 1', 'l2lb_memberlist_peers 2',
      'l2lb_memberlist_heartbeat_drops_total{reason="malformed"} 1', 'l2lb_memberlist_peer_failures_total 1',
    ]);
    assert.deepEqual(await samples(registry, 'l2lb_speaker_election_changes_total'), [
      'l2lb_speaker_election_changes_total{change="gained"} 3', 'l2lb_speaker_election_changes_total{change="lost"} 0',
    ]);
    assert.ok(text.includes('l2lb_speaker_failover_duration_seconds_bucket{le="0.6"} 1'));
    assert.ok(text.includes('l2lb_speaker_failover_duration_seconds_bucket{le="0.5"} 0'));
    assert.deepEqual(await samples(registry, 'l2lb_speaker_responder_up'), ['l2lb_speaker_responder_up{interface="eth0"} 1', 'l2lb_speaker_responder_up{interface="eth1"} 0']);
  });
});

describe('responderHealth', () => {
  const cases: ReadonlyArray<[string, Record<string, Record<string, string>>, string[], Array<[string, boolean]>]> = [
    ['usable interfaces without addresses are up', {}, ['eth0', 'eth1'], [['eth0', true], ['eth1', true]]],
    ['an interface announcing everything meant for it is up', { '10.0.0.1': { eth0: 'announcing' } }, ['eth0'], [['eth0', true]]],
    ['one address it cannot announce puts it down', { '10.0.0.1': { eth0: 'announcing' }, '10.0.0.2': { eth0: 'socket error' } }, ['eth0'], [['eth0', false]]],
    ['an interface asked for but not usable is down', { '10.0.0.1': { eth2: 'no interface eth2 on this node' } }, ['eth0'], [['eth0', true], ['eth2', false]]],
    ['"no usable interface at all" names no interface', { '10.0.0.1': { '*': 'no usable interface on this node' } }, [], []],
  ];
  for (const [name, status, usable, want] of cases) {
    it(name, () => assert.deepEqual([...responderHealth(status, usable)], want));
  }
});
