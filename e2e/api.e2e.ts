// The metallb.io API in the lab, through kubectl as a user drives it: the guides' pools and
// advertisements apply unchanged and report what the guides imply; bad manifests are refused at admission
// with a message naming the object, field and value, and disturb nothing; references and node
// selection are followed live.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, loadAll } from 'js-yaml';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools, L2Advertisements } from '../schemas/resources.js';
import type { IPAddressPool, L2Advertisement } from '../schemas/generated/types.js';
import { badManifests } from './cases/bad-manifests.js';
import { guideCapacity } from './cases/guide-pools.js';
import { repoRoot } from './fixtures.js';
import { labPaths, labUp } from './lab/lab.js';
import { e2eLabMode } from './lab/programs.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { waitFor } from './lab/processes.js';

const ns = 'metallb-system';
const guidesDir = join(repoRoot, 'config', 'samples', 'guides');
let client: KubeClient;

before(async () => {
  await labUp(3, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-api');
  removeAllConfig();
});
after(() => {
  removeAllConfig();
  client?.close();
});

function removeAllConfig(): void {
  kubectl('delete', 'l2advertisements,ipaddresspools', '--all', '-n', ns, '--wait=true');
}

async function pool(name: string): Promise<IPAddressPool | undefined> {
  return (await client.list<IPAddressPool>(IPAddressPools, ns)).items.find((p) => p.metadata.name === name);
}

async function advertisement(name: string): Promise<L2Advertisement | undefined> {
  return (await client.list<L2Advertisement>(L2Advertisements, ns)).items.find((a) => a.metadata.name === name);
}

function condition(object: IPAddressPool | L2Advertisement | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

function objectsIn(file: string): KubeObject[] {
  return loadAll(readFileSync(join(guidesDir, file), 'utf8')) as KubeObject[];
}

/** The guide file of the same guide that first defines pool `name` (for advertisements that refer to it). */
function poolFileFor(guidePrefix: string, name: string, files: readonly string[]): string | undefined {
  return files.find((file) => file.startsWith(guidePrefix) && objectsIn(file).some((o) => o.kind === 'IPAddressPool' && o.metadata.name === name));
}

test("every guide example applies unchanged and its pools reach Ready with the guide's count", async () => {
  const files = readdirSync(guidesDir).filter((f) => f.endsWith('.yaml')).sort();
  assert.equal(files.length, 16);
  for (const file of files) {
    const objects = objectsIn(file);
    const referenced = objects.flatMap((o) => (o.kind === 'L2Advertisement' ? (o as L2Advertisement).spec?.ipAddressPools ?? [] : []))
      .filter((name) => !objects.some((o) => o.kind === 'IPAddressPool' && o.metadata.name === name));
    const companions = [...new Set(referenced.map((name) => poolFileFor(file.slice(0, 3), name, files)).filter((f): f is string => f !== undefined))];
    for (const companion of companions) kubectl('apply', '-f', join(guidesDir, companion));
    const applied = kubectlResult(['apply', '-f', join(guidesDir, file)]);
    assert.ok(applied.ok, `${file}: ${applied.stderr}`);

    for (const object of objects.filter((o) => o.kind === 'IPAddressPool')) {
      const name = object.metadata.name!;
      const expected = guideCapacity[`${name}@${file.slice(0, 6)}`];
      await waitFor(`${file}: pool ${name} Ready with ${expected} available`, async () => {
        const current = await pool(name);
        return condition(current, 'Ready')?.status === 'True' && current?.status?.availableIPv4 === expected
          && current?.status?.observedGeneration === current?.metadata.generation;
      }, 10_000);
      const row = kubectl('get', 'ipaddresspools', '-n', ns, name, '--no-headers');
      assert.match(row, new RegExp(`^${name}\\s.*\\s0\\s+${expected}\\s+True\\s`), `kubectl get ipaddresspools prints the counts: ${row}`);
    }
    for (const object of objects.filter((o) => o.kind === 'L2Advertisement')) {
      const name = object.metadata.name!;
      await waitFor(`${file}: advertisement ${name} resolves its pools`, async () =>
        condition(await advertisement(name), 'ResolvedRefs')?.status === 'True', 10_000);
    }
    kubectl('delete', '-f', join(guidesDir, file), '--wait=true');
    for (const companion of companions) kubectl('delete', '-f', join(guidesDir, companion), '--ignore-not-found', '--wait=true');
  }
});

test('bad manifests are refused at admission with their message, and no pool status changes', async () => {
  const baseline = ['apiVersion: metallb.io/v1beta1', 'kind: IPAddressPool',
    'metadata: {name: baseline-pool, namespace: metallb-system}', 'spec: {addresses: [203.0.113.0/28]}', ''].join('\n');
  assert.ok(kubectlResult(['apply', '-f', '-'], baseline).ok);
  await waitFor('the baseline pool to be Ready', async () => condition(await pool('baseline-pool'), 'Ready')?.status === 'True', 10_000);
  const before = await pool('baseline-pool');

  assert.ok(badManifests.length >= 30, `${badManifests.length} cases`);
  for (const testCase of badManifests) {
    for (const existing of testCase.existing ?? []) {
      const created = kubectlResult(['apply', '-f', '-'], dump(existing));
      assert.ok(created.ok, `${testCase.name}: setting up ${created.stderr}`);
    }
    const result = kubectlResult(['create', '-f', '-'], dump(testCase.manifest));
    assert.equal(result.ok, false, `${testCase.name}: was accepted`);
    const message = result.stderr;
    if (testCase.rejectedBy === 'webhook') {
      assert.match(message, /admission webhook "[a-z0-9.]+" denied the request/, `${testCase.name}: ${message}`);
      const expected = testCase.expectedMessage;
      // The webhook joins several findings with "; ", each a complete message.
      const findings = (message.split('denied the request: ')[1] ?? '').trim().split('; ');
      assert.ok(findings.some((finding) => (typeof expected === 'string' ? finding.includes(expected) : expected.test(finding))),
        `${testCase.name}: expected ${String(expected)}, got ${message}`);
    } else {
      assert.match(message, /Invalid value|is invalid|unknown field|strict decoding error|Required value|Unsupported value|must be/,
        `${testCase.name}: ${message}`);
    }
    for (const existing of testCase.existing ?? []) kubectlResult(['delete', '-f', '-', '--wait=true'], dump(existing));
  }
  const after = await pool('baseline-pool');
  assert.deepEqual(after?.status, before?.status, 'the pool already there kept its status');
  assert.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'and was not written at all');
  kubectl('delete', 'ipaddresspool', '-n', ns, 'baseline-pool');
});

test('two overlapping pools in one `kubectl apply -f`: the first is stored, the second refused naming it', async () => {
  // kubectl sends the second object milliseconds after the first was stored; on a loaded machine that
  // can be before the first's watch event reaches an informer cache, so the webhook checks against what
  // the API server holds (the cache's real lag, after an outage, is api-outage.e2e's).
  const poolOf = (name: string, address: string): string => dump({
    apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: ns }, spec: { addresses: [address] },
  });
  const file = [poolOf('overlap-first', '10.70.0.0/24'), poolOf('overlap-second', '10.70.0.128/25')].join('---\n');
  for (let round = 1; round <= 5; round++) {
    const result = kubectlResult(['apply', '-f', '-'], file);
    assert.equal(result.ok, false, `round ${round}: both pools were admitted: ${result.stdout}`);
    assert.match(result.stderr,
      /ipaddresspool "overlap-second": spec\.addresses\[0\] "10\.70\.0\.128\/25": overlaps ipaddresspool "overlap-first"/, `round ${round}`);
    assert.ok(await pool('overlap-first'), `round ${round}: the first pool was stored`);
    assert.equal(await pool('overlap-second'), undefined, `round ${round}: the second was not`);
    kubectl('delete', 'ipaddresspool', '-n', ns, 'overlap-first', '--wait=true');
  }
});

test('ResolvedRefs follows a referenced pool being deleted and re-created; NODES follows node labels', async () => {
  const poolYaml = ['apiVersion: metallb.io/v1beta1', 'kind: IPAddressPool',
    'metadata: {name: edge-pool, namespace: metallb-system}', 'spec: {addresses: [192.168.1.230-192.168.1.233]}', ''].join('\n');
  const advertisementYaml = ['apiVersion: metallb.io/v1beta1', 'kind: L2Advertisement',
    'metadata: {name: edge-adv, namespace: metallb-system}',
    'spec: {ipAddressPools: [edge-pool], nodeSelectors: [{matchLabels: {l2lb-e2e/edge: "true"}}]}', ''].join('\n');
  assert.ok(kubectlResult(['apply', '-f', '-'], advertisementYaml).ok);
  await waitFor('ResolvedRefs=False naming edge-pool', async () => {
    const refs = condition(await advertisement('edge-adv'), 'ResolvedRefs');
    return refs?.status === 'False' && refs.message.includes('edge-pool');
  }, 10_000);
  assert.ok(kubectlResult(['apply', '-f', '-'], poolYaml).ok);
  await waitFor('ResolvedRefs=True once the pool exists', async () => condition(await advertisement('edge-adv'), 'ResolvedRefs')?.status === 'True', 10_000);

  const nodesColumn = (): string => kubectl('get', 'l2advertisements', '-n', ns, 'edge-adv', '-o', 'custom-columns=NODES:.status.matchedNodes', '--no-headers').trim();
  assert.equal(nodesColumn(), '0');
  kubectl('label', 'node', 'lab-node-1', 'l2lb-e2e/edge=true');
  try {
    await waitFor('NODES to count the labelled node', () => nodesColumn() === '1', 10_000);
    assert.match(kubectl('get', 'l2advertisements', '-n', ns, 'edge-adv', '--no-headers'), /^edge-adv\s+\["edge-pool"\]\s+1\s+True/);
    kubectl('label', 'node', 'lab-node-2', 'l2lb-e2e/edge=true');
    await waitFor('NODES to count both', () => nodesColumn() === '2', 10_000);
  } finally {
    kubectl('label', 'node', 'lab-node-1', 'lab-node-2', 'l2lb-e2e/edge-');
  }
  await waitFor('NODES back to 0', () => nodesColumn() === '0', 10_000);

  kubectl('delete', 'ipaddresspool', '-n', ns, 'edge-pool', '--wait=true');
  await waitFor('ResolvedRefs=False after the pool is deleted', async () => condition(await advertisement('edge-adv'), 'ResolvedRefs')?.status === 'False', 10_000);
  assert.ok(kubectlResult(['apply', '-f', '-'], poolYaml).ok);
  await waitFor('ResolvedRefs=True after it is re-created', async () => condition(await advertisement('edge-adv'), 'ResolvedRefs')?.status === 'True', 10_000);
});
