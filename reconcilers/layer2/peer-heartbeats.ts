// The announcers' fast path: a small UDP datagram to every peer every 100 ms on port 7946 (the port the
// guides' NetworkPolicy opens between speakers), and a goodbye on graceful shutdown. It carries nothing
// but "node X is alive" (and "is leaving"): ownership is still computed by every node from the API's
// state, so a lost or forged datagram can at worst delay a failover, never move an address on its own.
//
// Sending and receiving run on a thread of their own (peer-heartbeats-worker.ts), so a busy main thread
// neither silences us nor makes our peers look silent. This class is the main thread's view: when each
// peer was last heard and said goodbye, and up to when the heartbeat thread has read its socket.

import { Worker } from 'node:worker_threads';
import { heartbeatKey, rotateKeyring, type HeartbeatKeyring } from './heartbeat-auth.js';
import { errorText, type Logger } from '../../operator/kit/log.js';
import {
  evidenceSlot, goodbyeSlot, heardSlot, joiningSlot, type DropReason, type FromWorker, type HeartbeatWorkerData, type ToWorker,
} from './peer-heartbeats-worker.js';

/** memberlist's port, which the guides' NetworkPolicy opens between speakers. */
export const MEMBERLIST_PORT = 7946;
export type { DropReason } from './peer-heartbeats-worker.js';

const INTERVAL_MS = 100;
/** Peer slots in shared memory; a cluster has fewer nodes than this (MetalLB's memberlist: ~1,000s). */
const MAX_PEERS = 16_384;

export interface PeerHeartbeatsOptions {
  readonly port?: number;
  readonly bindAddress?: string;
  /** Told of every dropped datagram, for counters (by reason) and rate-limited logs. */
  readonly onDrop?: (reason: DropReason, from: string) => void;
}

export class PeerHeartbeats {
  private readonly shared = new SharedArrayBuffer(8 * (1 + 3 * MAX_PEERS));
  private readonly times = new BigInt64Array(this.shared);
  private readonly slots = new Map<string, number>();
  private peers: ReadonlyMap<string, string> = new Map();
  private worker: Worker | undefined;
  private stopped: Promise<void> | undefined;
  private version = 0;
  private keys: HeartbeatKeyring | undefined;
  private silent = false;
  /** Started, not yet answering: see start. */
  private joining = false;
  private threadAlive = false;
  private listeningSince: number | undefined;
  private readonly applied = new Map<number, () => void>();

  constructor(
    private readonly self: string,
    private readonly onChange: (node: string) => void,
    private readonly logger: Logger,
    private readonly options: PeerHeartbeatsOptions = {},
  ) {}

  get port(): number {
    return this.options.port ?? 7946;
  }

  /** Starts the heartbeat thread. With `joining`, it says "joining" instead of "alive" until `join()`:
   *  a speaker that starts listens first, so that its view of who is alive has settled (a dead peer's
   *  stale Lease, a live one not yet heard) before its peers, hearing it alive, hand it its addresses;
   *  and speakers starting together hear each other joining, so none takes the others' addresses for
   *  want of hearing them (peerLiveness). */
  async start(options: { joining?: boolean } = {}): Promise<void> {
    this.joining = options.joining === true;
    const data: HeartbeatWorkerData = {
      self: this.self, port: this.port, bindAddress: this.options.bindAddress ?? '0.0.0.0', intervalMs: INTERVAL_MS, shared: this.shared,
      silent: this.silent, joining: this.joining,
    };
    const worker = new Worker(new URL('./peer-heartbeats-worker.js', import.meta.url), { workerData: data });
    this.worker = worker;
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready': return resolve();
          case 'failed': return reject(new Error(`heartbeat socket on port ${this.port}: ${message.error}`));
          case 'change': return this.onChange(message.node);
          case 'dropped': return this.options.onDrop?.(message.reason, message.from);
          case 'peers-applied': return this.settle(message.version);
          case 'stopped': return undefined;
        }
      });
      worker.once('error', (error) => {
        this.logger.error('heartbeat thread failed', { error: errorText(error) });
        reject(error);
      });
    });
    this.threadAlive = true;
    worker.on('exit', () => { this.threadAlive = false; });
    if (this.keys !== undefined) this.listeningSince = Date.now();
    this.post({ type: 'keys', ring: this.keys });
    this.post({ type: 'silent', silent: this.silent });
    this.post({ type: 'joining', joining: this.joining });
    await this.sendPeers();
  }

  /** Ends the joining start: peers hear us alive from now on (unless we are silent). */
  join(): void {
    this.joining = false;
    this.post({ type: 'joining', joining: false });
  }

  /** The shared secret (Secret memberlist, key secretkey), or undefined when it cannot be read: then no
   *  heartbeat is sent or accepted, and peers' liveness comes from their Leases alone. A new secret is
   *  adopted without a gap: the previous one is still accepted for a grace period. */
  setKey(secret: Uint8Array | undefined, now = Date.now()): void {
    const key = secret === undefined ? undefined : heartbeatKey(secret);
    this.keys = key === undefined ? undefined : rotateKeyring(this.keys, key, now);
    if (this.keys === undefined) this.listeningSince = undefined;
    else if (this.threadAlive) this.listeningSince ??= now;
    this.post({ type: 'keys', ring: this.keys });
  }

  /** Since when we can hear peers: the thread is up and holds the key. Before that, a peer's silence is
   *  no evidence of anything. */
  listeningSinceMs(): number | undefined {
    return this.listeningSince;
  }

  /** While silent, peers are told goodbye and hear no alive: they take over every address of ours. */
  setSilent(silent: boolean): void {
    this.silent = silent;
    this.post({ type: 'silent', silent });
  }

  /** False once the heartbeat thread has died: the process cannot do its job (a /healthz failure). */
  get running(): boolean {
    return this.threadAlive;
  }

  /** Whether heartbeats are authenticated and flowing (a key is known). */
  get keyed(): boolean {
    return this.keys !== undefined;
  }

  /** Peers by node name → IPv4 address (their InternalIP); resolves once the heartbeat thread uses them. */
  setPeers(peers: ReadonlyMap<string, string>): Promise<void> {
    this.peers = new Map([...peers].filter(([node]) => node !== this.self));
    for (const node of this.peers.keys()) {
      if (!this.slots.has(node) && this.slots.size < MAX_PEERS) this.slots.set(node, this.slots.size);
    }
    return this.sendPeers();
  }

  private sendPeers(): Promise<void> {
    if (this.worker === undefined) return Promise.resolve();
    const version = ++this.version;
    const applied = new Promise<void>((resolve) => this.applied.set(version, resolve));
    this.post({ type: 'peers', version, peers: this.peerList() });
    return applied;
  }

  private settle(version: number): void {
    for (const [pending, resolve] of this.applied) {
      if (pending > version) continue;
      this.applied.delete(pending);
      resolve();
    }
  }

  /** When (ms, our clock) the peer's last heartbeat arrived. */
  lastHeardMs(node: string): number | undefined {
    return this.read(node, heardSlot);
  }

  /** When the peer was last heard joining (started, not yet answering). */
  joiningHeardMs(node: string): number | undefined {
    return this.read(node, joiningSlot);
  }

  /** When the peer last said goodbye. */
  goodbyeMs(node: string): number | undefined {
    return this.read(node, goodbyeSlot);
  }

  /** Up to when every datagram that arrived has been read: silence is measured up to here, not to now. */
  heardUpToMs(): number | undefined {
    const value = Number(Atomics.load(this.times, evidenceSlot()));
    return value === 0 ? undefined : value;
  }

  /** Says goodbye (three times) and stops the thread. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.stopped ??= new Promise<void>((resolve) => {
      const done = (): void => {
        void worker.terminate().then(() => resolve());
      };
      worker.on('message', (message: FromWorker) => { if (message.type === 'stopped') done(); });
      setTimeout(done, 500).unref();
      this.settle(Number.MAX_SAFE_INTEGER);
      this.post({ type: 'stop' });
    });
    await this.stopped;
  }

  private read(node: string, at: (slot: number) => number): number | undefined {
    const slot = this.slots.get(node);
    if (slot === undefined) return undefined;
    const value = Number(Atomics.load(this.times, at(slot)));
    return value === 0 ? undefined : value;
  }

  private peerList(): Array<readonly [string, string, number]> {
    return [...this.peers].flatMap(([name, address]) => {
      const slot = this.slots.get(name);
      return slot === undefined ? [] : [[name, address, slot] as const];
    });
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }
}
