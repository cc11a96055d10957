import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handles, type Service } from './services.js';

const service = (spec: Service['spec']): Service => ({ metadata: { namespace: 'default', name: 'web' }, ...(spec === undefined ? {} : { spec }) });

describe('handles', () => {
  const cases: ReadonlyArray<[string, Service, string | undefined, boolean]> = [
    ['a LoadBalancer without a class, no class configured: handled', service({ type: 'LoadBalancer' }), undefined, true],
    ['a LoadBalancer without a class, a class configured: left to the default implementation',
      service({ type: 'LoadBalancer' }), 'l2lb.dev/l2', false],
    ['a LoadBalancer of the configured class: handled', service({ type: 'LoadBalancer', loadBalancerClass: 'l2lb.dev/l2' }), 'l2lb.dev/l2', true],
    ['a LoadBalancer of another class, a class configured: not ours',
      service({ type: 'LoadBalancer', loadBalancerClass: 'metallb.io/metallb' }), 'l2lb.dev/l2', false],
    ['a LoadBalancer with a class, no class configured: not ours',
      service({ type: 'LoadBalancer', loadBalancerClass: 'l2lb.dev/l2' }), undefined, false],
    ['a class matches exactly, not case-insensitively',
      service({ type: 'LoadBalancer', loadBalancerClass: 'L2LB.dev/l2' }), 'l2lb.dev/l2', false],
    ['a ClusterIP Service: never', service({ type: 'ClusterIP' }), undefined, false],
    ['a NodePort Service: never', service({ type: 'NodePort' }), undefined, false],
    ['an ExternalName Service: never', service({ type: 'ExternalName' }), undefined, false],
    ['a NodePort Service carrying the configured class: never', service({ type: 'NodePort', loadBalancerClass: 'l2lb.dev/l2' }), 'l2lb.dev/l2', false],
    ['a Service without a type (ClusterIP by default): never', service({}), undefined, false],
    ['a Service without a spec: never', service(undefined), undefined, false],
    ['the type is case-sensitive: "loadbalancer" is not LoadBalancer', service({ type: 'loadbalancer' }), undefined, false],
  ];
  for (const [name, svc, loadBalancerClass, expected] of cases) {
    it(name, () => assert.equal(handles(svc, loadBalancerClass), expected));
  }
});
