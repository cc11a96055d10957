// One interface's responder: owns its two packet sockets (ARP, and IPv6 filtered to solicitations),
// answers for the addresses it is told about, and sends the gratuitous frames it is asked to send.
// Each socket has a native thread that answers what the table covers without waiting for JavaScript;
// JS sees every frame afterwards, counts it, and decides the ones the thread left. A fault the kernel
// reports on a socket (ENETDOWN, ...) or a failed multicast join marks the responder broken and is
// reported through onFault at once: the announcer reopens it (arp/announcer.ts).
import type { IpAddress } from './addresses.js';
import { formatIPv4, formatIPv6, multicastMac, solicitedNodeAddress } from './addresses.js';
import { ARP_REPLY, ARP_REQUEST, encodeGratuitousArp } from './arp-codec.js';
import { neighborSolicitationFilter } from './bpf.js';
import type { Layer2Counters } from './counters.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.js';
import type { NetworkInterface } from './interfaces.js';
import { silentLogger, type Logger } from '../operator/kit/log.js';
import { encodeUnsolicitedAdvertisement } from './ndp-codec.js';
import type { PacketSocketStats } from './packet-socket.js';
import { PacketSocket } from './packet-socket.js';
import type { Decision, ResponderView } from './replies.js';
import { answerArp, answerNeighborSolicitation } from './replies.js';

export interface InterfaceResponderOptions {
  readonly counters: Layer2Counters;
  readonly logger?: Logger;
  /**
   * Let the addon's threads answer ARP requests and Neighbor Solicitations for announced addresses as
   * they read them (default true): the rules of answerArp and answerNeighborSolicitation, without
   * waiting for the event loop (docs/decisions.md, bench/arp.ts). Off, every frame is decided in JS.
   */
  readonly nativeFastPath?: boolean;
  /** PACKET_QDISC_BYPASS on both sockets (default false; see bench/arp.ts for what it measured). */
  readonly qdiscBypass?: boolean;
  /** Called once, at the first fault (a socket error such as `ENETDOWN`, or a failed multicast join). */
  readonly onFault?: (reason: string) => void;
}

/** What the responder's sockets got from the kernel, for status and logs. */
export interface ResponderSocketInfo {
  /** SO_RCVBUF as read back (the kernel reports twice the granted size). */
  readonly receiveBuffer: number;
  /** False when SO_RCVBUFFORCE was refused (no CAP_NET_ADMIN) and SO_RCVBUF, capped by rmem_max, was used. */
  readonly receiveBufferForced: boolean;
}

export class InterfaceResponder {
  private readonly announced = new Map<string, IpAddress>();
  private readonly view: { mac: Buffer; announced: Set<string> };
  private readonly arpSocket: PacketSocket;
  private readonly ndpSocket: PacketSocket;
  private readonly counters: Layer2Counters;
  private readonly logger: Logger;
  /** Solicited-node MACs joined, with how many announced addresses share each. */
  private readonly groups = new Map<string, number>();
  private closed = false;
  private readonly nativeFastPath: boolean;
  private readonly onFault: (reason: string) => void;
  private faultReason: string | null = null;
  readonly sockets: ResponderSocketInfo;
  /** Inside batch(): the addon's tables are copied once at the end, not once per address (a plan of N
   *  addresses was O(N²), 25 s at 600 addresses: docs/decisions.md, "Ownership that settles"). */
  private batching = 0;
  private readonly staleTables = new Set<4 | 6>();

  constructor(readonly iface: NetworkInterface, options: InterfaceResponderOptions) {
    this.counters = options.counters;
    this.logger = options.logger ?? silentLogger;
    this.nativeFastPath = options.nativeFastPath ?? true;
    this.onFault = options.onFault ?? (() => undefined);
    this.view = { mac: iface.mac, announced: new Set() };
    const socketOptions = { qdiscBypass: options.qdiscBypass ?? false };
    this.arpSocket = PacketSocket.open(iface.index, ETHERTYPE_ARP, socketOptions);
    let ndpSocket: PacketSocket | null = null;
    try {
      ndpSocket = PacketSocket.open(iface.index, ETHERTYPE_IPV6, socketOptions);
      ndpSocket.setFilter(neighborSolicitationFilter());
    } catch (error) {
      ndpSocket?.close();
      this.arpSocket.close();
      throw error;
    }
    this.ndpSocket = ndpSocket;
    const arpStats = this.arpSocket.stats();
    this.sockets = { receiveBuffer: arpStats.receiveBuffer, receiveBufferForced: arpStats.receiveBufferForced };
    this.arpSocket.receive((frames, answered) => this.handle(this.arpSocket, frames, answered, answerArp), (code) => this.fail(code));
    this.ndpSocket.receive((frames, answered) => this.handle(this.ndpSocket, frames, answered, answerNeighborSolicitation), (code) => this.fail(code));
  }

  /** Runs many add/remove calls as one change of the addon's tables; when it returns, they are current. */
  batch(work: () => void): void {
    this.batching++;
    try {
      work();
    } finally {
      if (--this.batching === 0) for (const family of [...this.staleTables]) this.updateFastPath(family);
    }
  }

  get addresses(): readonly string[] {
    return [...this.announced.keys()];
  }

  /** Why this responder cannot be trusted to answer any more, or null while it can. */
  get fault(): string | null {
    return this.faultReason;
  }

  /** Both sockets' kernel and hand-over counters (the kernel's reset on reading). */
  stats(): { readonly arp: PacketSocketStats; readonly ndp: PacketSocketStats } {
    return { arp: this.arpSocket.stats(), ndp: this.ndpSocket.stats() };
  }

  add(ip: IpAddress): void {
    if (this.announced.has(ip.text)) return;
    this.announced.set(ip.text, ip);
    this.view.announced.add(ip.text);
    this.updateFastPath(ip.family);
    if (ip.family === 6) {
      // The address is on no interface, so the kernel has not joined its solicited-node group: without
      // this membership a NIC with multicast filtering would never hand us the solicitations.
      const group = multicastMac(solicitedNodeAddress(ip.bytes)).toString('hex');
      const members = this.groups.get(group) ?? 0;
      this.groups.set(group, members + 1);
      if (members === 0) {
        try {
          this.ndpSocket.addMulticast(Buffer.from(group, 'hex'));
        } catch (error) {
          // The device vanished under us (ENODEV): not answerable here; the announcer reopens or drops us.
          this.fail(`solicited-node group not joined: ${(error as Error).message}`);
        }
      }
    }
  }

  remove(text: string): void {
    const ip = this.announced.get(text);
    if (ip === undefined) return;
    this.announced.delete(text);
    this.view.announced.delete(text);
    // Synchronous: once remove returns, neither path answers for the address any more.
    this.updateFastPath(ip.family);
    if (ip.family === 6) {
      const group = multicastMac(solicitedNodeAddress(ip.bytes)).toString('hex');
      const members = (this.groups.get(group) ?? 1) - 1;
      if (members === 0) {
        this.groups.delete(group);
        this.trySend(() => this.ndpSocket.dropMulticast(Buffer.from(group, 'hex')), 'leave solicited-node group');
      } else {
        this.groups.set(group, members);
      }
    }
  }

  /** One round of gratuitous frames for an announced address: ARP request and reply forms, or one unsolicited NA. */
  sendGratuitous(text: string): void {
    const ip = this.announced.get(text);
    if (ip === undefined || this.closed) return;
    const frames = ip.family === 4
      ? [encodeGratuitousArp(this.iface.mac, ip.bytes, ARP_REQUEST), encodeGratuitousArp(this.iface.mac, ip.bytes, ARP_REPLY)]
      : [encodeUnsolicitedAdvertisement(this.iface.mac, ip.bytes)];
    const socket = ip.family === 4 ? this.arpSocket : this.ndpSocket;
    for (const frame of frames) {
      if (this.trySend(() => socket.send(frame), 'gratuitous', ip.text)) this.counters.gratuitousSent(ip.text);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.arpSocket.close();
    this.ndpSocket.close();
  }

  private fail(reason: string): void {
    if (this.closed || this.faultReason !== null) return;
    this.faultReason = reason;
    this.logger.warn('responder fault', { interface: this.iface.name, reason });
    this.onFault(reason);
  }

  private updateFastPath(family: 4 | 6): void {
    if (!this.nativeFastPath) return;
    if (this.batching > 0) {
      this.staleTables.add(family);
      return;
    }
    this.staleTables.delete(family);
    const addresses = [...this.announced.values()].filter((ip) => ip.family === family).map((ip) => ip.bytes);
    if (family === 4) this.arpSocket.setAnswers(this.iface.mac, 4, addresses);
    else this.ndpSocket.setAnswers(this.iface.mac, 16, addresses);
  }

  private handle(socket: PacketSocket, frames: readonly Buffer[], answered: readonly boolean[], decide: (frame: Buffer, view: ResponderView) => Decision): void {
    if (this.closed) return;
    for (const [index, frame] of frames.entries()) {
      if (answered[index] === true) {
        // The thread already replied (a well-formed request for an announced address): count it only.
        // Offsets: ARP target IP at 38; an NS's target at 14 + 40 (IPv6) + 8.
        const ip = socket === this.arpSocket ? formatIPv4(frame.subarray(38, 42)) : formatIPv6(frame.subarray(62, 78));
        this.counters.requestReceived(ip);
        this.counters.responseSent(ip);
        continue;
      }
      let decision: Decision;
      try {
        decision = decide(frame, this.view);
      } catch (error) {
        // A parser bug must not take the data plane down; count it with the malformed frames and say so.
        decision = { kind: 'malformed', reason: `parser threw: ${(error as Error).message}` };
        this.logger.error('parser threw on a received frame', { interface: this.iface.name, error: String(error), frame: frame.toString('hex') });
      }
      if (decision.kind === 'malformed') {
        this.counters.malformedDropped(decision.reason);
        continue;
      }
      if (decision.kind === 'ignore') continue;
      this.counters.requestReceived(decision.ip);
      if (this.trySend(() => socket.send(decision.frame), 'reply', decision.ip)) this.counters.responseSent(decision.ip);
    }
  }

  private trySend(send: () => void, what: string, ip?: string): boolean {
    try {
      send();
      return true;
    } catch (error) {
      // ENOBUFS under a flood or ENXIO while the interface goes away: the rescan will sort the latter out.
      this.logger.warn(`send failed: ${what}`, { interface: this.iface.name, ip, error: (error as Error).message });
      return false;
    }
  }
}
