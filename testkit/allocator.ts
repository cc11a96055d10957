// Test helpers for the allocator's story tables: terse pools and Services, and a runner that plays a
// story step by step against one Allocator and says which step broke. Used only by *.test.ts.

import assert from 'node:assert/strict';
import { Allocator } from '../reconcilers/allocator/allocator.js';
import type { AllocatorPool, FailureCode, ServiceAllocation } from '../reconcilers/allocator/types.js';
import { parseAddressRange, type Family } from '../arp/ipaddr.js';
import type { Labels } from '../reconcilers/layer2/labels.js';
import { serviceRequest, type ServiceLike } from '../reconcilers/allocator/service-request.js';

export function pool(
  name: string,
  addresses: readonly string[],
  options: { autoAssign?: boolean; avoidBuggyIPs?: boolean; serviceAllocation?: Partial<ServiceAllocation> } = {},
): AllocatorPool {
  const ranges = addresses.map((text) => {
    const parsed = parseAddressRange(text);
    if (!parsed.ok) throw new Error(`bad test range ${text}`);
    return parsed.value;
  });
  const allocation = options.serviceAllocation;
  return {
    name,
    ranges,
    autoAssign: options.autoAssign ?? true,
    avoidBuggyIPs: options.avoidBuggyIPs ?? false,
    ...(allocation === undefined
      ? {}
      : {
          serviceAllocation: {
            ...(allocation.priority === undefined ? {} : { priority: allocation.priority }),
            namespaces: allocation.namespaces ?? [],
            namespaceSelectors: allocation.namespaceSelectors ?? [],
            serviceSelectors: allocation.serviceSelectors ?? [],
          },
        }),
  };
}

export interface Svc {
  readonly key: string;
  readonly service: ServiceLike;
  readonly namespaceLabels: Labels;
}

export interface SvcOptions {
  readonly ns?: string;
  readonly nsLabels?: Labels;
  readonly labels?: Labels;
  /** metallb.io/address-pool */
  readonly pool?: string;
  /** metallb.io/loadBalancerIPs */
  readonly ips?: string;
  readonly loadBalancerIP?: string;
  /** metallb.io/allow-shared-ip */
  readonly share?: string;
  /** "TCP/80" */
  readonly ports?: readonly string[];
  /** externalTrafficPolicy Local with this selector */
  readonly local?: Readonly<Record<string, string>>;
  readonly policy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  readonly families?: readonly Family[];
}

export function svc(key: string, o: SvcOptions = {}): Svc {
  const annotations: Record<string, string> = {};
  if (o.pool !== undefined) annotations['metallb.io/address-pool'] = o.pool;
  if (o.ips !== undefined) annotations['metallb.io/loadBalancerIPs'] = o.ips;
  if (o.share !== undefined) annotations['metallb.io/allow-shared-ip'] = o.share;
  const families = o.families ?? (o.policy === 'RequireDualStack' || o.policy === 'PreferDualStack' ? [4, 6] : [4]);
  return {
    key,
    namespaceLabels: o.nsLabels ?? {},
    service: {
      metadata: { namespace: o.ns ?? 'default', labels: o.labels ?? {}, annotations },
      spec: {
        ipFamilyPolicy: o.policy ?? 'SingleStack',
        ipFamilies: families.map((f) => (f === 4 ? 'IPv4' : 'IPv6')),
        ...(o.loadBalancerIP === undefined ? {} : { loadBalancerIP: o.loadBalancerIP }),
        ports: (o.ports ?? []).map((text) => {
          const [protocol = 'TCP', port = '0'] = text.split('/');
          return { protocol, port: Number(port) };
        }),
        externalTrafficPolicy: o.local === undefined ? 'Cluster' : 'Local',
        selector: o.local ?? { app: key },
      },
    },
  };
}

/** One step of a story. Exactly one action; the rest are expectations about its outcome. */
export interface Step {
  readonly assign?: Svc;
  readonly restore?: { readonly svc: Svc; readonly ips: readonly string[]; readonly pool?: string };
  readonly release?: string;
  readonly setPools?: readonly AllocatorPool[];
  /** The addresses the Service ends with, primary family first. */
  readonly ips?: readonly string[];
  readonly pool?: string;
  readonly changed?: boolean;
  readonly code?: FailureCode;
  readonly incomplete?: FailureCode;
  readonly invalidated?: readonly string[];
  readonly repooled?: readonly string[];
  /** pool → [assigned IPv4, assigned IPv6] after the step */
  readonly usage?: Readonly<Record<string, readonly [number, number]>>;
}

export interface Story {
  readonly name: string;
  readonly pools: readonly AllocatorPool[];
  readonly steps: readonly Step[];
}

export function play(story: Story, allocator = new Allocator()): Allocator {
  allocator.setPools(story.pools);
  story.steps.forEach((step, i) => {
    const at = `step ${i + 1}`;
    if (step.setPools !== undefined) {
      const change = allocator.setPools(step.setPools);
      if (step.invalidated !== undefined) assert.deepEqual(change.invalidated, step.invalidated, `${at}: invalidated`);
      if (step.repooled !== undefined) assert.deepEqual(change.repooled, step.repooled, `${at}: repooled`);
    }
    if (step.release !== undefined) allocator.release(step.release);
    const subject = step.assign ?? step.restore?.svc;
    if (subject !== undefined) {
      const parsed = serviceRequest(subject.service);
      assert.ok(parsed.ok, `${at}: serviceRequest refused ${subject.key}: ${parsed.ok ? '' : parsed.reason}`);
      const context = { namespaceLabels: subject.namespaceLabels };
      const result =
        step.restore !== undefined
          ? allocator.restore(subject.key, parsed.request, context, { ips: step.restore.ips, pool: step.restore.pool })
          : allocator.assign(subject.key, parsed.request, context);
      if (step.code !== undefined) {
        assert.equal(result.ok ? `ok ${result.assignment.ips.join(',')}` : result.code, step.code, `${at}: ${subject.key} should fail`);
        assert.equal(allocator.assignment(subject.key), undefined, `${at}: a failed Service holds nothing`);
      } else {
        assert.ok(result.ok, `${at}: ${subject.key} failed: ${result.ok ? '' : `${result.code}: ${result.reason}`}`);
        if (step.ips !== undefined) assert.deepEqual(result.assignment.ips, step.ips, `${at}: ${subject.key} ips`);
        if (step.pool !== undefined) assert.equal(result.assignment.pool, step.pool, `${at}: ${subject.key} pool`);
        if (step.changed !== undefined) assert.equal(result.changed, step.changed, `${at}: ${subject.key} changed`);
        assert.equal(result.incomplete?.code, step.incomplete, `${at}: ${subject.key} incomplete`);
      }
    } else if (step.ips !== undefined) {
      assert.fail(`${at}: expectations without an assign or restore`);
    }
    if (step.usage !== undefined) {
      for (const [name, [ipv4, ipv6]] of Object.entries(step.usage)) {
        assert.deepEqual(allocator.usage().get(name), { ipv4, ipv6 }, `${at}: usage of ${name}`);
      }
    }
  });
  return allocator;
}
