import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient, WriteFencedError } from './kube-client.js';
import { silentLogger } from './log.js';
import { Manager } from './manager.js';
import { ConfigMaps } from './resources.js';

let server: Server;
let client: KubeClient;
const methods: string[] = [];

before(async () => {
  server = createServer((request, response) => {
    methods.push(request.method ?? '');
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"metadata":{}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = await KubeClient.create({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tls: {}, authHeaders: async () => ({ Authorization: 'Bearer t' }) }, 'test');
});
after(() => {
  client.close();
  server.close();
});

it('with leader election, the client reconcilers get is fenced: no write leaves before leadership', async () => {
  const manager = new Manager({
    client, logger: silentLogger,
    leaderElection: { namespace: 'ns', name: 'lease', identity: 'me', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  });
  await assert.rejects(manager.client.update(ConfigMaps, { metadata: { namespace: 'ns', name: 'x' } }), WriteFencedError);
  await manager.client.get(ConfigMaps, 'ns', 'x');
  assert.deepEqual(methods, ['GET']);
});

it('without leader election (the speaker), the client is the plain one', () => {
  const manager = new Manager({ client, logger: silentLogger });
  assert.equal(manager.client, client);
});
