// The announcers' fast path: a small UDP datagram to every peer every 100 ms on port 7946 (the port the
// guides' NetworkPolicy opens between speakers), and a goodbye on graceful shutdown. It carries nothing
// but "node X is alive" (and "is leaving"): ownership is still computed by every node from the API's
// state, so a lost or forged datagram can at worst delay a failover, never move an address on its own.

import { createSocket, type Socket } from 'node:dgram';
import { errorText, type Logger } from './log.js';

export const MEMBERLIST_PORT = 7946;
const INTERVAL_MS = 100;
const MAX_DATAGRAM = 512;

interface Heartbeat {
  readonly l2lb: 1;
  readonly node: string;
  readonly kind: 'alive' | 'goodbye';
}

export function parseHeartbeat(datagram: Buffer): Heartbeat | undefined {
  if (datagram.length > MAX_DATAGRAM) return undefined;
  try {
    const value = JSON.parse(datagram.toString('utf8')) as Partial<Heartbeat>;
    if (value.l2lb !== 1 || typeof value.node !== 'string' || value.node === '' || (value.kind !== 'alive' && value.kind !== 'goodbye')) return undefined;
    return { l2lb: 1, node: value.node, kind: value.kind };
  } catch {
    return undefined;
  }
}

export class PeerHeartbeats {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private peers: ReadonlyMap<string, string> = new Map();
  /** node → when we last heard it (ms). */
  readonly heard = new Map<string, number>();
  /** node → when it said goodbye (ms). */
  readonly goodbyes = new Map<string, number>();

  constructor(
    private readonly self: string,
    private readonly onChange: (node: string) => void,
    private readonly logger: Logger,
    private readonly port = MEMBERLIST_PORT,
  ) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('message', (datagram) => this.receive(datagram));
    socket.on('error', (error) => this.logger.warn('heartbeat socket error', { error: errorText(error) }));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    this.timer = setInterval(() => this.broadcast('alive'), INTERVAL_MS);
    this.broadcast('alive');
  }

  /** Peers by node name → IPv4 address (their InternalIP). */
  setPeers(peers: ReadonlyMap<string, string>): void {
    this.peers = new Map([...peers].filter(([node]) => node !== this.self));
  }

  private broadcast(kind: Heartbeat['kind']): void {
    const socket = this.socket;
    if (socket === undefined) return;
    const datagram = Buffer.from(JSON.stringify({ l2lb: 1, node: this.self, kind } satisfies Heartbeat));
    for (const address of this.peers.values()) {
      socket.send(datagram, this.port, address, (error) => {
        if (error !== null) this.logger.debug('heartbeat not sent', { to: address, error: errorText(error) });
      });
    }
  }

  private receive(datagram: Buffer): void {
    const heartbeat = parseHeartbeat(datagram);
    if (heartbeat === undefined || heartbeat.node === this.self) return;
    const now = Date.now();
    if (heartbeat.kind === 'goodbye') {
      this.goodbyes.set(heartbeat.node, now);
      this.onChange(heartbeat.node);
      return;
    }
    const before = this.heard.get(heartbeat.node);
    this.heard.set(heartbeat.node, now);
    const revived = (this.goodbyes.get(heartbeat.node) ?? -1) >= (before ?? -1);
    if (before === undefined || revived) this.onChange(heartbeat.node);
  }

  /** Says goodbye three times (a datagram may be lost) and closes. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (let i = 0; i < 3; i++) this.broadcast('goodbye');
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.socket?.close();
    this.socket = undefined;
  }
}
