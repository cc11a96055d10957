import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerLiveness } from '../reconcilers/liveness.js';
import { silentLogger } from './log.js';
import { MEMBERLIST_PORT, parseHeartbeat, PeerHeartbeats } from './peer-heartbeats.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
/** An alive datagram of exactly `bytes` bytes: the envelope without a node name is 35 bytes. */
const sized = (bytes: number): Buffer => json({ l2lb: 1, node: 'n'.repeat(bytes - 35), kind: 'alive' });

describe('parseHeartbeat', () => {
  const accepted: ReadonlyArray<[string, Buffer, { node: string; kind: 'alive' | 'goodbye' }]> = [
    ['an alive datagram', json({ l2lb: 1, node: 'worker-1', kind: 'alive' }), { node: 'worker-1', kind: 'alive' }],
    ['a goodbye datagram', json({ l2lb: 1, node: 'worker-1', kind: 'goodbye' }), { node: 'worker-1', kind: 'goodbye' }],
    ['extra fields are ignored (a newer sender)', json({ l2lb: 1, node: 'w', kind: 'alive', zone: 'east' }), { node: 'w', kind: 'alive' }],
    ['a datagram of exactly 512 bytes', sized(512), { node: 'n'.repeat(512 - 35), kind: 'alive' }],
  ];
  for (const [name, datagram, expected] of accepted) {
    it(`accepts ${name}`, () => assert.deepEqual(parseHeartbeat(datagram), { l2lb: 1, ...expected }));
  }

  it('the sized datagrams used here are as long as they say', () => {
    assert.equal(sized(512).length, 512);
    assert.equal(sized(513).length, 513);
  });

  const rejected: ReadonlyArray<[string, Buffer]> = [
    ['malformed JSON', Buffer.from('{"l2lb":1,"node":"w"')],
    ['an empty datagram', Buffer.alloc(0)],
    ['binary garbage', Buffer.from([0xff, 0x00, 0x13, 0x37])],
    ['JSON null', json(null)],
    ['a JSON array', json([1, 'w', 'alive'])],
    ['a JSON string', json('alive')],
    ['a wrong version', json({ l2lb: 2, node: 'w', kind: 'alive' })],
    ['the version as a string', json({ l2lb: '1', node: 'w', kind: 'alive' })],
    ['no version', json({ node: 'w', kind: 'alive' })],
    ['no node', json({ l2lb: 1, kind: 'alive' })],
    ['an empty node', json({ l2lb: 1, node: '', kind: 'alive' })],
    ['a node that is not a string', json({ l2lb: 1, node: 7, kind: 'alive' })],
    ['an unknown kind', json({ l2lb: 1, node: 'w', kind: 'leaving' })],
    ['no kind', json({ l2lb: 1, node: 'w' })],
    ['an oversized datagram (513 bytes)', sized(513)],
    ['an oversized datagram (64 KiB)', sized(60_000)],
  ];
  for (const [name, datagram] of rejected) {
    it(`rejects ${name} without throwing`, () => assert.equal(parseHeartbeat(datagram), undefined));
  }

  it('the heartbeat port is memberlist\'s 7946', () => assert.equal(MEMBERLIST_PORT, 7946));
});

async function freeUdpPort(): Promise<number> {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(resolve));
  return port;
}

describe('PeerHeartbeats receiving datagrams', () => {
  let port = 0;
  let a: PeerHeartbeats;
  let sender: Socket;
  let stranger: Socket;
  const changes: string[] = [];
  const drops: string[] = [];
  const waiters = new Map<string, () => void>();
  let sentinels = 0;
  const peers = new Map([['node-b', '127.0.0.1'], ['node-c', '127.0.0.1']]);

  before(async () => {
    port = await freeUdpPort();
    a = new PeerHeartbeats('node-a', (node) => {
      changes.push(node);
      waiters.get(node)?.();
    }, silentLogger, { port, bindAddress: '127.0.0.1', onDrop: (reason) => drops.push(reason) });
    await a.setPeers(peers);
    await a.start();
    sender = createSocket('udp4');
    stranger = createSocket('udp4');
    await new Promise<void>((resolve) => stranger.bind(0, '127.0.0.2', resolve));
  });

  after(async () => {
    await a.stop();
    sender.close();
    stranger.close();
  });

  const sendFrom = (socket: Socket, datagram: Buffer): Promise<void> => new Promise((resolve, reject) =>
    socket.send(datagram, port, '127.0.0.1', (error) => (error === null ? resolve() : reject(error))));
  /** Sends the datagrams, then an alive from a new known node, and waits for that one: everything sent
   *  before it has been handled. The sentinel's own change is removed from `changes`. */
  const deliver = async (datagrams: ReadonlyArray<[Socket, Buffer]>): Promise<void> => {
    const sentinel = `sentinel-${++sentinels}`;
    await a.setPeers(new Map([...peers, [sentinel, '127.0.0.1']]));
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${sentinel} not received`)), 1_000);
      waiters.set(sentinel, () => { clearTimeout(timer); resolve(); });
    });
    for (const [socket, datagram] of datagrams) await sendFrom(socket, datagram);
    await sendFrom(sender, json({ l2lb: 1, node: sentinel, kind: 'alive' }));
    await seen;
    waiters.delete(sentinel);
    changes.splice(changes.indexOf(sentinel), 1);
  };
  const alive = (node: string): [Socket, Buffer] => [sender, json({ l2lb: 1, node, kind: 'alive' })];
  const goodbye = (node: string): [Socket, Buffer] => [sender, json({ l2lb: 1, node, kind: 'goodbye' })];
  const drain = () => changes.splice(0, changes.length);
  const drained = () => drops.splice(0, drops.length);

  // Rows run in order against one instance: each one is a step of one peer's story.
  const steps: ReadonlyArray<[string, () => Array<[Socket, Buffer]>, (started: number) => void]> = [
    ['a first alive from node-b is a change, and node-b is heard', () => [alive('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b']);
      assert.ok((a.lastHeardMs('node-b') ?? 0) >= started);
    }],
    ['a second alive from node-b is not a change, but refreshes when it was heard', () => [alive('node-b')], (started) => {
      assert.deepEqual(drain(), []);
      assert.ok((a.lastHeardMs('node-b') ?? 0) >= started);
    }],
    ['a goodbye from node-b is a change and is recorded', () => [goodbye('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b']);
      assert.ok((a.goodbyeMs('node-b') ?? 0) >= started);
    }],
    ['a malformed datagram changes nothing and is dropped as malformed', () => [[sender, Buffer.from('{not json')],
      [sender, json({ l2lb: 9, node: 'node-c', kind: 'alive' })], [sender, json({ l2lb: 1, node: '', kind: 'alive' })], [sender, Buffer.alloc(600, 0x20)]], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.lastHeardMs('node-c'), undefined);
      assert.deepEqual(drained(), ['malformed', 'malformed', 'malformed', 'malformed']);
    }],
    ['a datagram claiming to come from this node itself is ignored', () => [alive('node-a'), goodbye('node-a')], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.lastHeardMs('node-a'), undefined);
      assert.equal(a.goodbyeMs('node-a'), undefined);
    }],
    ['a node that is no peer is dropped as unknown', () => [alive('node-x')], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.lastHeardMs('node-x'), undefined);
      assert.deepEqual(drained(), ['unknown-node']);
    }],
    ['a datagram for node-c from another address than node-c\'s is dropped: no one speaks for a peer',
      () => [[stranger, json({ l2lb: 1, node: 'node-c', kind: 'alive' })], [stranger, json({ l2lb: 1, node: 'node-b', kind: 'goodbye' })]], () => {
        assert.deepEqual(drain(), []);
        assert.equal(a.lastHeardMs('node-c'), undefined);
        assert.deepEqual(drained(), ['wrong-source', 'wrong-source']);
      }],
    ['an alive after node-b\'s goodbye revives it: a change again', () => [alive('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b']);
      assert.ok((a.lastHeardMs('node-b') ?? 0) >= started);
    }],
    ['a goodbye from a node never heard is still a change', () => [goodbye('node-c')], () => {
      assert.deepEqual(drain(), ['node-c']);
      assert.notEqual(a.goodbyeMs('node-c'), undefined);
      assert.equal(a.lastHeardMs('node-c'), undefined);
    }],
  ];
  for (const [name, datagrams, check] of steps) {
    it(name, async () => {
      const started = Date.now();
      await deliver(datagrams());
      check(started);
    });
  }
});

describe('PeerHeartbeats with a busy main thread', () => {
  // Two members in one process, each on its own loopback address and its own heartbeat thread.
  let port = 0;
  let a: PeerHeartbeats;
  let b: PeerHeartbeats;

  before(async () => {
    port = await freeUdpPort();
    a = new PeerHeartbeats('node-a', () => undefined, silentLogger, { port, bindAddress: '127.0.0.1' });
    b = new PeerHeartbeats('node-b', () => undefined, silentLogger, { port, bindAddress: '127.0.0.2' });
    await a.setPeers(new Map([['node-b', '127.0.0.2']]));
    await b.setPeers(new Map([['node-a', '127.0.0.1']]));
    await Promise.all([a.start(), b.start()]);
    await sleep(300);
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('a main thread blocked for 1.5 s neither stops our heartbeats nor makes a live peer look dead', () => {
    const blockedUntil = Date.now() + 1_500;
    while (Date.now() < blockedUntil) { /* a recompute, a huge list, a major GC: the main thread is busy */ }
    const now = Date.now();
    for (const [who, peer, node] of [[a, 'node-b', 'b'], [b, 'node-a', 'a']] as const) {
      const lastHeardMs = who.lastHeardMs(peer);
      assert.ok(lastHeardMs !== undefined && now - lastHeardMs < 400, `${node}'s heartbeats kept arriving: last ${now - (lastHeardMs ?? 0)} ms ago`);
      const heardUpToMs = who.heardUpToMs();
      assert.deepEqual(peerLiveness({ lastHeardMs, ...(heardUpToMs === undefined ? {} : { heardUpToMs }) }, now), { alive: true, via: 'udp' });
    }
  });

  it('a peer that stops is silent: judged dead once its deadline passes, with the silence measured', async () => {
    await b.stop();
    await sleep(800);
    const now = Date.now();
    const lastHeardMs = a.lastHeardMs('node-b');
    const heardUpToMs = a.heardUpToMs();
    const verdict = peerLiveness({ ...(lastHeardMs === undefined ? {} : { lastHeardMs }), ...(heardUpToMs === undefined ? {} : { heardUpToMs }),
      ...(a.goodbyeMs('node-b') === undefined ? {} : { goodbyeMs: a.goodbyeMs('node-b')! }) }, now);
    assert.equal(verdict.alive, false);
  });
});
