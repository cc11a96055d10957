// The services reconciler in the lab, driven as the guides drive it: their Services get the addresses the
// guides show under EXTERNAL-IP; an exhausted pool leaves the next Service <pending> with an
// AllocationFailed event and a condition until an address is freed; and 10 controller restarts with
// 1,000 Services present change no address.

import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Events, objectKey, Services, type KubeObject } from '../operator/kit/resources.js';
import { ALLOCATED_CONDITION, type Service } from '../reconcilers/services.js';
import { repoRoot } from './fixtures.js';
import { labPaths, labUp } from './lab/lab.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { deleteAllOf } from './lab/scale.js';
import { waitFor } from './lab/processes.js';
import { e2eLabMode, restartController } from './lab/programs.js';

const guides = join(repoRoot, 'config', 'samples', 'guides');
const guideServices = join(repoRoot, 'config', 'samples', 'guide-services');
const TEST_LABEL = 'l2lb-e2e=services';
let client: KubeClient;

before(async () => {
  await labUp(3, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-services');
});
beforeEach(() => reset());
after(() => {
  reset();
  client?.close();
});

function reset(): void {
  kubectl('delete', 'services,deployments', '-n', 'default', '-l', TEST_LABEL, '--wait=true');
  for (const name of ['nginx-lb', 'nginx-specific-ip', 'priority-service', 'staging-app', 'test-nginx']) {
    kubectl('delete', 'service,deployment', '-n', 'default', name, '--ignore-not-found', '--wait=true');
  }
  kubectl('delete', 'l2advertisements,ipaddresspools', '--all', '-n', 'metallb-system', '--wait=true');
}

async function service(name: string): Promise<Service | undefined> {
  try {
    return await client.get<Service>(Services, 'default', name);
  } catch {
    return undefined;
  }
}

async function externalIP(name: string, expected: string): Promise<void> {
  await waitFor(`${name} to get ${expected}`, async () => (await service(name))?.status?.loadBalancer?.ingress?.[0]?.ip === expected, 15_000);
  const row = kubectl('get', 'service', name, '-n', 'default', '--no-headers');
  assert.match(row, new RegExp(`^${name}\\s+LoadBalancer\\s+\\S+\\s+${expected.replaceAll('.', '\\.')}\\s`), `kubectl get service shows EXTERNAL-IP: ${row}`);
}

test("the guides' Services get the addresses the guides show", async () => {
  // Guide 001: the complete configuration, then nginx-demo.yaml (a Deployment and nginx-lb).
  kubectl('apply', '-f', join(guides, '001-07-complete-primary-pool.yaml'));
  kubectl('apply', '-f', join(guideServices, '001-nginx-demo.yaml'));
  await externalIP('nginx-lb', '192.168.1.240');
  kubectl('apply', '-f', join(guideServices, '001-nginx-specific-ip.yaml'));
  await externalIP('nginx-specific-ip', '192.168.1.245');
  kubectl('apply', '-f', join(guideServices, '001-priority-service.yaml'));
  await externalIP('priority-service', '192.168.1.200');
  const priority = await service('priority-service');
  assert.equal(priority?.metadata.annotations?.['metallb.io/ip-allocated-from-pool'], 'priority-pool');
  const events = (await client.list<KubeObject & { reason?: string; regarding?: { name?: string } }>(Events, 'default')).items;
  assert.ok(events.some((e) => e.reason === 'DeprecatedAnnotation' && e.regarding?.name === 'priority-service'),
    'the metallb.universe.tf/ annotation earns a Warning event');
  reset();

  // Guide 000: a /28 pool, then `kubectl create deployment` and `kubectl expose`.
  kubectl('apply', '-f', join(guides, '000-01-ipaddresspool-cidr.yaml'));
  kubectl('apply', '-f', join(guides, '000-04-l2advertisement-all.yaml'));
  kubectl('create', 'deployment', 'test-nginx', '--image=nginx:latest');
  kubectl('expose', 'deployment', 'test-nginx', '--type=LoadBalancer', '--port=80');
  await externalIP('test-nginx', '192.168.1.240');
  kubectl('apply', '-f', join(guides, '000-06-multi-pool-setup.yaml'));
  kubectl('apply', '-f', join(guideServices, '000-service-staging.yaml'));
  await externalIP('staging-app', '192.168.1.200');
  reset();
});

function loadBalancer(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: 'default', labels: { 'l2lb-e2e': 'services' } },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }] },
  });
}

test('an exhausted pool leaves the next Service pending with a reason, until an address is freed', async () => {
  const pool = 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: tiny-pool, namespace: metallb-system}\nspec: {addresses: [192.168.1.100-192.168.1.101]}\n';
  assert.ok(kubectlResult(['apply', '-f', '-'], pool).ok);
  for (const name of ['first', 'second', 'third']) assert.ok(kubectlResult(['apply', '-f', '-'], loadBalancer(name)).ok);
  await externalIP('first', '192.168.1.100');
  await externalIP('second', '192.168.1.101');
  await waitFor('third to say why it has no address', async () => {
    const condition = (await service('third'))?.status?.conditions?.find((c) => c.type === ALLOCATED_CONDITION);
    return condition?.status === 'False' && condition.reason === 'NoAvailableIPs';
  }, 15_000);
  assert.match(kubectl('get', 'service', 'third', '-n', 'default', '--no-headers'), /^third\s+LoadBalancer\s+\S+\s+<pending>\s/);
  const described = kubectl('describe', 'service', 'third', '-n', 'default');
  assert.match(described, /Warning\s+AllocationFailed\s+.*no available IPs|Warning\s+AllocationFailed/i);
  await waitFor('the tiny pool to report itself exhausted', () =>
    /tiny-pool\s.*\s2\s+0\s+False/.test(kubectl('get', 'ipaddresspools', '-n', 'metallb-system', 'tiny-pool', '--no-headers')), 10_000);

  kubectl('delete', 'service', 'first', '-n', 'default', '--wait=true');
  await externalIP('third', '192.168.1.100');
  const condition = (await service('third'))?.status?.conditions?.find((c) => c.type === ALLOCATED_CONDITION);
  assert.equal(condition?.status, 'True');
  kubectl('delete', 'services', '-n', 'default', '-l', TEST_LABEL, '--wait=true');
  kubectl('delete', 'ipaddresspool', '-n', 'metallb-system', 'tiny-pool');
});

async function createMany(count: number, prefix: string): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
  const workers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = w; i < names.length; i += 16) {
      await client.create(Services, JSON.parse(loadBalancer(names[i]!)) as KubeObject);
    }
  });
  await Promise.all(workers);
}

async function assignments(): Promise<Map<string, string>> {
  const { items } = await client.list<Service>(Services, 'default', TEST_LABEL);
  return new Map(items.map((s) => [objectKey(s), (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',')]));
}

test('10 controller restarts with 1,000 Services present change no address', async () => {
  const pool = 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: big-pool, namespace: metallb-system}\nspec: {addresses: [10.210.0.0/21]}\n';
  assert.ok(kubectlResult(['apply', '-f', '-'], pool).ok);
  const t0 = Date.now();
  await createMany(1000, 'many');
  const created = Date.now();
  await waitFor('all 1,000 Services to hold an address', async () => [...(await assignments()).values()].filter((ip) => ip !== '').length === 1000, 120_000, 500);
  console.log(`1,000 Services created in ${created - t0} ms, all assigned ${Date.now() - created} ms later`);
  const before = await assignments();
  assert.equal(new Set(before.values()).size, 1000, 'every Service has its own address');
  const timings: string[] = [];
  for (let restart = 1; restart <= 10; restart++) {
    const t0 = Date.now();
    await restartController(restart % 2 === 0 ? 'SIGTERM' : 'SIGKILL');
    const t1 = Date.now();
    // A Service created after the restart proves the new controller reconciles (after restoring).
    const probe = `probe-${restart}`;
    assert.ok(kubectlResult(['apply', '-f', '-'], loadBalancer(probe)).ok);
    await waitFor(`restart ${restart}: the probe Service to get an address`, async () =>
      ((await service(probe))?.status?.loadBalancer?.ingress?.length ?? 0) > 0, 30_000, 100);
    const t2 = Date.now();
    kubectl('delete', 'service', probe, '-n', 'default', '--wait=true');
    const after = await assignments();
    timings.push(`${restart % 2 === 0 ? 'TERM' : 'KILL'} stop+start ${t1 - t0} ms, probe assigned ${t2 - t1} ms, delete+list ${Date.now() - t2} ms`);
    const changed = [...before].filter(([key, ip]) => after.get(key) !== ip);
    assert.deepEqual(changed, [], `restart ${restart}: addresses changed`);
  }
  console.log(`restarts:\n  ${timings.join('\n  ')}`);
  const t1 = Date.now();
  await deleteAllOf(client, Services, 'default', TEST_LABEL);
  kubectl('delete', 'ipaddresspool', '-n', 'metallb-system', 'big-pool');
  console.log(`1,000 Services deleted in ${Date.now() - t1} ms`);
});
