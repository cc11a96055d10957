// Admission fuzz: 10,000 manifests mutated from the guides' pools and advertisements (e2e/cases/
// admission-fuzz.ts: bad and reversed ranges, /0 and /128, 100,000-entry lists, 1 MiB bodies, deep
// nesting, wrong types, unicode, duplicate keys, truncated JSON) sent through the lab's real API server
// (dry run: admission runs in full, nothing is stored) to the real webhook. No answer may be a 5xx or a
// timeout; every refusal by the webhook names the object, the field and (unless the field is missing)
// the value; the API server's own refusals name the field; the webhook's memory stays flat; and the
// Services that had addresses keep them. Counts by outcome are printed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ApiError, KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools } from '../schemas/resources.js';
import { admissionFuzzCases, guideManifests, type FuzzCase } from './cases/admission-fuzz.js';
import { repoRoot } from './fixtures.js';
import { setEndpoints } from './lab/endpoints.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { memoryOfPid, waitFor } from './lab/processes.js';
import { controllerPids, e2eLabMode } from './lab/programs.js';

// make test sends 1,000 (about a minute); `make fuzz` sends 10,000 (COUNT=, SEED=).
const COUNT = Number(process.env.L2LB_FUZZ_COUNT ?? '1000');
const SEED = Number(process.env.L2LB_FUZZ_SEED ?? '12');
const CONCURRENCY = 4;
const NS = 'admission-fuzz';
const paths = labPaths();
let client: KubeClient;

interface LoadBalancer extends KubeObject {
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

async function assignments(): Promise<Map<string, string>> {
  const { items } = await client.list<LoadBalancer>(Services, NS);
  return new Map(items.map((s) => [s.metadata.name ?? '', (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(',')]));
}

/** Every controller process's RSS together: on the installed lab both replicas serve the webhook. */
function controllerRssMb(): number {
  return Math.round(controllerPids().reduce((sum, pid) => sum + memoryOfPid(pid).rssMb, 0));
}

before(async () => {
  await labUp(3, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(paths.kubeconfig), 'l2lb-e2e-admission-fuzz');
  kubectl('delete', 'services,endpointslices', '--all', '-n', NS, '--ignore-not-found', '--wait=true');
  const setUp = kubectlResult(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}}\n---
apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: fuzz-home, namespace: metallb-system}\nspec: {addresses: [10.250.0.0/29], serviceAllocation: {namespaces: [${NS}]}}\n`);
  assert.ok(setUp.ok, setUp.stderr);
  for (const name of ['web', 'db', 'cache']) {
    await client.create(Services, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS },
      ...{ spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP' }] } } });
    await setEndpoints(client, NS, name, [{ node: 'lab-node-1' }]);
  }
  await waitFor('the three Services to have addresses', async () => [...(await assignments()).values()].every((ip) => ip !== ''), 60_000, 250);
});

after(async () => {
  kubectl('delete', 'services,endpointslices', '--all', '-n', NS, '--ignore-not-found', '--wait=true');
  await client?.delete(IPAddressPools, 'metallb-system', 'fuzz-home').catch(() => undefined);
  client?.close();
});

type Outcome = { status: number; message: string };

async function send(fuzz: FuzzCase): Promise<Outcome> {
  const plural = fuzz.kind === 'IPAddressPool' ? 'ipaddresspools' : 'l2advertisements';
  try {
    await client.request('POST', `/apis/metallb.io/v1beta1/namespaces/metallb-system/${plural}`,
      { body: Buffer.from(fuzz.body), query: { dryRun: 'All' }, timeoutMs: 30_000 });
    return { status: 201, message: '' };
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, message: error.message };
    return { status: 0, message: (error as Error).message };
  }
}

/** What is wrong with an outcome, or undefined when it is one the contract allows. */
function problem(fuzz: FuzzCase, outcome: Outcome): string | undefined {
  const { status, message } = outcome;
  if (status === 0) return `no answer (${message})`;
  if (status >= 500) return `${status}: ${message.slice(0, 600)}`;
  if (status === 201 || status === 413) return undefined; // admitted; or over the API server's body limit
  if (message.includes('denied the request')) {
    // The webhook's own words: `<kind> "<name>": <field>[ <value>]: <reason>`.
    const denial = /denied the request: (ipaddresspool|l2advertisement) "[^"]*": ((spec|metadata)[\w.[\]]*)( (.+?))?: /.exec(message);
    if (denial === null) return `a refusal that names no field: ${message.slice(0, 300)}`;
    const absent = / is required| must list at least one/.test(message);
    if (denial[5] === undefined && !absent) return `a refusal that names no value: ${message.slice(0, 300)}`;
    return undefined;
  }
  // The API server's own refusals: schema (422) name the field; a body it cannot decode (400) has none.
  if (status === 422 && !/\b(spec|metadata)\.?[\w[\]]*/.test(message)) return `422 without a field: ${message.slice(0, 300)}`;
  if (status === 400 || status === 422 || status === 409) return undefined;
  return `unexpected ${status}: ${message.slice(0, 300)}`;
}

test(`${COUNT} mutated manifests through the API server: no 5xx, no timeout, every refusal names field and value, memory flat, no address moved`, { timeout: 3_600_000 }, async () => {
  const cases = admissionFuzzCases(guideManifests(join(repoRoot, 'config', 'samples', 'guides')), COUNT, SEED);
  const before = await assignments();
  const byOutcome = new Map<string, number>();
  const problems: string[] = [];
  let rssWarm = 0;
  let done = 0;
  const started = Date.now();
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    for (let i = nextIndex++; i < cases.length; i = nextIndex++) {
      const fuzz = cases[i]!;
      const outcome = await send(fuzz);
      const key = outcome.status === 201 ? 'admitted'
        : outcome.message.includes('denied the request') ? 'refused by the webhook'
          : `refused by the API server (${outcome.status})`;
      byOutcome.set(key, (byOutcome.get(key) ?? 0) + 1);
      const wrong = problem(fuzz, outcome);
      if (wrong !== undefined) problems.push(`#${i} ${fuzz.kind} ${fuzz.mutation}: ${wrong}`);
      if (++done === 500) rssWarm = controllerRssMb();
      if (done % 2_000 === 0) console.log(`admission fuzz: ${done}/${cases.length} in ${Math.round((Date.now() - started) / 1000)} s, controller RSS ${controllerRssMb()} MB`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rssEnd = controllerRssMb();
  const after = await assignments();
  console.log(`admission fuzz, seed ${SEED}: ${[...byOutcome].map(([k, n]) => `${k} ${n}`).join(', ')}; `
    + `${Math.round((Date.now() - started) / 1000)} s; controller RSS ${rssWarm} MB after 500, ${rssEnd} MB at the end`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
  assert.ok((byOutcome.get('refused by the webhook') ?? 0) > COUNT / 10, 'the webhook itself was asked, and refused');
  assert.ok(rssEnd <= rssWarm * 1.25 + 20, `the webhook's RSS grew from ${rssWarm} to ${rssEnd} MB`);
  assert.deepEqual([...after], [...before], 'the Services kept their addresses');
});
