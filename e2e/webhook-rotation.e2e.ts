// The admission webhook as its manifest runs it: the lab's controller always has a read-only root and no
// writable /tmp (e2e/lab/operator.ts). Here its certificates live 15 s and each rotation phase settles for
// 2 s, so it rotates ten times in a few minutes, while a client updates a pool through the API server
// every 100 ms: every update must be admitted (the caBundle trusts the next CA before it is served, and
// the old one until every replica has moved on). Rotations are counted by the certificate the webhook
// port actually presents. On the installed lab the flags are added to the controller Deployment (both
// replicas, reached through the webhook's Service) and `make lab-up`'s apply takes them away again; the
// certificate is read from each replica's Pod IP, from the control-plane namespace.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Secrets } from '../operator/kit/resources.js';
import { IPAddressPools } from '../schemas/resources.js';
import { kubectl, kubectlResult } from './lab/kubectl.js';
import { labPaths, labUp } from './lab/lab.js';
import { ensureController, operatorPorts, type OperatorPorts } from './lab/operator.js';
import { stopDaemon, waitFor } from './lab/processes.js';
import { controllerPids, e2eLabMode } from './lab/programs.js';
import { LAB_CONTROL_PLANE_NS } from './lab/topology.js';

const NS = 'metallb-system';
const POOL = 'rotation-probe';
const ROTATIONS = 6;
const ROTATION_FLAGS = ['--webhook-cert-validity=15s', '--webhook-rotation-settle=2s'];
const paths = labPaths();
const installed = e2eLabMode() === 'cluster';
let client: KubeClient;
let ports: OperatorPorts;

/** Restarts the controller with the short-lived certificate's flags, and without its year-long pair. */
async function restartWithRotationFlags(): Promise<void> {
  if (!installed) {
    await stopDaemon(join(paths.run, 'controller.pid'), 'SIGTERM');
    await client.delete(Secrets, NS, 'metallb-webhook-cert').catch(() => undefined);
    ensureController(paths, ports, ROTATION_FLAGS);
    return;
  }
  kubectl('patch', 'deployment', 'controller', '-n', NS, '--type=json', '-p',
    JSON.stringify(ROTATION_FLAGS.map((value) => ({ op: 'add', path: '/spec/template/spec/containers/0/args/-', value }))));
  kubectl('rollout', 'status', 'deployment/controller', '-n', NS, '--timeout=180s');
  // Only once the old replicas are gone: one of them would mint a year's pair again.
  await client.delete(Secrets, NS, 'metallb-webhook-cert').catch(() => undefined);
}

/** The webhook's Pod IPs (installed lab). */
function webhookPodIPs(): string[] {
  return kubectl('get', 'pods', '-n', NS, '-l', 'component=controller', '--field-selector=status.phase=Running',
    '-o', 'jsonpath={.items[*].status.podIP}').trim().split(/\s+/).filter(Boolean);
}


before(async () => {
  await labUp(3, () => undefined, undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(paths.kubeconfig), 'l2lb-e2e-webhook-rotation');
  ports = await operatorPorts(join(paths.root, 'operator-ports.json'));
  const created = kubectlResult(['apply', '-f', '-'],
    `apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: ${POOL}, namespace: ${NS}}\nspec: {addresses: [198.51.100.8/29], autoAssign: false}\n`);
  assert.ok(created.ok, created.stderr);
  // Without its year-long pair the controller mints a 15 s one at once, then keeps rotating.
  await restartWithRotationFlags();
  await waitFor('admission through the restarted controller', () => kubectlResult(['annotate', '--overwrite', 'ipaddresspool', POOL, '-n', NS, 'l2lb.dev/rotation-probe=start']).ok, 60_000, 250);
});

after(async () => {
  // Back to the lab's usual controller (the installed lab's apply restores the Deployment's arguments);
  // without the short-lived pair it mints a year's at once. The Secret goes once no short-lived
  // replica is left to mint another.
  if (installed) {
    await labUp(3, () => undefined, undefined, e2eLabMode());
    kubectl('rollout', 'status', 'deployment/controller', '-n', NS, '--timeout=180s');
    await client?.delete(Secrets, NS, 'metallb-webhook-cert').catch(() => undefined);
  } else {
    await stopDaemon(join(paths.run, 'controller.pid'), 'SIGTERM');
    await client?.delete(Secrets, NS, 'metallb-webhook-cert').catch(() => undefined);
    await labUp(3, () => undefined, undefined, e2eLabMode());
  }
  await waitFor('admission through the usual controller', () => kubectlResult(['annotate', '--overwrite', 'ipaddresspool', POOL, '-n', NS, 'l2lb.dev/rotation-probe=end']).ok, 60_000, 250);
  await client?.delete(IPAddressPools, NS, POOL).catch(() => undefined);
  client?.close();
});

/** The SHA-256 fingerprints of the certificate each webhook port presents now. */
async function servedFingerprints(): Promise<string[]> {
  if (!installed) return [await servedFingerprint()];
  return webhookPodIPs().map((ip) => {
    try {
      const pem = execFileSync('ip', ['netns', 'exec', LAB_CONTROL_PLANE_NS, 'openssl', 's_client', '-connect', `${ip}:9443`],
        { encoding: 'utf8', input: '', timeout: 2_000, stdio: ['pipe', 'pipe', 'ignore'] });
      const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8', input: pem });
      return /=(\S+)/.exec(fingerprint)?.[1] ?? `unreachable: ${ip}: no certificate`;
    } catch (error) {
      return `unreachable: ${ip}: ${(error as Error).message.split('\n')[0]}`;
    }
  });
}

/** The SHA-256 fingerprint of the certificate the lab's controller process presents now. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: ports.webhook, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
    socket.setTimeout(2_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

test('the controller cannot write a file: its root is read-only and /tmp is not writable', async () => {
  let pid: number | undefined;
  for (let i = 0; i < 50 && pid === undefined; i++) {
    pid = controllerPids()[0];
    if (pid === undefined) await sleep(100);
  }
  assert.ok(pid !== undefined, 'the controller runs');
  // The controller's own node binary writes, in its mount namespace: the image has no `touch`.
  const node = readlinkSync(`/proc/${pid}/exe`);
  const workdir = readlinkSync(`/proc/${pid}/cwd`);
  for (const path of ['/tmp/l2lb-write-probe', join(workdir, '.l2lb-write-probe')]) {
    const write = spawnSync('nsenter', ['-t', String(pid), '-m', '--', node, '-e', 'require("node:fs").writeFileSync(process.argv[1], "")', path], { encoding: 'utf8' });
    assert.notEqual(write.status, 0, `${path} was writable in the controller's mount namespace`);
    assert.match(write.stderr, /EROFS: read-only file system/);
  }
});

test(`${ROTATIONS} rotations of the webhook certificate while a pool is updated every 100 ms: every update admitted`, { timeout: 600_000 }, async () => {
  const fingerprints: string[] = [];
  const failures: string[] = [];
  let admitted = 0;
  let done = false;
  const updates = (async () => {
    for (let i = 0; !done; i++) {
      const started = Date.now();
      try {
        await client.patch(IPAddressPools, NS, POOL, { metadata: { annotations: { 'l2lb.dev/rotation-probe': String(i) } } });
        admitted++;
      } catch (error) {
        failures.push(`${new Date().toISOString()} ${(error as Error).message}`);
      }
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();
  const deadline = Date.now() + 420_000;
  while (Date.now() < deadline && new Set(fingerprints).size < ROTATIONS + 1) {
    for (const fingerprint of await servedFingerprints().catch((error: Error) => [`unreachable: ${error.message}`])) {
      if (!fingerprints.includes(fingerprint)) fingerprints.push(fingerprint);
    }
    await sleep(200);
  }
  done = true;
  await updates;
  const served = new Set(fingerprints.filter((f) => !f.startsWith('unreachable')));
  console.log(`webhook rotation: ${served.size} certificates served (${served.size - 1} rotations); updates admitted ${admitted}, refused or failed ${failures.length}`);
  assert.deepEqual(failures, []);
  assert.deepEqual(fingerprints.filter((f) => f.startsWith('unreachable')), [], 'the webhook port always answered');
  assert.ok(served.size >= ROTATIONS + 1, `only ${served.size - 1} rotations`);
});
