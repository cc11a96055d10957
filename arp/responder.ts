// One interface's responder: owns its two packet sockets (ARP, and IPv6 filtered to solicitations),
// answers for the addresses it is told about, and sends the gratuitous frames it is asked to send.
import type { IpAddress } from './addresses.js';
import { formatIPv4, multicastMac, solicitedNodeAddress } from './addresses.js';
import { ARP_REPLY, ARP_REQUEST, encodeGratuitousArp } from './arp-codec.js';
import { neighborSolicitationFilter } from './bpf.js';
import type { Layer2Counters } from './counters.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from './ethernet.js';
import type { NetworkInterface } from './interfaces.js';
import type { Log } from './log.js';
import { silentLog } from './log.js';
import { encodeUnsolicitedAdvertisement } from './ndp-codec.js';
import { PacketSocket } from './packet-socket.js';
import type { Decision, ResponderView } from './replies.js';
import { answerArp, answerNeighborSolicitation } from './replies.js';

export interface InterfaceResponderOptions {
  readonly counters: Layer2Counters;
  readonly log?: Log;
  /**
   * Let the addon answer ARP requests for announced IPv4 addresses as it reads them (default true):
   * the same rule as answerArp, minus a trip through JavaScript, which is most of the latency gap to
   * the kernel (docs/decisions-arp.md, bench/arp.ts). Off, every frame is decided in JS.
   */
  readonly nativeArpFastPath?: boolean;
}

export class InterfaceResponder {
  private readonly announced = new Map<string, IpAddress>();
  private readonly view: { mac: Buffer; announced: Set<string> };
  private readonly arpSocket: PacketSocket;
  private readonly ndpSocket: PacketSocket;
  private readonly counters: Layer2Counters;
  private readonly log: Log;
  /** Solicited-node MACs joined, with how many announced addresses share each. */
  private readonly groups = new Map<string, number>();
  private closed = false;
  private readonly nativeArpFastPath: boolean;
  /** Inside batch(): the addon's table is copied once at the end, not once per address (a plan of N
   *  addresses was O(N²), 25 s at 600 addresses: docs/decisions.md, "Ownership that settles"). */
  private batching = 0;
  private tableStale = false;

  constructor(readonly iface: NetworkInterface, options: InterfaceResponderOptions) {
    this.counters = options.counters;
    this.log = options.log ?? silentLog;
    this.nativeArpFastPath = options.nativeArpFastPath ?? true;
    this.view = { mac: iface.mac, announced: new Set() };
    this.arpSocket = PacketSocket.open(iface.index, ETHERTYPE_ARP);
    let ndpSocket: PacketSocket | null = null;
    try {
      ndpSocket = PacketSocket.open(iface.index, ETHERTYPE_IPV6);
      ndpSocket.setFilter(neighborSolicitationFilter());
    } catch (error) {
      ndpSocket?.close();
      this.arpSocket.close();
      throw error;
    }
    this.ndpSocket = ndpSocket;
    this.arpSocket.receive((frames, answered) => this.handle(this.arpSocket, frames, answered, answerArp));
    this.ndpSocket.receive((frames) => this.handle(this.ndpSocket, frames, undefined, answerNeighborSolicitation));
  }

  get addresses(): readonly string[] {
    return [...this.announced.keys()];
  }

  /** Runs many add/remove calls as one change of the addon's table; when it returns, the table is current. */
  batch(work: () => void): void {
    this.batching++;
    try {
      work();
    } finally {
      if (--this.batching === 0 && this.tableStale) this.updateArpFastPath();
    }
  }

  add(ip: IpAddress): void {
    if (this.announced.has(ip.text)) return;
    this.announced.set(ip.text, ip);
    this.view.announced.add(ip.text);
    if (ip.family === 4) this.updateArpFastPath();
    if (ip.family === 6) {
      // The address is on no interface, so the kernel has not joined its solicited-node group: without
      // this membership a NIC with multicast filtering would never hand us the solicitations.
      const group = multicastMac(solicitedNodeAddress(ip.bytes)).toString('hex');
      const members = this.groups.get(group) ?? 0;
      if (members === 0) this.ndpSocket.addMulticast(Buffer.from(group, 'hex'));
      this.groups.set(group, members + 1);
    }
  }

  remove(text: string): void {
    const ip = this.announced.get(text);
    if (ip === undefined) return;
    this.announced.delete(text);
    this.view.announced.delete(text);
    // Synchronous: once remove returns, neither path answers for the address any more.
    if (ip.family === 4) this.updateArpFastPath();
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

  private updateArpFastPath(): void {
    if (!this.nativeArpFastPath) return;
    if (this.batching > 0) {
      this.tableStale = true;
      return;
    }
    this.tableStale = false;
    const addresses = [...this.announced.values()].filter((ip) => ip.family === 4).map((ip) => ip.bytes);
    this.arpSocket.setArpAnswers(this.iface.mac, addresses);
  }

  private handle(socket: PacketSocket, frames: readonly Buffer[], answered: readonly boolean[] | undefined, decide: (frame: Buffer, view: ResponderView) => Decision): void {
    if (this.closed) return;
    for (const [index, frame] of frames.entries()) {
      if (answered?.[index] === true) {
        // The addon already replied (a well-formed request for an announced address): count it only.
        const ip = formatIPv4(frame.subarray(38, 42));
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
        this.log('error', 'parser threw on a received frame', { interface: this.iface.name, error: String(error), frame: frame.toString('hex') });
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
      this.log('warn', `send failed: ${what}`, { interface: this.iface.name, ip, error: (error as Error).message });
      return false;
    }
  }
}
