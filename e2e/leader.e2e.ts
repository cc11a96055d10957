// Two controller processes against a real kube-apiserver, each with the controller ServiceAccount's
// token: exactly one leads; a SIGKILLed leader is replaced within leaseDuration + retryPeriod; a leader
// stopped with SIGTERM releases the lease and is replaced within one retryPeriod.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Leases } from '../operator/kit/resources.js';
import { repoRoot } from './fixtures.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { writeServiceAccountKubeconfig } from './lab/credentials.js';
import { waitFor } from './lab/processes.js';

const LEASE_MS = 2000;
const RENEW_MS = 1500;
const RETRY_MS = 400;
// One API round trip and process scheduling on a loaded 2-core machine, on top of the protocol's bound.
const SLACK_MS = 300;

let cluster: TestCluster;
let kubeconfig: string;

interface Candidate {
  readonly identity: string;
  readonly process: ChildProcess;
  /** Wall-clock times (ms) at which it logged each message. */
  readonly logged: Map<string, number>;
  /** Every log line, for a failure's message. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

before(async () => {
  cluster = await startTestCluster('leader');
  cluster.kubectl('apply', '-f', join(repoRoot, 'config', 'manager', 'namespace.yaml'));
  cluster.kubectl('apply', '-k', join(repoRoot, 'config', 'rbac'));
  cluster.kubectl('apply', '-k', join(repoRoot, 'config', 'crd'));
  kubeconfig = join(cluster.root, 'controller.kubeconfig');
  writeServiceAccountKubeconfig({
    kubectl: cluster.kubectl, server: cluster.plane.server, caFile: cluster.plane.caFile,
    namespace: 'metallb-system', serviceAccount: 'controller', path: kubeconfig,
  });
});
after(async () => cluster?.stop());

function startCandidate(identity: string): Candidate {
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'operator', 'controller-main.js'),
    `--kubeconfig=${kubeconfig}`, `--identity=${identity}`, '--http-port=0', '--http-host=127.0.0.1', '--webhook-port=0',
    `--lease-duration=${LEASE_MS}ms`, `--renew-deadline=${RENEW_MS}ms`, `--retry-period=${RETRY_MS}ms`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  const logged = new Map<string, number>();
  const lines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines.push(line);
    try {
      const entry = JSON.parse(line) as { msg: string; ts: string };
      if (!logged.has(entry.msg)) logged.set(entry.msg, Date.parse(entry.ts));
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { identity, process: child, logged, lines, exited };
}

async function holder(): Promise<string> {
  const lease = await cluster.client.get<{ spec?: { holderIdentity?: string } }>(Leases, 'metallb-system', 'l2lb-controller');
  return lease.spec?.holderIdentity ?? '';
}

async function electedOne(candidates: readonly Candidate[]): Promise<{ leader: Candidate; standby: Candidate }> {
  await waitFor('a leader', () => candidates.some((c) => c.logged.has('became leader')), 20_000);
  await new Promise((resolve) => setTimeout(resolve, 3 * RETRY_MS)); // give a second leader every chance to appear
  const leaders = candidates.filter((c) => c.logged.has('became leader') && c.process.exitCode === null);
  assert.equal(leaders.length, 1, `exactly one leads, got ${leaders.map((c) => c.identity).join(', ')}`);
  const leader = leaders[0]!;
  assert.equal(await holder(), leader.identity);
  assert.ok(leader.logged.has('controllers started'));
  const standby = candidates.find((c) => c !== leader && c.process.exitCode === null)!;
  assert.equal(standby.logged.has('controllers started'), false, 'the standby runs no controllers');
  return { leader, standby };
}

test('exactly one of two controllers leads; a SIGKILLed leader is replaced within lease duration + retry period', async () => {
  const a = startCandidate('controller-a');
  const b = startCandidate('controller-b');
  try {
    const { leader, standby } = await electedOne([a, b]);
    const killedAt = Date.now();
    leader.process.kill('SIGKILL');
    await waitFor('the standby to lead', () => standby.logged.has('became leader'), LEASE_MS + RETRY_MS + 5000, 20);
    const takeoverMs = standby.logged.get('became leader')! - killedAt;
    console.log(`# takeover after SIGKILL: ${takeoverMs} ms (bound ${LEASE_MS + RETRY_MS} ms + ${SLACK_MS} ms slack)`);
    assert.ok(takeoverMs <= LEASE_MS + RETRY_MS + SLACK_MS, `took over after ${takeoverMs} ms`);
    assert.ok(takeoverMs >= LEASE_MS - RETRY_MS - 100, `took over after ${takeoverMs} ms: before the lease could expire`);
    assert.equal(await holder(), standby.identity);
  } finally {
    for (const c of [a, b]) c.process.kill('SIGKILL');
    await Promise.all([a.exited, b.exited]);
  }
});

test('a leader stopped with SIGTERM releases the lease and is replaced within one retry period', async () => {
  const c = startCandidate('controller-c');
  const d = startCandidate('controller-d');
  try {
    const { leader, standby } = await electedOne([c, d]);
    const stoppedAt = Date.now();
    leader.process.kill('SIGTERM');
    assert.equal(await leader.exited, 0, 'graceful shutdown exits 0');
    assert.ok(leader.logged.has('released the lease'), `no release logged; its last lines:\n${leader.lines.slice(-8).join('\n')}`);
    await waitFor('the standby to lead', () => standby.logged.has('became leader'), 5000, 20);
    const takeoverMs = standby.logged.get('became leader')! - stoppedAt;
    console.log(`# takeover after SIGTERM: ${takeoverMs} ms (bound ${RETRY_MS} ms + ${SLACK_MS} ms slack)`);
    assert.ok(takeoverMs <= RETRY_MS + SLACK_MS, `took over after ${takeoverMs} ms`);
  } finally {
    for (const x of [c, d]) x.process.kill('SIGKILL');
    await Promise.all([c.exited, d.exited]);
  }
});
