// Issue 12 against a real kube-apiserver (a private control plane per file, as leader.e2e.ts):
//  - an informer's cache holds only what its selectors select, through the list and the watch alike;
//  - least privilege: each ServiceAccount's own token is refused (403) what its component does not need;
//  - fenced leadership: a controller frozen (SIGSTOP) for 2 × leaseDuration loses the lease to the
//    standby and, once thawed, makes no write at all (every request of each candidate passes through a
//    counting proxy), then leaves; started again, it rejoins as a standby;
//  - the controller creates Secret memberlist when absent and never changes an existing one.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Informer } from '../operator/kit/informer.js';
import { isStatus, KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { ConfigMaps, Leases, Namespaces, Nodes, objectKey, Secrets, Services, ValidatingWebhookConfigurations, type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools, L2Advertisements } from '../schemas/resources.js';
import { kubeconfigYaml } from './controlplane.js';
import { repoRoot } from './fixtures.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { writeServiceAccountKubeconfig } from './lab/credentials.js';
import { waitFor } from './lab/processes.js';

const NS = 'metallb-system';
let cluster: TestCluster;
let speaker: KubeClient;
let controller: KubeClient;

before(async () => {
  cluster = await startTestCluster('trust');
  cluster.kubectl('apply', '-f', join(repoRoot, 'config', 'manager', 'namespace.yaml'));
  cluster.kubectl('apply', '-k', join(repoRoot, 'config', 'rbac'));
  cluster.kubectl('apply', '-k', join(repoRoot, 'config', 'crd'));
  cluster.kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io');
  const clientFor = async (serviceAccount: string): Promise<KubeClient> => {
    const path = join(cluster.root, `${serviceAccount}.kubeconfig`);
    writeServiceAccountKubeconfig({
      kubectl: cluster.kubectl, server: cluster.plane.server, caFile: cluster.plane.caFile, namespace: NS, serviceAccount, path,
    });
    return await KubeClient.create(loadKubeConfig(path), `l2lb-e2e-trust-${serviceAccount}`);
  };
  speaker = await clientFor('speaker');
  controller = await clientFor('controller');
  const secret = (name: string, namespace = NS): KubeObject & { data: Record<string, string> } =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: { secretkey: Buffer.from(name).toString('base64') } });
  for (const object of [secret('memberlist'), secret('metallb-webhook-cert'), secret('unrelated'), secret('elsewhere', 'default')]) {
    await cluster.client.create(Secrets, object);
  }
});
after(async () => {
  speaker?.close();
  controller?.close();
  await cluster?.stop();
});

// ---------------------------------------------------------------------------------------------------------
// Caches hold only what they should.

test("an object outside an informer's selectors never reaches its cache, through the list or the watch", async () => {
  // The speaker's own watch of Secret memberlist, with the speaker's own token: the field selector is also
  // what lets RBAC's resourceNames allow the list and the watch at all.
  const keys = new Set<string>();
  const secrets = new Informer<KubeObject>(speaker, Secrets, { namespace: NS, fieldSelector: 'metadata.name=memberlist' })
    .on({ add: (o) => keys.add(objectKey(o)), update: (_p, o) => keys.add(objectKey(o)) });
  const testNs = 'trust-cache';
  await cluster.client.create(Namespaces, { metadata: { name: testNs } });
  const configMap = (name: string, selected: boolean, value = '1'): KubeObject & { data: Record<string, string> } =>
    ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: testNs, labels: { 'l2lb-e2e': selected ? 'in' : 'out' } }, data: { value } });
  await cluster.client.create(ConfigMaps, configMap('in-listed', true));
  await cluster.client.create(ConfigMaps, configMap('out-listed', false));
  const maps = new Informer<KubeObject>(cluster.client, ConfigMaps, { namespace: testNs, labelSelector: 'l2lb-e2e=in', pageSize: 1 })
    .on({ add: (o) => keys.add(objectKey(o)), update: (_p, o) => keys.add(objectKey(o)) });
  secrets.start();
  maps.start();
  try {
    await Promise.all([secrets.waitForSync(), maps.waitForSync()]);
    assert.deepEqual(secrets.keys(), [`${NS}/memberlist`]);
    assert.deepEqual(maps.keys(), [`${testNs}/in-listed`]);
    // While both watch: objects outside the selectors change and appear, then a selected one does. Once
    // the selected change is seen, every earlier event has been delivered (a watch is ordered).
    await cluster.client.patch(Secrets, NS, 'unrelated', { metadata: { labels: { touched: 'yes' } } });
    await cluster.client.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'born-during-watch', namespace: NS } });
    await cluster.client.create(ConfigMaps, configMap('out-watched', false));
    await cluster.client.patch(ConfigMaps, testNs, 'out-listed', { data: { value: '2' } });
    await cluster.client.patch(Secrets, NS, 'memberlist', { metadata: { labels: { touched: 'yes' } } });
    await cluster.client.create(ConfigMaps, configMap('in-watched', true));
    await waitFor('the selected changes', () => secrets.get(`${NS}/memberlist`)?.metadata.labels?.touched === 'yes'
      && maps.get(`${testNs}/in-watched`) !== undefined, 20_000);
    assert.deepEqual(secrets.keys(), [`${NS}/memberlist`]);
    assert.deepEqual(maps.keys().sort(), [`${testNs}/in-listed`, `${testNs}/in-watched`]);
    assert.deepEqual([...keys].sort(), [`${NS}/memberlist`, `${testNs}/in-listed`, `${testNs}/in-watched`], 'no handler ever saw another object');
    assert.ok(maps.stats.listPages >= 1);
    for (const cached of [...secrets.list(), ...maps.list()]) {
      assert.equal('managedFields' in cached.metadata, false, `${objectKey(cached)} is cached without managedFields`);
    }
  } finally {
    await Promise.all([secrets.stop(), maps.stop()]);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Least privilege, with each ServiceAccount's own token.

async function refused(who: string, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    assert.ok(isStatus(error, 403), `${who} ${what}: expected 403, got ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  assert.fail(`${who} ${what}: allowed, should be refused`);
}

async function allowed(who: string, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    assert.ok(!isStatus(error, 403), `${who} ${what}: refused (403), should be allowed`);
  }
}

const pool = (name: string): KubeObject & { spec: { addresses: string[] } } =>
  ({ apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: NS }, spec: { addresses: ['192.168.10.0/24'] } });
const advertisement = (name: string): KubeObject =>
  ({ apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name, namespace: NS } });
const service = (name: string): KubeObject & { spec: unknown } =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });

test('least privilege: the speaker is refused every write to Services, pools and advertisements, and every Secret but memberlist', async () => {
  await cluster.client.create(Services, service('existing'));
  await cluster.client.create(IPAddressPools, pool('existing'));
  await cluster.client.create(L2Advertisements, advertisement('existing'));
  const s = (what: string, call: () => Promise<unknown>): Promise<void> => refused('speaker', what, call);
  await s('creates a Service', () => speaker.create(Services, service('new')));
  await s('patches a Service', () => speaker.patch(Services, 'default', 'existing', { metadata: { labels: { x: 'y' } } }));
  await s("patches a Service's status", () => speaker.patch(Services, 'default', 'existing', { status: {} }, 'merge', 'status'));
  await s('deletes a Service', () => speaker.delete(Services, 'default', 'existing'));
  await s('creates an IPAddressPool', () => speaker.create(IPAddressPools, pool('new')));
  await s('patches an IPAddressPool', () => speaker.patch(IPAddressPools, NS, 'existing', { spec: { autoAssign: false } }));
  await s('deletes an IPAddressPool', () => speaker.delete(IPAddressPools, NS, 'existing'));
  await s('creates an L2Advertisement', () => speaker.create(L2Advertisements, advertisement('new')));
  await s('patches an L2Advertisement', () => speaker.patch(L2Advertisements, NS, 'existing', { spec: { interfaces: ['eth9'] } }));
  await s('deletes an L2Advertisement', () => speaker.delete(L2Advertisements, NS, 'existing'));
  await s('reads the webhook certificate Secret', () => speaker.get(Secrets, NS, 'metallb-webhook-cert'));
  await s('reads another Secret', () => speaker.get(Secrets, NS, 'unrelated'));
  await s('reads a Secret in another namespace', () => speaker.get(Secrets, 'default', 'elsewhere'));
  await s('lists the Secrets of metallb-system', () => speaker.list(Secrets, NS));
  await s('lists Secrets by another name', () => speaker.list(Secrets, NS, { fieldSelector: 'metadata.name=metallb-webhook-cert' }));
  await s('changes Secret memberlist', () => speaker.patch(Secrets, NS, 'memberlist', { metadata: { labels: { x: 'y' } } }));
  await s('deletes Secret memberlist', () => speaker.delete(Secrets, NS, 'memberlist'));
  await s('creates a Secret', () => speaker.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted', namespace: NS } }));
  await s('changes a Node', () => speaker.patch(Nodes, undefined, 'any', { metadata: { labels: { x: 'y' } } }));
  const a = (what: string, call: () => Promise<unknown>): Promise<void> => allowed('speaker', what, call);
  await a('reads Secret memberlist', () => speaker.get(Secrets, NS, 'memberlist'));
  await a('lists Secret memberlist by name', () => speaker.list(Secrets, NS, { fieldSelector: 'metadata.name=memberlist' }));
  await a('reads pools', () => speaker.list(IPAddressPools, NS));
});

test('least privilege: the controller is refused what it does not need', async () => {
  await cluster.client.create(Leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l2lb-speaker-node-x', namespace: NS }, spec: {} } as KubeObject);
  const c = (what: string, call: () => Promise<unknown>): Promise<void> => refused('controller', what, call);
  await c('creates a Service', () => controller.create(Services, service('from-controller')));
  await c('deletes a Service', () => controller.delete(Services, 'default', 'existing'));
  await c('creates an IPAddressPool', () => controller.create(IPAddressPools, pool('from-controller')));
  await c("changes an IPAddressPool's spec", () => controller.patch(IPAddressPools, NS, 'existing', { spec: { autoAssign: false } }));
  await c('deletes an IPAddressPool', () => controller.delete(IPAddressPools, NS, 'existing'));
  await c('deletes an L2Advertisement', () => controller.delete(L2Advertisements, NS, 'existing'));
  await c('reads another Secret', () => controller.get(Secrets, NS, 'unrelated'));
  await c('reads a Secret in another namespace', () => controller.get(Secrets, 'default', 'elsewhere'));
  await c('lists the Secrets of metallb-system', () => controller.list(Secrets, NS));
  await c('changes Secret memberlist (it only ever creates it)', () => controller.patch(Secrets, NS, 'memberlist', { metadata: { labels: { x: 'y' } } }));
  await c('deletes Secret memberlist', () => controller.delete(Secrets, NS, 'memberlist'));
  await c('deletes the webhook certificate Secret', () => controller.delete(Secrets, NS, 'metallb-webhook-cert'));
  await c("changes an announcer's heartbeat Lease", () => controller.patch(Leases, NS, 'l2lb-speaker-node-x', { spec: { holderIdentity: 'x' } }));
  await c('changes a Node', () => controller.patch(Nodes, undefined, 'any', { metadata: { labels: { x: 'y' } } }));
  await c('deletes a webhook configuration', () => controller.delete(ValidatingWebhookConfigurations, undefined, 'metallb-webhook-configuration'));
  await c("changes another webhook configuration", () => controller.patch(ValidatingWebhookConfigurations, undefined, 'someone-elses', { metadata: { labels: { x: 'y' } } }));
  const a = (what: string, call: () => Promise<unknown>): Promise<void> => allowed('controller', what, call);
  await a('reads Secret memberlist', () => controller.get(Secrets, NS, 'memberlist'));
  await a('lists Secret memberlist by name', () => controller.list(Secrets, NS, { fieldSelector: 'metadata.name=memberlist' }));
  await a('changes the webhook certificate Secret', () => controller.patch(Secrets, NS, 'metallb-webhook-cert', { metadata: { labels: { x: 'y' } } }));
  await a('creates a Secret (memberlist when absent)', () => controller.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'created-by-controller', namespace: NS } }));
  await a("writes a Service's status", () => controller.patch(Services, 'default', 'existing', { status: {} }, 'merge', 'status'));
  await a('reads heartbeat Leases', () => controller.list(Leases, NS, 'l2lb.dev/heartbeat=true'));
});

// ---------------------------------------------------------------------------------------------------------
// Fenced leadership.

const LEASE_MS = 2000;
const RENEW_MS = 1500;
const RETRY_MS = 400;

interface Request {
  readonly method: string;
  readonly path: string;
  readonly at: number;
}

/** A plain-HTTP front for the API server that records every request (time, method, path) before
 *  forwarding it over TLS: what one candidate sends, counted outside its process. */
async function countingProxy(): Promise<{ url: string; requests: Request[]; close(): void }> {
  const target = new URL(cluster.plane.server);
  const ca = readFileSync(cluster.plane.caFile);
  const requests: Request[] = [];
  const server: Server = createHttpServer((inbound, outbound) => {
    requests.push({ method: inbound.method ?? '', path: inbound.url ?? '', at: Date.now() });
    const upstream = httpsRequest({
      host: target.hostname, port: target.port, method: inbound.method, path: inbound.url, headers: { ...inbound.headers, host: target.host }, ca,
    }, (answer) => {
      outbound.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outbound);
    });
    upstream.on('error', () => outbound.destroy());
    outbound.on('close', () => upstream.destroy());
    inbound.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => { server.closeAllConnections(); server.close(); },
  };
}

interface Candidate {
  readonly identity: string;
  readonly process: ChildProcess;
  readonly logged: Map<string, number>;
  readonly exited: Promise<number | null>;
}

function startCandidate(identity: string, server: string, token: string): Candidate {
  const kubeconfig = join(cluster.root, `${identity}.kubeconfig`);
  writeFileSync(kubeconfig, kubeconfigYaml({ server, caFile: cluster.plane.caFile, user: `${NS}:controller`, token, namespace: NS }), { mode: 0o600 });
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'operator', 'controller-main.js'),
    `--kubeconfig=${kubeconfig}`, `--identity=${identity}`, '--http-port=0', '--http-host=127.0.0.1', '--webhook-port=0',
    `--lease-duration=${LEASE_MS}ms`, `--renew-deadline=${RENEW_MS}ms`, `--retry-period=${RETRY_MS}ms`],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  const logged = new Map<string, number>();
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { msg: string; ts: string };
      if (!logged.has(entry.msg)) logged.set(entry.msg, Date.parse(entry.ts));
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { identity, process: child, logged, exited };
}

async function holder(): Promise<string> {
  const lease = await cluster.client.get<{ spec?: { holderIdentity?: string } }>(Leases, NS, 'l2lb-controller');
  return lease.spec?.holderIdentity ?? '';
}

const isWrite = (r: Request): boolean => r.method !== 'GET';

test('fencing: a leader frozen for 2 × leaseDuration makes no write after the standby acquires, then rejoins as a standby', async () => {
  const token = cluster.kubectl('create', 'token', 'controller', '-n', NS, '--duration=1h').trim();
  const proxyA = await countingProxy();
  const proxyB = await countingProxy();
  const proxies = new Map([['fence-a', proxyA], ['fence-b', proxyB]]);
  const a = startCandidate('fence-a', proxyA.url, token);
  const b = startCandidate('fence-b', proxyB.url, token);
  const started = [a, b];
  try {
    await waitFor('a leader', () => started.some((c) => c.logged.has('controllers started')), 30_000);
    const leader = a.logged.has('controllers started') ? a : b;
    const standby = leader === a ? b : a;
    const leaderProxy = proxies.get(leader.identity)!;
    assert.equal(await holder(), leader.identity);
    // Work the leader would act on, so that a leader that kept going would write.
    await cluster.client.create(IPAddressPools, pool('fence-pool'));
    await waitFor('the leader to write (pool status)', () => leaderProxy.requests.some((r) => isWrite(r) && r.path.includes('ipaddresspools')), 20_000);

    const frozenAt = Date.now();
    leader.process.kill('SIGSTOP');
    await waitFor('the standby to acquire', () => standby.logged.has('became leader'), 4 * LEASE_MS + 5000, 20);
    const acquiredAt = standby.logged.get('became leader')!;
    // While it is frozen, more work arrives: the thawed leader's informers will deliver it.
    await cluster.client.create(Services, service('fence-svc'));
    const thawAt = frozenAt + 2 * LEASE_MS;
    await sleep(Math.max(0, thawAt - Date.now()));
    assert.ok(acquiredAt < Date.now(), 'the standby acquired while the leader was frozen');
    leader.process.kill('SIGCONT');
    await waitFor('the old leader to notice', () => leader.logged.has('lost leadership') || leader.process.exitCode !== null, 10_000);
    await sleep(3 * RETRY_MS + 1000); // every chance for a late write to show

    const late = leaderProxy.requests.filter((r) => isWrite(r) && r.at >= acquiredAt);
    console.log(`# fencing: frozen ${Date.now() - frozenAt} ms; standby acquired ${acquiredAt - frozenAt} ms after the freeze; old leader's writes since: ${late.length}`);
    assert.deepEqual(late, [], 'the old leader wrote nothing after the standby acquired');
    assert.equal(await holder(), standby.identity);
    await waitFor('the new leader to allocate the Service', async () => {
      const svc = await cluster.client.get<{ status?: { loadBalancer?: { ingress?: unknown[] } } }>(Services, 'default', 'fence-svc');
      return (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
    }, 20_000);

    // The old leader shut down (its reconcilers' state belongs to its term); its supervisor starts it
    // again, and it rejoins as a standby.
    await Promise.race([leader.exited, sleep(10_000)]);
    assert.notEqual(leader.process.exitCode, null, 'the fenced leader stopped');
    const again = startCandidate(leader.identity, leaderProxy.url, token);
    started.push(again);
    await waitFor('the restarted candidate to sync', () => again.logged.has('caches synced'), 30_000);
    await sleep(3 * LEASE_MS);
    assert.equal(again.logged.has('became leader'), false, 'it runs as a standby');
    assert.equal(await holder(), standby.identity);
  } finally {
    for (const c of started) {
      c.process.kill('SIGCONT');
      c.process.kill('SIGKILL');
    }
    await Promise.all(started.map((c) => c.exited));
    proxyA.close();
    proxyB.close();
  }
});

test('the controller creates Secret memberlist (32 random bytes) when absent and never changes an existing one', async () => {
  await cluster.client.delete(Secrets, NS, 'memberlist');
  const token = cluster.kubectl('create', 'token', 'controller', '-n', NS, '--duration=1h').trim();
  const one = startCandidate('memberlist-maker', cluster.plane.server, token);
  try {
    let key = '';
    await waitFor('Secret memberlist', async () => {
      try {
        const secret = await cluster.client.get<{ data?: Record<string, string> }>(Secrets, NS, 'memberlist');
        key = secret.data?.secretkey ?? '';
        return key !== '';
      } catch (error) {
        if (isStatus(error, 404)) return false;
        throw error;
      }
    }, 30_000);
    assert.equal(Buffer.from(key, 'base64').length, 32);
    // An administrator rotates it (MetalLB's way: a new value of their choosing); the controller keeps it.
    const rotated = Buffer.from('a'.repeat(172)).toString('base64');
    await cluster.client.patch(Secrets, NS, 'memberlist', { data: { secretkey: rotated } });
    await sleep(3000);
    const kept = await cluster.client.get<{ data?: Record<string, string> }>(Secrets, NS, 'memberlist');
    assert.equal(kept.data?.secretkey, rotated);
  } finally {
    one.process.kill('SIGKILL');
    await one.exited;
  }
});
