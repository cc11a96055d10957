// The anchor l2lb is measured against, as a smoke test: MetalLB v0.15.2, built from its Go module and
// installed from its own metallb-native.yaml on the cluster lab (`make lab-up PEER=metallb`), takes the
// guides' pool and advertisement, answers ARP for a Service from one node, and moves it when that node's
// speaker process is killed. `make bench` (bench/peer.ts) measures both systems; this only proves the
// fixture is real and working, so the benchmark's MetalLB column means something.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { labUp } from './lab/lab.js';
import { guidesServiceWithPods } from './lab/backends.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { pidsInNamespace, waitFor } from './lab/processes.js';
import { arpOwners } from './lab/wire.js';

const NODES = 3;
const APP = 'metallb-smoke';

const speakerPid = (node: string): number | undefined => pidsInNamespace(node, /^\/speaker /)[0];

before(async () => {
  await labUp(NODES, (message) => console.log(`lab: ${message}`), undefined, 'metallb');
});

after(() => {
  kubectlResult(['delete', 'service,deployment', APP, '-n', 'default', '--ignore-not-found']);
});

test('MetalLB v0.15.2 runs from its own manifest: a speaker per node from the image built from its module', () => {
  const pods = JSON.parse(kubectl('get', 'pods', '-n', 'metallb-system', '-o', 'json')) as { items: Array<{ metadata: { labels?: Record<string, string> }; spec: { nodeName?: string; containers: Array<{ image: string }> } }> };
  const speakers = pods.items.filter((p) => p.metadata.labels?.component === 'speaker');
  assert.deepEqual(speakers.map((p) => p.spec.nodeName).sort(), ['lab-node-1', 'lab-node-2', 'lab-node-3']);
  assert.ok(speakers.every((p) => p.spec.containers[0]?.image === 'quay.io/metallb/speaker:v0.15.2'));
  for (let i = 1; i <= NODES; i++) assert.ok(speakerPid(`lab-node-${i}`) !== undefined, `no /speaker process in lab-node-${i}`);
});

test('MetalLB answers ARP for a Service from one node, and again after that speaker’s process is killed', async () => {
  await guidesServiceWithPods(APP, 'default', 1);
  let ip = '';
  await waitFor('an address from MetalLB', () => (ip = kubectl('get', 'service', APP, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}').trim()) !== '', 60_000, 250);
  assert.match(ip, /^192\.168\.1\.2[45][0-9]$/);
  let owner = '';
  await waitFor(`one node answering ${ip}`, () => {
    const owners = arpOwners(ip);
    owner = owners[0] ?? '';
    return owners.length === 1;
  }, 30_000, 250);
  const pid = speakerPid(owner);
  assert.ok(pid !== undefined);
  const killed = Date.now();
  process.kill(pid, 'SIGKILL');
  // Nobody answers until MetalLB's memberlist declares the node gone or its kubelet restarts the speaker,
  // whichever comes first; the restarted speaker (a new process) usually wins on a lab this small.
  await waitFor(`${ip} to go unanswered`, () => arpOwners(ip).length === 0, 10_000, 50);
  let heir = '';
  await waitFor(`${ip} answered again`, () => {
    const owners = arpOwners(ip);
    heir = owners[0] ?? '';
    return owners.length === 1;
  }, 60_000, 100);
  console.log(`# MetalLB: ${owner}'s speaker SIGKILLed; ${heir} answered ${ip} again after ${Date.now() - killed} ms (arping from lab-client)`);
  if (heir === owner) assert.notEqual(speakerPid(owner), pid, 'the old owner answers again, so its speaker must be a new process');
});
