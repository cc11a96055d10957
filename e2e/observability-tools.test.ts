// Unit-level checks of what the lab's Prometheus is given, and, when the Prometheus fixture is already
// built (e2e/fixtures/build.sh prometheus; never built here), promtool's verdict on both programs'
// scrapes and on the guide's alerts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { Registry } from 'prom-client';
import { collectProcessMetrics, KitMetrics } from '../operator/kit/metrics.js';
import { WorkQueue } from '../operator/kit/workqueue.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { poolGauges, registerAllocatorMetrics, registerK8sClientMetrics, responderHealth, SpeakerMetrics } from '../reconcilers/observability/metrics.js';
import type { ServiceLike } from '../reconcilers/allocator/service-request.js';
import { builtFixture, repoRoot } from './fixtures.js';
import { jaegerConfig, prometheusConfig, rulesFileFrom } from './lab/observability.js';

const guideRule = readFileSync(join(repoRoot, 'config', 'prometheus', 'prometheus-rule.yaml'), 'utf8');
const prometheusBin = builtFixture('prometheus');
const promtool = prometheusBin === undefined ? undefined : join(prometheusBin, 'promtool');
const noPromtool = promtool === undefined ? 'the prometheus fixture is not built (e2e/fixtures/build.sh prometheus)' : false;

interface RulesFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string; for?: string; labels?: Record<string, string> }> }>;
}

test('the guide\'s PrometheusRule becomes a rules file with the same three alerts, `for` shortened only in the lab\'s copy', () => {
  const verbatim = load(rulesFileFrom(guideRule)) as RulesFile;
  const lab = load(rulesFileFrom(guideRule, '10s')) as RulesFile;
  assert.deepEqual(verbatim.groups.map((g) => g.name), ['metallb']);
  assert.deepEqual(verbatim.groups[0]?.rules.map((r) => [r.alert, r.for]), [
    ['MetalLBControllerDown', '5m'], ['MetalLBSpeakerMissing', '5m'], ['MetalLBPoolExhausted', '10m'],
  ]);
  assert.deepEqual(lab.groups[0]?.rules.map((r) => r.for), ['10s', '10s', '10s']);
  assert.equal(lab.groups[0]?.rules[2]?.expr.trim(), 'metallb_allocator_addresses_in_use_total / metallb_allocator_addresses_total > 0.9');
});

test('the lab scrapes the guide\'s two jobs, each speaker named by its node', () => {
  const config = load(prometheusConfig({ controllers: new Map([['controller', '127.0.0.1:4000']]), speakers: new Map([['lab-node-1', '127.0.0.1:4001'], ['lab-node-2', '127.0.0.1:4002']]) }, '/x/rules.yaml')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[]; labels: Record<string, string> }> }>;
  };
  assert.deepEqual(config.scrape_configs.map((c) => c.job_name), ['metallb-controller', 'metallb-speaker']);
  assert.deepEqual(config.scrape_configs[1]?.static_configs, [
    { targets: ['127.0.0.1:4001'], labels: { node: 'lab-node-1' } }, { targets: ['127.0.0.1:4002'], labels: { node: 'lab-node-2' } },
  ]);
  assert.match(jaegerConfig({ prometheus: 9090, otlp: 4318, query: 16686 }, 16685), /endpoint: 127\.0\.0\.1:4318/);
});

function runPromtool(args: string[], input?: string, cwd?: string): { status: number | null; output: string } {
  const result = spawnSync(promtool ?? 'promtool', args, { input, cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function pool(name: string, addresses: string[]): IPAddressPool {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'metallb-system' }, spec: { addresses } };
}

/** The controller's registry, assembled as controller-program.ts does, with some traffic. */
async function controllerScrape(): Promise<string> {
  const registry = new Registry();
  collectProcessMetrics(registry);
  const kit = new KitMetrics(registry);
  const pools = [pool('web-services-pool', ['192.168.1.100-192.168.1.119']), pool('dual', ['192.168.1.240/29', 'fd00:1::/64'])];
  const services = [{ metadata: { namespace: 'default', annotations: { 'metallb.io/ip-allocated-from-pool': 'web-services-pool' } }, status: { loadBalancer: { ingress: [{ ip: '192.168.1.100' }] } } }] as ServiceLike[];
  registerAllocatorMetrics(registry, () => poolGauges(pools, services));
  registerK8sClientMetrics(registry, kit, () => ({ loaded: true, stale: false }));
  kit.trackLeader('l2lb-controller', () => true);
  const queue = new WorkQueue<string>(undefined, { name: 'services', metrics: kit });
  queue.add('default/nginx-lb');
  kit.reconciled({ controller: 'services', outcome: 'success', seconds: 0.004 });
  kit.reconciled({ controller: 'services', outcome: 'error', seconds: 0.02 });
  kit.apiRequest('PATCH', 200);
  queue.shutDown();
  return await registry.metrics();
}

/** The speaker's registry, with the parts the speaker's wiring feeds. */
async function speakerScrape(): Promise<string> {
  const registry = new Registry();
  collectProcessMetrics(registry);
  const kit = new KitMetrics(registry);
  registerK8sClientMetrics(registry, kit, () => ({ loaded: true, stale: false }));
  const speaker = new SpeakerMetrics(registry, {
    node: 'lab-node-1',
    layer2: () => ({
      metallb_layer2_requests_received: { '192.168.1.240': 4 }, metallb_layer2_responses_sent: { '192.168.1.240': 4 },
      metallb_layer2_gratuitous_sent: { '192.168.1.240': 10 }, l2lb_layer2_malformed_dropped_total: 0, malformedByReason: {},
    }),
    peers: () => ({ alive: 2, known: 2 }),
    responders: () => responderHealth({ '192.168.1.240': { eth0: 'announcing' } }, ['eth0', 'eth1']),
  });
  speaker.setAnnounced([{ service: 'default/nginx-lb', ip: '192.168.1.240' }]);
  speaker.failoverObserved(0.5);
  kit.reconciled({ controller: 'announcer', outcome: 'success', seconds: 0.002 });
  return await registry.metrics();
}

// promtool's lint wants every counter to end in _total and no gauge to: MetalLB's own names break both
// rules, and compatibility wins (the guide's alert divides two of them); so do three of prom-client's
// Node.js defaults (gauges named nodejs_active_*_total), kept as every Node dashboard knows them. These are
// the only complaints allowed; anything else fails the test.
const METALLB_NAMES_PROMTOOL_DISLIKES = new Set([
  'nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total',
  'metallb_layer2_requests_received', 'metallb_layer2_responses_sent', 'metallb_layer2_gratuitous_sent',
  'metallb_allocator_addresses_total', 'metallb_allocator_ipv4_addresses_total', 'metallb_allocator_ipv6_addresses_total',
  'metallb_allocator_addresses_in_use_total', 'metallb_allocator_ipv4_addresses_in_use_total', 'metallb_allocator_ipv6_addresses_in_use_total',
  'metallb_allocator_services_allocated_total',
]);

function unexpectedComplaints(output: string): string[] {
  return output.split('\n').filter((line) => line.trim() !== '').filter((line) => {
    const name = /^(\S+) /.exec(line.trim())?.[1];
    return name === undefined || !METALLB_NAMES_PROMTOOL_DISLIKES.has(name);
  });
}

test('promtool check metrics: the controller\'s scrape parses, and only MetalLB\'s own names draw lint', { skip: noPromtool }, async () => {
  const result = runPromtool(['check', 'metrics'], await controllerScrape());
  assert.deepEqual(unexpectedComplaints(result.output), [], result.output);
});

test('promtool check metrics: the speaker\'s scrape parses, and only MetalLB\'s own names draw lint', { skip: noPromtool }, async () => {
  const result = runPromtool(['check', 'metrics'], await speakerScrape());
  assert.deepEqual(unexpectedComplaints(result.output), [], result.output);
});

test('promtool: the lab\'s rules are valid, and the guide\'s alerts fire as the guide says (promtool test rules)', { skip: noPromtool }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-rules-'));
  try {
    writeFileSync(join(dir, 'lab.rules.yaml'), rulesFileFrom(guideRule, '10s'));
    const check = runPromtool(['check', 'rules', join(dir, 'lab.rules.yaml')]);
    assert.equal(check.status, 0, check.output);
    writeFileSync(join(dir, 'metallb-alerts.rules.yaml'), rulesFileFrom(guideRule));
    copyFileSync(join(repoRoot, 'config', 'prometheus', 'prometheus-rule.test.yaml'), join(dir, 'prometheus-rule.test.yaml'));
    const tested = runPromtool(['test', 'rules', 'prometheus-rule.test.yaml'], undefined, dir);
    assert.equal(tested.status, 0, tested.output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
