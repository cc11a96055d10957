// Reading a Service: annotations (current and deprecated prefix), requested addresses, families,
// ports and backend key. Each row is one Service and what the allocator should be asked.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import type { FailureCode, ServiceRequest } from './types.js';
import { parseIP } from '../../arp/ipaddr.js';
import { heldAddresses, serviceRequest, type ServiceLike } from './service-request.js';

const base = (spec: ServiceLike['spec'] = {}, annotations: Record<string, string> = {}): ServiceLike => ({
  metadata: { namespace: 'web', labels: { app: 'shop' }, annotations },
  spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], clusterIPs: ['10.96.0.10'], ...spec },
});

const ip = (text: string) => parseIP(text) ?? assert.fail(text);

describe('serviceRequest', () => {
  const accepted: ReadonlyArray<[string, ServiceLike, Partial<ServiceRequest>]> = [
    [
      'a plain Service asks for one IPv4 address from any pool, shares nothing, backend Cluster',
      base({ ports: [{ port: 80 }, { protocol: 'UDP', port: 53 }] }),
      {
        namespace: 'web',
        labels: { app: 'shop' },
        requestedIPs: [],
        pool: undefined,
        sharingKey: '',
        ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }],
        backendKey: 'Cluster',
        ipFamilyPolicy: 'SingleStack',
        families: [4],
        warnings: [],
      },
    ],
    ['spec.loadBalancerIP is a requested address', base({ loadBalancerIP: '192.168.1.240' }), { requestedIPs: [ip('192.168.1.240')] }],
    [
      'metallb.io/loadBalancerIPs gives one address per family, spaces allowed',
      base({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }, { 'metallb.io/loadBalancerIPs': '192.168.1.240, fd00:1::240' }),
      { requestedIPs: [ip('192.168.1.240'), ip('fd00:1::240')], families: [4, 6] },
    ],
    [
      'PreferDualStack may pin only one of its families',
      base({ ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] }, { 'metallb.io/loadBalancerIPs': 'fd00:1::240' }),
      { requestedIPs: [ip('fd00:1::240')], families: [6, 4], ipFamilyPolicy: 'PreferDualStack' },
    ],
    [
      'the deprecated prefix still works, with a warning for each annotation',
      base({}, { 'metallb.universe.tf/address-pool': 'prod', 'metallb.universe.tf/allow-shared-ip': 'dns', 'metallb.universe.tf/loadBalancerIPs': '192.168.1.7' }),
      {
        pool: 'prod',
        sharingKey: 'dns',
        requestedIPs: [ip('192.168.1.7')],
        warnings: [
          'annotation metallb.universe.tf/address-pool is deprecated; use metallb.io/address-pool',
          'annotation metallb.universe.tf/loadBalancerIPs is deprecated; use metallb.io/loadBalancerIPs',
          'annotation metallb.universe.tf/allow-shared-ip is deprecated; use metallb.io/allow-shared-ip',
        ],
      },
    ],
    [
      'the metallb.io form wins over the deprecated one, even when empty, and the ignored one is reported',
      base({}, { 'metallb.io/allow-shared-ip': '', 'metallb.universe.tf/allow-shared-ip': 'dns', 'metallb.io/address-pool': 'new', 'metallb.universe.tf/address-pool': 'old' }),
      {
        sharingKey: '',
        pool: 'new',
        warnings: [
          'annotation metallb.universe.tf/address-pool is deprecated and ignored because metallb.io/address-pool is also set; remove it',
          'annotation metallb.universe.tf/allow-shared-ip is deprecated and ignored because metallb.io/allow-shared-ip is also set; remove it',
        ],
      },
    ],
    ['an empty address-pool annotation names no pool', base({}, { 'metallb.io/address-pool': '' }), { pool: undefined }],
    [
      'externalTrafficPolicy Local keys the backend by its selector, in key order',
      base({ externalTrafficPolicy: 'Local', selector: { tier: 'web', app: 'shop' } }),
      { backendKey: 'Local:app=shop,tier=web' },
    ],
    ['externalTrafficPolicy Cluster ignores the selector', base({ externalTrafficPolicy: 'Cluster', selector: { app: 'x' } }), { backendKey: 'Cluster' }],
    ['families come from clusterIPs when ipFamilies is absent', base({ ipFamilies: [], clusterIPs: ['fd00::10'] }), { families: [6] }],
    ['SingleStack keeps only the primary family', base({ ipFamilies: ['IPv6', 'IPv4'] }), { families: [6] }],
    ['a Service nobody defaulted is IPv4 single-stack', { metadata: {}, spec: {} }, { families: [4], ipFamilyPolicy: 'SingleStack', namespace: '' }],
  ];
  for (const [name, service, expected] of accepted) {
    it(name, () => {
      const result = serviceRequest(service);
      assert.ok(result.ok, result.ok ? '' : result.reason);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(result.request[key as keyof ServiceRequest], value, key);
      }
    });
  }

  const refused: ReadonlyArray<[string, ServiceLike, FailureCode, string]> = [
    [
      'both spec.loadBalancerIP and the annotation',
      base({ loadBalancerIP: '192.168.1.7' }, { 'metallb.io/loadBalancerIPs': '192.168.1.8' }),
      'ConflictingRequests',
      'service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP',
    ],
    ['an address that does not parse', base({}, { 'metallb.io/loadBalancerIPs': '192.168.1.300' }), 'InvalidAnnotation', 'invalid metallb.io/loadBalancerIPs: "192.168.1.300"'],
    ['a loadBalancerIP that does not parse', base({ loadBalancerIP: 'shop' }), 'InvalidAnnotation', 'invalid spec.loadBalancerIP "shop"'],
    [
      'two addresses of one family',
      base({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }, { 'metallb.io/loadBalancerIPs': '192.168.1.7,192.168.1.8' }),
      'InvalidAnnotation',
      'invalid metallb.io/loadBalancerIPs: "192.168.1.7,192.168.1.8": at most one address per IP family',
    ],
    [
      'an IPv6 address for an IPv4 Service',
      base({}, { 'metallb.io/loadBalancerIPs': 'fd00::7' }),
      'FamilyMismatch',
      'requested loadBalancer IP(s) fd00::7 does not match the ipFamily of the service',
    ],
    [
      'one address for a RequireDualStack Service',
      base({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }, { 'metallb.io/loadBalancerIPs': '192.168.1.7' }),
      'FamilyMismatch',
      'requested loadBalancer IP(s) 192.168.1.7 does not match the ipFamily of the service',
    ],
    [
      'RequireDualStack with a single family',
      base({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4'] }),
      'NotDualStack',
      'Service requires dual stack but not enough clusterips',
    ],
    ['an unknown ipFamilyPolicy', base({ ipFamilyPolicy: 'Sometimes' }), 'FamilyMismatch', 'unknown ipFamilyPolicy "Sometimes"'],
  ];
  for (const [name, service, code, reason] of refused) {
    it(`refuses ${name}`, () => {
      assert.deepEqual(serviceRequest(service), { ok: false, code, reason });
    });
  }

  it('accepts a V1Service from @kubernetes/client-node as it is', () => {
    const service: V1Service = {
      metadata: { name: 'shop', namespace: 'web', annotations: { 'metallb.io/address-pool': 'prod' } },
      spec: { type: 'LoadBalancer', ports: [{ port: 443, protocol: 'TCP' }], ipFamilies: ['IPv4'] },
    };
    const result = serviceRequest(service);
    assert.ok(result.ok);
    assert.equal(result.request.pool, 'prod');
  });
});

describe('heldAddresses', () => {
  const rows: ReadonlyArray<[string, ServiceLike, ReturnType<typeof heldAddresses>]> = [
    [
      'ingress IPs and the pool annotation',
      {
        metadata: { annotations: { 'metallb.io/ip-allocated-from-pool': 'prod' } },
        status: { loadBalancer: { ingress: [{ ip: '192.168.1.7' }, { ip: 'fd00::7' }] } },
      },
      { ips: ['192.168.1.7', 'fd00::7'], pool: 'prod' },
    ],
    [
      'hostname-only entries are skipped and the old prefix is read',
      { metadata: { annotations: { 'metallb.universe.tf/ip-allocated-from-pool': 'old' } }, status: { loadBalancer: { ingress: [{}] } } },
      { ips: [], pool: 'old' },
    ],
    ['a Service with no status holds nothing', { metadata: {} }, { ips: [], pool: undefined }],
  ];
  for (const [name, service, expected] of rows) it(name, () => assert.deepEqual(heldAddresses(service), expected));
});
