// The heartbeat thread: sends and receives the announcers' UDP heartbeats on a thread of its own, so
// that neither depends on the main event loop being idle. A main thread busy for 600 ms (a recompute of
// thousands of Services, a large list response, a major GC) used to stop our heartbeats and delay the
// ones we received past the 500 ms deadline: peers then took our addresses while we still answered for
// them, and we took theirs (docs/decisions.md, "Ownership that settles"). Here:
//  - sending runs on this thread's own timer, whatever the main thread is doing;
//  - every received heartbeat is stamped on arrival into shared memory the main thread reads;
//  - `evidence` says up to when this thread has drained its socket. A peer is judged silent only up to
//    that moment, never up to "now": if this thread itself was stalled, the datagrams waiting in the
//    socket are not yet counted, and a peer is not declared dead for our own lateness.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createConnection, createServer, type Socket as TcpSocket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import {
  createSender, HEARTBEAT_MAX_BYTES, openHeartbeat, sealHeartbeat, sealingKey, type DropReason, type HeartbeatKeyring, type HeartbeatKind, type ReplayState,
} from './heartbeat-auth.js';

export interface HeartbeatWorkerData {
  readonly self: string;
  readonly port: number;
  readonly bindAddress: string;
  readonly intervalMs: number;
  /** Start silent: say nothing. */
  readonly silent: boolean;
  /** Start joining: say "joining", not "alive", until told otherwise (PeerHeartbeats.start). */
  readonly joining: boolean;
  /** BigInt64Array over it: [0] evidence; peer slot i at [1 + 3i] last heard alive, [2 + 3i] goodbye,
   *  [3 + 3i] last heard joining (ms, 0 = never). */
  readonly shared: SharedArrayBuffer;
}

export type ToWorker =
  | { readonly type: 'peers'; readonly version: number; readonly peers: ReadonlyArray<readonly [name: string, address: string, slot: number]> }
  /** The keys from Secret memberlist; none: we neither send nor accept heartbeats (Leases carry liveness). */
  | { readonly type: 'keys'; readonly ring: HeartbeatKeyring | undefined }
  /** Silent: say goodbye and stop saying alive (this node cannot answer for its addresses); or resume. */
  | { readonly type: 'silent'; readonly silent: boolean }
  /** Joining: say "joining" instead of "alive" (started, not yet answering for anything). */
  | { readonly type: 'joining'; readonly joining: boolean }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'change'; readonly node: string }
  | { readonly type: 'peers-applied'; readonly version: number }
  | { readonly type: 'dropped'; readonly reason: DropReason; readonly from: string }
  | { readonly type: 'stopped' };

export type { DropReason } from './heartbeat-auth.js';

/** How often this thread checks that it is not itself stalled, and what counts as a stall. */
const TICK_MS = 10;
const STALL_MS = 50;
/** After a stall (or a thaw), the backlog in the socket is drained over a few loop turns, and a peer's
 *  next heartbeat is up to one interval away: wait this long before the evidence moves past the stall. */
const SETTLE_MS = 200;
/** How often a missing TCP link to a peer is dialled again, whether or not we hear it. */
const REDIAL_MS = 1_000;
/** A peer heard without a link is dialled at once, but not more often than this (a peer whose TCP is
 *  refused while its UDP is heard must not get a connect per heartbeat). */
const MIN_REDIAL_MS = 200;

export function evidenceSlot(): number {
  return 0;
}
export function heardSlot(slot: number): number {
  return 1 + 3 * slot;
}
export function goodbyeSlot(slot: number): number {
  return 2 + 3 * slot;
}
export function joiningSlot(slot: number): number {
  return 3 + 3 * slot;
}

function run(data: HeartbeatWorkerData, port: NonNullable<typeof parentPort>): void {
  const times = new BigInt64Array(data.shared);
  const post = (message: FromWorker): void => port.postMessage(message);
  let peers = new Map<string, { address: string; slot: number }>();
  let socket: Socket | undefined;
  let sender: NodeJS.Timeout | undefined;
  let keys: HeartbeatKeyring | undefined;
  let silent = data.silent;
  let joining = data.joining;
  const numbering = createSender(data.self);
  const replay: ReplayState = new Map();

  const send = (kind: HeartbeatKind): void => {
    // Without the key we say nothing: an unauthenticated heartbeat is one anybody could forge.
    if (socket === undefined || keys === undefined) return;
    const now = Date.now();
    const datagram = sealHeartbeat(numbering.next(kind, now), sealingKey(keys, now));
    for (const { address } of peers.values()) socket.send(datagram, data.port, address, () => undefined);
  };

  const receive = (datagram: Buffer, from: RemoteInfo): void => {
    const now = BigInt(Date.now());
    // Authenticated (HMAC with the memberlist key), fresh, not a replay, and from the node's own address:
    // another host cannot speak for a node, nor repeat what it said.
    const opened = openHeartbeat(datagram, {
      keys, source: from.address, expectedAddress: (node) => peers.get(node)?.address, now: Number(now), replay,
    });
    if (!opened.ok) return post({ type: 'dropped', reason: opened.reason, from: from.address });
    const heartbeat = opened.message;
    if (heartbeat.node === data.self) return;
    const peer = peers.get(heartbeat.node);
    if (peer === undefined) return post({ type: 'dropped', reason: 'unknown-node', from: from.address });
    const heard = Atomics.load(times, heardSlot(peer.slot));
    const goodbye = Atomics.load(times, goodbyeSlot(peer.slot));
    if (heartbeat.kind === 'goodbye') {
      Atomics.store(times, goodbyeSlot(peer.slot), now);
      return post({ type: 'change', node: heartbeat.node });
    }
    // Heard, and no link to it: dial now, not at the next redial tick. A link closed by a peer's restart
    // (or found closed on our thaw) was otherwise missing for up to REDIAL_MS, and a crash in that time
    // was seen only at the UDP deadline (491 ms, where the link sees it in one round trip).
    dial(heartbeat.node);
    if (heartbeat.kind === 'joining') {
      const joined = Atomics.load(times, joiningSlot(peer.slot));
      Atomics.store(times, joiningSlot(peer.slot), now);
      if (joined === 0n || goodbye >= joined) post({ type: 'change', node: heartbeat.node });
      return;
    }
    Atomics.store(times, heardSlot(peer.slot), now);
    // The main thread re-judges liveness on its own ticker; it needs telling only when a peer is heard
    // for the first time or comes back after a goodbye.
    if (heard === 0n || goodbye >= heard) post({ type: 'change', node: heartbeat.node });
  };

  // Crash detection: every peer keeps a TCP connection to us on the same port, opened with a sealed hello.
  // A process that dies has its sockets closed by its kernel at once (FIN or RST), so a crash is seen in
  // one round trip instead of after the UDP deadline; a frozen process or a dead link closes nothing, and
  // the UDP deadline covers those. A link that closes counts as that peer's goodbye; its next heartbeat
  // revives it.
  const links = new Map<string, TcpSocket>();
  const dialled = new Map<string, TcpSocket>();
  let stopping = false;
  const server = createServer((connection) => {
    let node: string | undefined;
    let buffered = Buffer.alloc(0);
    connection.on('error', () => undefined);
    connection.on('data', (chunk: Buffer) => {
      if (node !== undefined) return;
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (length > HEARTBEAT_MAX_BYTES) return void connection.destroy();
      if (buffered.length < 2 + length) return;
      const from = connection.remoteAddress ?? '';
      const opened = openHeartbeat(buffered.subarray(2, 2 + length), {
        keys, source: from, expectedAddress: (name) => peers.get(name)?.address, now: Date.now(), replay,
      });
      if (!opened.ok || opened.message.node === data.self) {
        if (!opened.ok) post({ type: 'dropped', reason: opened.reason, from });
        return void connection.destroy();
      }
      node = opened.message.node;
      const previous = links.get(node);
      links.set(node, connection);
      previous?.destroy();
    });
    connection.on('close', () => {
      if (node === undefined || links.get(node) !== connection) return;
      links.delete(node);
      const peer = peers.get(node);
      if (stopping || peer === undefined) return;
      Atomics.store(times, goodbyeSlot(peer.slot), BigInt(Date.now()));
      post({ type: 'change', node });
    });
  });
  server.on('error', () => undefined); // without the listener, only crash detection is lost, not liveness
  server.listen(data.port, data.bindAddress);

  const lastDialled = new Map<string, number>();
  const dial = (name: string): void => {
    const peer = peers.get(name);
    if (stopping || silent || joining || keys === undefined || peer === undefined || dialled.has(name)) return;
    if (peer.address === data.bindAddress) return; // that is us (only ever in tests, where members share loopback)
    const now = Date.now();
    if (now - (lastDialled.get(name) ?? -Infinity) < MIN_REDIAL_MS) return;
    lastDialled.set(name, now);
    const connection = createConnection({ host: peer.address, port: data.port, ...(data.bindAddress === '0.0.0.0' ? {} : { localAddress: data.bindAddress }) });
    dialled.set(name, connection);
    connection.setNoDelay(true);
    connection.on('connect', () => {
      if (keys === undefined) return void connection.destroy();
      const now = Date.now();
      const hello = sealHeartbeat(numbering.next('alive', now), sealingKey(keys, now));
      const frame = Buffer.alloc(2 + hello.length);
      frame.writeUInt16BE(hello.length, 0);
      hello.copy(frame, 2);
      connection.write(frame);
    });
    connection.on('data', () => undefined);
    connection.on('error', () => undefined);
    connection.on('close', () => { if (dialled.get(name) === connection) dialled.delete(name); });
  };
  const hangUp = (): void => {
    for (const connection of dialled.values()) connection.destroy();
    dialled.clear();
  };
  const dialAll = (): void => { for (const name of peers.keys()) dial(name); };
  const redial = setInterval(dialAll, REDIAL_MS);
  /** Says where we are (joining or alive) unless silent; a member also opens its links. */
  const speak = (): void => {
    if (silent) return;
    send(joining ? 'joining' : 'alive');
    if (!joining) dialAll();
  };

  let previousTick = Date.now();
  let settledAt = 0;
  let frozen = previousTick;
  const watchdog = setInterval(() => {
    const now = Date.now();
    if (now - previousTick > STALL_MS) {
      frozen = previousTick;
      settledAt = now + SETTLE_MS;
    }
    previousTick = now;
    // setImmediate runs after this loop turn's I/O: what was waiting in the socket has been read.
    setImmediate(() => {
      const t = Date.now();
      Atomics.store(times, evidenceSlot(), BigInt(t >= settledAt ? t : frozen));
    });
  }, TICK_MS);

  port.on('message', (message: ToWorker) => {
    if (message.type === 'silent') {
      // Silence is said by UDP goodbye alone; the TCP links stay open. We fall silent mostly because a
      // link is down, and a FIN sent then waits in the kernel for the link and the neighbour: it reached
      // the peer 1 s after we had resumed, read as a fresh goodbye, and the peer took our addresses back
      // for 50 ms. A crash while silent still closes them.
      if (message.silent && !silent) for (let i = 0; i < 3; i++) send('goodbye');
      silent = message.silent;
      speak();
      return;
    }
    if (message.type === 'joining') {
      joining = message.joining;
      if (!joining) speak();
      return;
    }
    if (message.type === 'keys') {
      keys = message.ring === undefined ? undefined : revive(message.ring);
      dialAll();
      return;
    }
    if (message.type === 'peers') {
      peers = new Map(message.peers.filter(([name]) => name !== data.self).map(([name, address, slot]) => [name, { address, slot }]));
      for (const [name, connection] of dialled) if (peers.get(name) === undefined) connection.destroy();
      dialAll();
      return post({ type: 'peers-applied', version: message.version });
    }
    clearInterval(sender);
    clearInterval(watchdog);
    clearInterval(redial);
    stopping = true;
    hangUp();
    server.close();
    for (const connection of links.values()) connection.destroy();
    // A goodbye may be lost: three of them, then close.
    for (let i = 0; i < 3; i++) send('goodbye');
    setTimeout(() => {
      socket?.close();
      post({ type: 'stopped' });
    }, 20);
  });

  const udp = createSocket({ type: 'udp4', reuseAddr: true });
  udp.on('message', receive);
  udp.once('error', (error) => post({ type: 'failed', error: error.message }));
  udp.bind(data.port, data.bindAddress, () => {
    udp.removeAllListeners('error');
    udp.on('error', () => undefined); // a send to an unreachable peer is not our failure
    socket = udp;
    sender = setInterval(() => { if (!silent) send(joining ? 'joining' : 'alive'); }, data.intervalMs);
    if (!silent) send(joining ? 'joining' : 'alive');
    post({ type: 'ready' });
  });
}

/** Keys cross threads as Uint8Arrays; the codec wants Buffers. */
function revive(ring: HeartbeatKeyring): HeartbeatKeyring {
  const key = (k: HeartbeatKeyring['current']) => ({ ...k, mac: Buffer.from(k.mac) });
  return { ...ring, current: key(ring.current), ...(ring.previous === undefined ? {} : { previous: key(ring.previous) }) };
}

if (parentPort !== null && workerData !== undefined) run(workerData as HeartbeatWorkerData, parentPort);
