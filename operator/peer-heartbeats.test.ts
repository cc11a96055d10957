import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
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
  const changes: string[] = [];
  const waiters = new Map<string, () => void>();
  let sentinels = 0;

  before(async () => {
    port = await freeUdpPort();
    a = new PeerHeartbeats('node-a', (node) => {
      changes.push(node);
      waiters.get(node)?.();
    }, silentLogger, port);
    await a.start();
    sender = createSocket('udp4');
  });

  after(async () => {
    await a.stop();
    sender.close();
  });

  const send = (datagram: Buffer): Promise<void> => new Promise((resolve, reject) =>
    sender.send(datagram, port, '127.0.0.1', (error) => (error === null ? resolve() : reject(error))));
  /** Sends the datagrams, then an alive from a new node, and waits for that one: everything sent
   *  before it has been handled. The sentinel's own change is removed from `changes`. */
  const deliver = async (...datagrams: Buffer[]): Promise<void> => {
    const sentinel = `sentinel-${++sentinels}`;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${sentinel} not received`)), 1_000);
      waiters.set(sentinel, () => { clearTimeout(timer); resolve(); });
    });
    for (const datagram of datagrams) await send(datagram);
    await send(json({ l2lb: 1, node: sentinel, kind: 'alive' }));
    await seen;
    waiters.delete(sentinel);
    changes.splice(changes.indexOf(sentinel), 1);
    a.heard.delete(sentinel);
  };
  const alive = (node: string) => json({ l2lb: 1, node, kind: 'alive' });
  const goodbye = (node: string) => json({ l2lb: 1, node, kind: 'goodbye' });
  const drain = () => changes.splice(0, changes.length);

  // Rows run in order against one instance: each one is a step of one peer's story.
  const steps: ReadonlyArray<[string, () => Buffer[], (started: number) => void]> = [
    ['a first alive from node-b is a change, and node-b is heard', () => [alive('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b']);
      assert.ok((a.heard.get('node-b') ?? 0) >= started);
    }],
    ['a second alive from node-b is not a change, but refreshes when it was heard', () => [alive('node-b')], (started) => {
      assert.deepEqual(drain(), []);
      assert.ok((a.heard.get('node-b') ?? 0) >= started);
    }],
    ['a goodbye from node-b is a change and is recorded', () => [goodbye('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b']);
      assert.ok((a.goodbyes.get('node-b') ?? 0) >= started);
    }],
    ['a malformed datagram changes nothing', () => [Buffer.from('{not json'), json({ l2lb: 9, node: 'node-x', kind: 'alive' }),
      json({ l2lb: 1, node: '', kind: 'alive' }), Buffer.alloc(600, 0x20)], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.heard.has('node-x'), false);
      assert.deepEqual([...a.heard.keys()], ['node-b']);
    }],
    ['a datagram claiming to come from this node itself is ignored', () => [alive('node-a'), goodbye('node-a')], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.heard.has('node-a'), false);
      assert.equal(a.goodbyes.has('node-a'), false);
    }],
    ['an alive after node-b\'s goodbye revives it: a change again', () => [alive('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b']);
      assert.ok((a.heard.get('node-b') ?? 0) >= started);
    }],
    ['a goodbye from a node never heard is still a change', () => [goodbye('node-c')], () => {
      assert.deepEqual(drain(), ['node-c']);
      assert.equal(a.goodbyes.has('node-c'), true);
      assert.equal(a.heard.has('node-c'), false);
    }],
  ];
  for (const [name, datagrams, check] of steps) {
    it(name, async () => {
      const started = Date.now();
      await deliver(...datagrams());
      check(started);
    });
  }
});
