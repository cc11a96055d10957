// The informer against a real kube-apiserver: it survives the server going away mid-watch, re-lists
// (410) and delivers the delete it missed, and restarts a watch that went silent on a half-open stream.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Informer } from '../operator/kit/informer.js';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { ConfigMaps, Namespaces, objectKey, type KubeObject } from '../operator/kit/resources.js';
import { startTestCluster, type TestCluster } from './harness.js';
import { waitFor } from './lab/processes.js';

let cluster: TestCluster;
const ns = 'informer-e2e';

before(async () => {
  cluster = await startTestCluster('informer');
  await cluster.client.create(Namespaces, { metadata: { name: ns } });
});
after(async () => cluster?.stop());

function configMap(name: string, value: string): KubeObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { value } };
}

async function freshList(): Promise<Map<string, string | undefined>> {
  const { items } = await cluster.client.list<KubeObject>(ConfigMaps, ns);
  return new Map(items.map((item) => [objectKey(item), item.metadata.resourceVersion]));
}

function cacheOf(informer: Informer<KubeObject>): Map<string, string | undefined> {
  return new Map(informer.list().map((item) => [objectKey(item), item.metadata.resourceVersion]));
}

test('an informer survives the API server restarting mid-watch and ends equal to a fresh list', async () => {
  for (const name of ['keep', 'doomed', 'changed']) await cluster.client.create(ConfigMaps, configMap(name, '1'));
  const deleted: string[] = [];
  const informer = new Informer<KubeObject>(cluster.client, ConfigMaps, {
    namespace: ns, backoff: { initialMs: 200, maxMs: 1000, jitter: 0.2 },
  }).on({ delete: (object) => deleted.push(objectKey(object)) });
  informer.start();
  try {
    await informer.waitForSync();
    assert.deepEqual(cacheOf(informer), await freshList());

    await cluster.plane.stopApiServer('SIGKILL');
    // While the server is down, delete behind its back (straight from etcd): only a re-list can reveal it.
    cluster.etcdctl('del', `/registry/configmaps/${ns}/doomed`);
    await cluster.plane.restartApiServer();

    await waitFor('the missed delete to be delivered', () => deleted.includes(`${ns}/doomed`), 30_000);
    await cluster.client.patch(ConfigMaps, ns, 'changed', { data: { value: '2' } });
    await cluster.client.create(ConfigMaps, configMap('born-after', '1'));
    await waitFor('the cache to equal a fresh list', async () => {
      const fresh = await freshList();
      return fresh.has(`${ns}/born-after`) && JSON.stringify([...cacheOf(informer)].sort()) === JSON.stringify([...fresh].sort());
    }, 30_000);
    assert.ok(informer.stats.watchRestarts >= 1, 'the watch failed and was restarted');
    assert.ok(informer.stats.lists >= 2, 'it re-listed after the server came back');
    assert.equal(informer.get(`${ns}/doomed`), undefined);
  } finally {
    await informer.stop();
  }
});

/** A TCP relay to the API server that can freeze: it stops passing bytes but keeps connections open,
 *  as a dead peer behind a NAT or a pulled cable does. */
async function freezableRelay(target: number): Promise<{ port: number; freeze(): void; thaw(): void; close(): void }> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(target, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    inbound.on('data', (chunk) => { if (!frozen) outbound.write(chunk); });
    outbound.on('data', (chunk) => { if (!frozen) inbound.write(chunk); });
    inbound.on('end', () => outbound.end());
    outbound.on('end', () => inbound.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('relay has no port');
  return {
    port: address.port,
    freeze: () => { frozen = true; },
    thaw: () => {
      frozen = false;
      // Connections opened while frozen carry half a TLS handshake: drop them so clients reconnect cleanly.
      for (const socket of sockets) socket.destroy();
    },
    close: () => { for (const socket of sockets) socket.destroy(); server.close(); },
  };
}

test('a watch that stays silent past its deadline is restarted', async () => {
  const relay = await freezableRelay(cluster.plane.ports.apiServer);
  const direct = loadKubeConfig(cluster.kubeconfig);
  const client = await KubeClient.create({ ...direct, server: `https://127.0.0.1:${relay.port}` }, 'l2lb-e2e-silence');
  const informer = new Informer<KubeObject>(client, ConfigMaps, {
    namespace: ns, silenceDeadlineMs: 1500, backoff: { initialMs: 100, maxMs: 500, jitter: 0 },
  });
  informer.start();
  try {
    await informer.waitForSync();
    relay.freeze();
    await cluster.client.create(ConfigMaps, configMap('while-frozen', '1'));
    await waitFor('a silence restart', () => informer.stats.silenceRestarts >= 1, 10_000);
    assert.equal(informer.get(`${ns}/while-frozen`), undefined, 'nothing passed while frozen');
    relay.thaw();
    await waitFor('the object created during the silence', () => informer.get(`${ns}/while-frozen`) !== undefined, 20_000);
  } finally {
    await informer.stop();
    client.close();
    relay.close();
  }
});
