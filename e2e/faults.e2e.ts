// Every fault kind of `make chaos` but the link flaps (e2e/link-faults.e2e.ts has those, ten of each),
// once each and on purpose rather than at random, judged as chaos judges them: the independent prober
// in lab-client (raw ARP and NDP every 20 ms, on both segments) must see every one of the 20 addresses
// answered by exactly one node from 1 s after the fault ends, control-plane faults must leave no address
// unanswered at all, and no Service may change address. Node faults hit the node answering the most
// addresses, so each one moves something.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChaosField, inject, nodeFault, type FaultKind, type FaultRecord } from './chaos.js';
import { waitFor } from './lab/processes.js';
import { e2eLabMode } from './lab/programs.js';

const CASES: ReadonlyArray<{ kind: FaultKind; what: string }> = [
  { kind: 'speaker SIGSTOP 2s', what: 'the speaker stopped for 2 s, then continued' },
  { kind: 'node freeze 3s', what: 'every process of the node stopped and its eth0 down for 3 s, then thawed' },
  { kind: 'eth1 re-created', what: 'eth1 deleted and created again (a new ifindex), its address re-added' },
  { kind: 'speaker SIGKILL', what: 'the speaker killed and restarted' },
  { kind: 'controller SIGKILL', what: 'the controller killed and restarted' },
  { kind: 'kube-apiserver restart', what: 'kube-apiserver stopped and started again' },
  { kind: 'etcd restart', what: 'etcd stopped and started again' },
];
/** After the fault ends: the 1 s in which it must settle, and time to see it stay settled. */
const QUIET_MS = 3_500;

let field: ChaosField;

before(async () => {
  field = await ChaosField.open(e2eLabMode());
});
after(async () => {
  await field?.close();
});

for (const { kind, what } of CASES) {
  const onNode = nodeFault(kind);
  test(`${kind} (${what}): one node answers every address within 1 s${onNode ? '' : ', and none goes unanswered'}`, { timeout: 300_000 }, async () => {
    await waitFor('every address answered by exactly one node', () => field.allSingle(), 60_000, 100);
    const node = field.busiestOwner();
    const startMs = Date.now();
    await inject(kind, node);
    const fault: FaultRecord = { kind, node: onNode ? node : undefined, startMs, endMs: Date.now() };
    await sleep(QUIET_MS);
    const verdict = field.judge(fault, Date.now());
    console.log(`${kind}${onNode ? ` on ${node}` : ''}: longest unanswered ${verdict.unansweredMs} ms (${verdict.worst}), longest two MACs ${verdict.doubleMs} ms`);
    assert.deepEqual(verdict.failures, []);
  });
}

test('no Service changed address through any of it', async () => {
  assert.equal(await field.changedAddresses(), 0);
});
