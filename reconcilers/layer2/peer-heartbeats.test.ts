import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { peerLiveness } from './liveness.js';
import { silentLogger } from '../../operator/kit/log.js';
import { createSender, heartbeatKey, sealHeartbeat, type HeartbeatSender } from './heartbeat-auth.js';
import { MEMBERLIST_PORT, PeerHeartbeats } from './peer-heartbeats.js';

const SECRET = Buffer.alloc(32, 7);
const KEY = heartbeatKey(SECRET)!;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
/** A sealed heartbeat as `node`'s process would send it. */
const senders = new Map<string, HeartbeatSender>();
const sealed = (node: string, kind: 'alive' | 'goodbye', key = KEY): Buffer => {
  let sender = senders.get(node);
  if (sender === undefined) senders.set(node, sender = createSender(node));
  return sealHeartbeat(sender.next(kind, Date.now()), key);
};

it('the heartbeat port is memberlist\'s 7946', () => assert.equal(MEMBERLIST_PORT, 7946));

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
  // The peers live at 127.0.0.3, where nothing listens: node-a's own heartbeats to them must not loop
  // back into its socket, or they would count as drops (from an unknown node: itself) in any step.
  const peers = new Map([['node-b', '127.0.0.3'], ['node-c', '127.0.0.3']]);

  before(async () => {
    port = await freeUdpPort();
    a = new PeerHeartbeats('node-a', (node) => {
      changes.push(node);
      waiters.get(node)?.();
    }, silentLogger, { port, bindAddress: '127.0.0.1', onDrop: (reason) => drops.push(reason) });
    await a.setPeers(peers);
    a.setKey(SECRET);
    await a.start();
    sender = createSocket('udp4');
    await new Promise<void>((resolve) => sender.bind(0, '127.0.0.3', resolve));
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
    await a.setPeers(new Map([...peers, [sentinel, '127.0.0.3']]));
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${sentinel} not received`)), 1_000);
      waiters.set(sentinel, () => { clearTimeout(timer); resolve(); });
    });
    for (const [socket, datagram] of datagrams) await sendFrom(socket, datagram);
    await sendFrom(sender, sealed(sentinel, 'alive'));
    await seen;
    waiters.delete(sentinel);
    changes.splice(changes.indexOf(sentinel), 1);
  };
  const alive = (node: string): [Socket, Buffer] => [sender, sealed(node, 'alive')];
  const goodbye = (node: string): [Socket, Buffer] => [sender, sealed(node, 'goodbye')];
  const drain = () => changes.splice(0, changes.length);
  const drained = () => drops.splice(0, drops.length);
  let goodbyeBefore: number | undefined;

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
    ['garbage, oversized and plain JSON datagrams change nothing and are dropped by reason', () => [[sender, Buffer.from('xx not a heartbeat')],
      [sender, json({ l2lb: 1, node: 'node-c', kind: 'alive' })], [sender, Buffer.alloc(600, 0x20)]], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.lastHeardMs('node-c'), undefined);
      assert.deepEqual(drained(), ['malformed', 'unauthenticated', 'oversized']);
    }],
    ['a heartbeat sealed with another key is dropped: the forged goodbye of issue 12 moves nothing', () => {
      goodbyeBefore = a.goodbyeMs('node-b');
      return [[sender, sealed('node-b', 'goodbye', heartbeatKey(Buffer.alloc(32, 9))!)]];
    }, () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.goodbyeMs('node-b'), goodbyeBefore);
      assert.deepEqual(drained(), ['bad-mac']);
    }],
    ['a replayed heartbeat is dropped (the first one revives node-b after its goodbye)', () => {
      const again = sealed('node-b', 'alive');
      return [[sender, again], [sender, again]];
    }, () => {
      assert.deepEqual(drain(), ['node-b']);
      assert.deepEqual(drained(), ['replay']);
    }],
    ['a datagram claiming to come from this node itself is ignored', () => [alive('node-a'), goodbye('node-a')], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.lastHeardMs('node-a'), undefined);
      assert.equal(a.goodbyeMs('node-a'), undefined);
      assert.deepEqual(drained(), ['unknown-node', 'unknown-node'], 'we are no peer of our own');
    }],
    ['a node that is no peer is dropped as unknown', () => [alive('node-x')], () => {
      assert.deepEqual(drain(), []);
      assert.equal(a.lastHeardMs('node-x'), undefined);
      assert.deepEqual(drained(), ['unknown-node']);
    }],
    ['a datagram for node-c from another address than node-c\'s is dropped: no one speaks for a peer',
      () => [[stranger, sealed('node-c', 'alive')], [stranger, sealed('node-b', 'goodbye')]], () => {
        assert.deepEqual(drain(), []);
        assert.equal(a.lastHeardMs('node-c'), undefined);
        assert.deepEqual(drained(), ['spoofed-source', 'spoofed-source']);
      }],
    ['another goodbye, then an alive, revives node-b: a change each', () => [goodbye('node-b'), alive('node-b')], (started) => {
      assert.deepEqual(drain(), ['node-b', 'node-b']);
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
    a.setKey(SECRET);
    b.setKey(SECRET);
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

/** node-a on 127.0.0.1 and node-b on 127.0.0.2, keyed, each knowing the other, started as asked. */
async function startedPair(a: { joining?: boolean }, b: { joining?: boolean }): Promise<[PeerHeartbeats, PeerHeartbeats]> {
  const port = await freeUdpPort();
  const first = new PeerHeartbeats('node-a', () => undefined, silentLogger, { port, bindAddress: '127.0.0.1' });
  const second = new PeerHeartbeats('node-b', () => undefined, silentLogger, { port, bindAddress: '127.0.0.2' });
  await first.setPeers(new Map([['node-b', '127.0.0.2']]));
  await second.setPeers(new Map([['node-a', '127.0.0.1']]));
  first.setKey(SECRET);
  second.setKey(SECRET);
  await Promise.all([first.start(a), second.start(b)]);
  return [first, second];
}

describe('PeerHeartbeats: a speaker that starts says "joining" until it joins', () => {
  it('hears its peers at once, is heard joining but never alive (nor gone) until it joins, then alive', async () => {
    const [joining, member] = await startedPair({ joining: true }, {});
    try {
      await sleep(400);
      assert.ok(joining.lastHeardMs('node-b') !== undefined, 'the joining speaker hears its peer alive');
      assert.ok(member.joiningHeardMs('node-a') !== undefined, 'the peer never heard the speaker joining');
      assert.equal(member.lastHeardMs('node-a'), undefined, 'the peer heard an alive from a speaker still joining');
      assert.equal(member.goodbyeMs('node-a'), undefined, 'the peer heard a goodbye from a speaker still joining');
      joining.setSilent(false); // a responder judged healthy while joining does not end the joining
      await sleep(300);
      assert.equal(member.lastHeardMs('node-a'), undefined, 'setSilent(false) ended the joining');
      const joined = Date.now();
      joining.join();
      await sleep(300);
      const heard = member.lastHeardMs('node-a');
      assert.ok(heard !== undefined && heard >= joined, 'the peer never heard the speaker alive after it joined');
    } finally {
      await Promise.all([joining.stop(), member.stop()]);
    }
  });

  it('two speakers starting together hear each other joining', async () => {
    const [a, b] = await startedPair({ joining: true }, { joining: true });
    try {
      await sleep(400);
      const now = Date.now();
      for (const [who, peer] of [[a, 'node-b'], [b, 'node-a']] as const) {
        const joiningHeardMs = who.joiningHeardMs(peer);
        assert.ok(joiningHeardMs !== undefined, `${peer} was not heard joining`);
        assert.deepEqual(peerLiveness({ joiningHeardMs, selfJoining: true }, now), { alive: true, via: 'joining' });
        assert.equal(peerLiveness({ joiningHeardMs, startedMs: now - 60_000 }, now).alive, false, 'a member counted a joining peer alive');
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

/** node-b in a process of its own, so that it can really be killed; resolves once it has started. */
async function spawnNodeB(port: number): Promise<ChildProcess> {
  const module = new URL('./peer-heartbeats.js', import.meta.url).href;
  const script = `const { PeerHeartbeats } = await import(${JSON.stringify(module)});
    const b = new PeerHeartbeats('node-b', () => {}, { info() {}, warn() {}, error() {}, debug() {}, child() { return this; } }, { port: ${port}, bindAddress: '127.0.0.2' });
    await b.setPeers(new Map([['node-a', '127.0.0.1']]));
    b.setKey(Buffer.alloc(32, 7));
    await b.start();
    console.log('ready');
    setInterval(() => {}, 1000);`;
  const file = join(mkdtempSync(join(tmpdir(), 'l2lb-peer-')), 'node-b.mjs');
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`node-b exited with ${code} before it was ready`)));
  });
  return child;
}

async function startedNodeA(port: number): Promise<PeerHeartbeats> {
  const a = new PeerHeartbeats('node-a', () => undefined, silentLogger, { port, bindAddress: '127.0.0.1' });
  await a.setPeers(new Map([['node-b', '127.0.0.2']]));
  a.setKey(SECRET);
  await a.start();
  return a;
}

async function heard(a: PeerHeartbeats, peer: string): Promise<number> {
  const since = Date.now();
  while (a.lastHeardMs(peer) === undefined && Date.now() - since < 2_000) await sleep(5);
  assert.ok(a.lastHeardMs(peer) !== undefined, `${peer} was never heard`);
  return Date.now();
}

/** SIGKILLs `child` and returns how long `a` took to see node-b gone (Infinity: not within 2 s). */
async function crashSeenAfter(a: PeerHeartbeats, child: ChildProcess): Promise<number> {
  assert.equal(a.goodbyeMs('node-b'), undefined);
  const killed = Date.now();
  child.kill('SIGKILL');
  while (a.goodbyeMs('node-b') === undefined && Date.now() - killed < 2_000) await sleep(5);
  const lastHeardMs = a.lastHeardMs('node-b');
  const goodbyeMs = a.goodbyeMs('node-b');
  if (goodbyeMs === undefined) return Infinity;
  assert.equal(peerLiveness({ ...(lastHeardMs === undefined ? {} : { lastHeardMs }), goodbyeMs }, Date.now()).alive, false);
  return goodbyeMs - killed;
}

describe('PeerHeartbeats: a crashed peer', () => {
  it('is seen gone when its kernel closes its TCP link, long before the UDP deadline', async () => {
    const port = await freeUdpPort();
    const a = await startedNodeA(port);
    const child = await spawnNodeB(port);
    try {
      await heard(a, 'node-b');
      await sleep(1_500); // node-b's TCP link is dialled at once and again every second
      const seenMs = await crashSeenAfter(a, child);
      assert.ok(seenMs < 300, `the crash was seen after ${seenMs} ms (the UDP deadline alone would take 500 ms)`);
    } finally {
      child.kill('SIGKILL');
      await a.stop();
    }
  });

  // The link a peer dials to us closes when we restart (or is found closed when we thaw). Redialled only
  // on the once-a-second tick, a crash of that peer in the next second was seen at the UDP deadline.
  it('is seen gone by TCP right after we restarted: it dials us as soon as it hears us', async () => {
    const port = await freeUdpPort();
    let a = await startedNodeA(port);
    const child = await spawnNodeB(port);
    try {
      await heard(a, 'node-b');
      await sleep(1_500);
      await a.stop();
      a = await startedNodeA(port);
      await heard(a, 'node-b');
      await sleep(150); // one or two heartbeats: well inside node-b's once-a-second redial tick
      const seenMs = await crashSeenAfter(a, child);
      assert.ok(seenMs < 300, `node-b's crash 150 ms after we restarted was seen after ${seenMs} ms: it had not dialled us yet`);
    } finally {
      child.kill('SIGKILL');
      await a.stop();
    }
  });
});

describe('PeerHeartbeats: a peer that falls silent', () => {
  /** node-b's established TCP links to node-a's heartbeat port, as the kernel lists them. */
  const linksFromB = (port: number): number => execFileSync('ss', ['-Htn', 'state', 'established', 'src', '127.0.0.2', 'dst', `127.0.0.1:${port}`],
    { encoding: 'utf8' }).split('\n').filter((line) => line.trim() !== '').length;

  it('says goodbye by UDP and keeps its TCP link (a FIN a dead link delays would read as a goodbye after it resumed)', async () => {
    const port = await freeUdpPort();
    const a = new PeerHeartbeats('node-a', () => undefined, silentLogger, { port, bindAddress: '127.0.0.1' });
    const b = new PeerHeartbeats('node-b', () => undefined, silentLogger, { port, bindAddress: '127.0.0.2' });
    try {
      await a.setPeers(new Map([['node-b', '127.0.0.2']]));
      await b.setPeers(new Map([['node-a', '127.0.0.1']]));
      a.setKey(SECRET);
      b.setKey(SECRET);
      await Promise.all([a.start(), b.start()]);
      const started = Date.now();
      while (linksFromB(port) === 0 && Date.now() - started < 3_000) await sleep(20);
      assert.equal(linksFromB(port), 1, 'node-b dials node-a');

      b.setSilent(true);
      await sleep(300);
      const goodbye = a.goodbyeMs('node-b');
      assert.ok(goodbye !== undefined, 'node-a was told goodbye');
      assert.equal(peerLiveness({ lastHeardMs: a.lastHeardMs('node-b')!, goodbyeMs: goodbye }, Date.now()).alive, false);
      assert.equal(linksFromB(port), 1, 'the link stays open while silent');

      b.setSilent(false);
      await sleep(300);
      assert.ok(a.lastHeardMs('node-b')! > goodbye, 'heard alive again');
      assert.equal(a.goodbyeMs('node-b'), goodbye, 'no second goodbye after resuming');
      assert.equal(linksFromB(port), 1, 'still one link');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
