import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient, WriteFencedError } from './kube-client.js';
import { ConfigMaps, Secrets } from './resources.js';

/** A plain-HTTP stand-in for the API server that records what it was asked. */
let server: Server;
let client: KubeClient;
const seen: Array<{ method: string; path: string; query: URLSearchParams }> = [];

before(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    seen.push({ method: request.method ?? '', path: url.pathname, query: url.searchParams });
    request.resume();
    if (url.searchParams.get('watch') === 'true') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'memberlist', resourceVersion: '7' } } })}\n`);
      return;
    }
    const page = url.searchParams.get('continue');
    const body = request.method === 'GET'
      ? { items: [{ metadata: { name: page === null ? 'a' : 'b' } }], metadata: { resourceVersion: '5', ...(page === null ? { continue: 'next' } : {}) } }
      : { metadata: { name: 'x' } };
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = await KubeClient.create({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tls: {}, authHeaders: async () => ({ Authorization: 'Bearer t' }) }, 'test');
});
after(() => {
  client.close();
  server.close();
});

describe('KubeClient', () => {
  it('a watch carries the label and field selectors, as the list does', async () => {
    seen.length = 0;
    const events: string[] = [];
    await client.watch(Secrets, {
      resourceVersion: '5', timeoutSeconds: 60, namespace: 'metallb-system', labelSelector: 'a=b', fieldSelector: 'metadata.name=memberlist',
      signal: new AbortController().signal,
    }, (event) => events.push(event.type));
    assert.deepEqual(events, ['ADDED']);
    const query = seen[0]?.query;
    assert.equal(query?.get('labelSelector'), 'a=b');
    assert.equal(query?.get('fieldSelector'), 'metadata.name=memberlist');
    assert.equal(query?.get('resourceVersion'), '5');
  });

  it('list() follows continue tokens, 500 items a page, with both selectors on every page', async () => {
    seen.length = 0;
    const list = await client.list(ConfigMaps, 'ns', { labelSelector: 'a=b', fieldSelector: 'metadata.name!=c' });
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['a', 'b']);
    assert.equal(list.resourceVersion, '5');
    assert.deepEqual(seen.map((s) => [s.query.get('limit'), s.query.get('continue'), s.query.get('labelSelector'), s.query.get('fieldSelector')]),
      [['500', null, 'a=b', 'metadata.name!=c'], ['500', 'next', 'a=b', 'metadata.name!=c']]);
  });

  it('a write-guarded view refuses writes before sending them, and still reads', async () => {
    seen.length = 0;
    let fence: string | undefined = 'not the leader';
    const fenced = client.withWriteGuard(() => fence);
    await assert.rejects(fenced.update(ConfigMaps, { metadata: { namespace: 'ns', name: 'x' } }), WriteFencedError);
    await assert.rejects(fenced.patch(ConfigMaps, 'ns', 'x', {}), /not sent: not the leader/);
    await assert.rejects(fenced.delete(ConfigMaps, 'ns', 'x'), WriteFencedError);
    await fenced.get(ConfigMaps, 'ns', 'x');
    assert.deepEqual(seen.map((s) => s.method), ['GET'], 'no write reached the server');
    fence = undefined;
    await fenced.update(ConfigMaps, { metadata: { namespace: 'ns', name: 'x' } });
    await client.update(ConfigMaps, { metadata: { namespace: 'ns', name: 'x' } });
    assert.deepEqual(seen.map((s) => s.method), ['GET', 'PUT', 'PUT']);
  });

  it('a guarded write asks its guard again once its socket can carry it, and is not sent if fenced by then', async () => {
    seen.length = 0;
    // A process frozen between the first check and its socket: the fence has passed when it thaws.
    let asked = 0;
    let leading = false;
    const fenced = client.withWriteGuard(() => (++asked === 1 || leading ? undefined : 'renewDeadline passed'));
    await assert.rejects(fenced.create(ConfigMaps, { metadata: { namespace: 'ns', name: 'x' } }), /not sent: renewDeadline passed/);
    assert.equal(asked, 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 0, 'nothing reached the server');
    // Leading: both checks pass, and the write goes.
    leading = true;
    await fenced.create(ConfigMaps, { metadata: { namespace: 'ns', name: 'x' } });
    assert.deepEqual(seen.map((s) => s.method), ['POST']);
  });

  it('a view with its own connections is answered while every shared connection is busy', async () => {
    // A second stand-in whose /slow requests hang until released: 32 of them take every shared socket.
    const held: Array<() => void> = [];
    const slowServer = createServer((request, response) => {
      request.resume();
      const answer = (): void => void response.writeHead(200, { 'content-type': 'application/json' }).end('{"metadata":{"name":"x"}}');
      if (request.url?.includes('/slow') === true) held.push(answer);
      else answer();
    });
    await new Promise<void>((resolve) => slowServer.listen(0, '127.0.0.1', resolve));
    const shared = await KubeClient.create({ server: `http://127.0.0.1:${(slowServer.address() as AddressInfo).port}`, tls: {}, authHeaders: async () => ({}) }, 'test');
    const own = shared.withOwnConnections();
    try {
      const slow = Array.from({ length: 32 }, (_, i) => shared.get(ConfigMaps, 'slow', `c${i}`));
      while (held.length < 32) await new Promise((resolve) => setTimeout(resolve, 5));
      let queuedDone = false;
      const queued = shared.get(ConfigMaps, 'ns', 'queued').then(() => { queuedDone = true; });
      await own.get(ConfigMaps, 'ns', 'lease');
      assert.equal(queuedDone, false, 'the shared client\'s request still waits for a socket');
      for (const answer of held) answer();
      await Promise.all([...slow, queued]);
    } finally {
      shared.close();
      slowServer.close();
    }
  });
});
