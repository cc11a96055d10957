import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient, WriteFencedError } from './kube-client.js';
import { createLogger, silentLogger } from './log.js';
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

it('says how long each step of a stop took, so a slow stop names the step it waited on', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const own = await KubeClient.create({ server: 'http://127.0.0.1:9', tls: {}, authHeaders: async () => ({}) }, 'test');
  const manager = new Manager({ client: own, logger: createLogger({ sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }) });
  manager.onShutdown(() => new Promise((resolve) => setTimeout(resolve, 40)));
  await manager.stop();
  const stopped = lines.find((line) => line.msg === 'stopped')!;
  assert.deepEqual(Object.keys(stopped).filter((key) => key.endsWith('Ms')), ['controllersMs', 'leaseMs', 'hooksMs', 'informersMs', 'httpMs']);
  assert.ok((stopped.hooksMs as number) >= 35, `hooksMs ${String(stopped.hooksMs)}`);
  assert.ok((stopped.controllersMs as number) < 35);
});
