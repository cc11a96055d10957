// The one door to the native addon (arp/native): an AF_PACKET socket bound to one interface and one
// ethertype, read by a native thread that answers what its table covers; and the kernel's link events.
// I/O failures of calls throw (they are bugs or a vanished interface); failures the kernel reports on a
// socket later (ENETDOWN, ...) arrive at the onError handler given to receive().
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface NativeHandle {
  readonly __brand: 'l2lb-packet-socket';
}

interface PacketAddon {
  open(ifindex: number, ethertype: number, flags: number): NativeHandle;
  send(handle: NativeHandle, frame: Buffer): number;
  addMulticast(handle: NativeHandle, ifindex: number, mac: Buffer): void;
  dropMulticast(handle: NativeHandle, ifindex: number, mac: Buffer): void;
  setFilter(handle: NativeHandle, program: Buffer): void;
  setAnswers(handle: NativeHandle, mac: Buffer, addresses: Buffer, width: number): void;
  start(handle: NativeHandle, onFrames: FramesHandler, onError: SocketErrorHandler): void;
  stats(handle: NativeHandle): PacketSocketStats;
  close(handle: NativeHandle): void;
  decide(mac: Buffer, addresses: Buffer, width: number, frame: Buffer): Buffer | null;
  watchLinks(onEvents: (events: LinkEvent[]) => void): NativeHandle;
  closeLinkWatch(handle: NativeHandle): void;
}

/** An error the kernel set on the socket, as errno's name (`ENETDOWN`) and its text. */
export type SocketErrorHandler = (code: string, message: string) => void;

/** One rtnetlink link message; `resync` means some were lost and everything must be re-read. */
export interface LinkEvent {
  readonly kind: 'new' | 'del' | 'resync';
  readonly index: number;
  readonly name: string;
  /** IFF_* flags (IFF_UP 0x1, IFF_RUNNING 0x40, IFF_LOWER_UP 0x10000). */
  readonly flags: number;
  /** ARPHRD_* link type, the link-layer address and the master's ifindex (0: none), when the kernel said. */
  readonly type?: number;
  readonly mac?: Buffer | null;
  readonly master?: number;
}

/** `answered[i]` is true when the addon's thread already replied to `frames[i]` (see setAnswers). */
export type FramesHandler = (frames: Buffer[], answered: readonly boolean[]) => void;

let addon: PacketAddon | null = null;

/** Built by `npm install` (root "install" script) into arp/native/build/Release; found from src or dist. */
function loadAddon(): PacketAddon {
  if (addon !== null) return addon;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    process.env.L2LB_PACKET_ADDON,
    resolve(here, 'native/build/Release/l2lb_packet.node'),
    resolve(here, '../../arp/native/build/Release/l2lb_packet.node'),
  ].filter((path): path is string => path !== undefined && path !== '');
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(`the packet socket addon is not built (looked in ${candidates.join(', ')}); run npm install`);
  }
  addon = createRequire(import.meta.url)(found) as PacketAddon;
  return addon;
}

export interface PacketSocketStats {
  /** Kernel counters since the previous call (reading resets them). */
  readonly packets: number;
  readonly drops: number;
  /** Replies the native thread sent, since open. */
  readonly answered: number;
  /** Frames read but not handed to JS because JS was too far behind (answered ones were still answered). */
  readonly handoffDrops: number;
  /** SO_RCVBUF as the kernel reports it (twice what was granted), and whether SO_RCVBUFFORCE was allowed. */
  readonly receiveBuffer: number;
  readonly receiveBufferForced: boolean;
}

export interface PacketSocketOptions {
  /** PACKET_QDISC_BYPASS: frames sent skip the qdisc layer (measured in bench/arp.ts; off by default). */
  readonly qdiscBypass?: boolean;
}

export class PacketSocket {
  private closed = false;

  private constructor(private readonly native: PacketAddon, private readonly handle: NativeHandle, readonly ifindex: number) {}

  static open(ifindex: number, ethertype: number, options: PacketSocketOptions = {}): PacketSocket {
    const native = loadAddon();
    return new PacketSocket(native, native.open(ifindex, ethertype, options.qdiscBypass === true ? 1 : 0), ifindex);
  }

  send(frame: Buffer): void {
    this.native.send(this.handle, frame);
  }

  addMulticast(mac: Buffer): void {
    this.native.addMulticast(this.handle, this.ifindex, mac);
  }

  dropMulticast(mac: Buffer): void {
    this.native.dropMulticast(this.handle, this.ifindex, mac);
  }

  setFilter(program: Buffer): void {
    this.native.setFilter(this.handle, program);
  }

  /**
   * The native thread answers requests for these addresses as it reads them, with replies from `mac`, by
   * the rule of answerArp (4-byte addresses, on an ARP socket) or answerNeighborSolicitation (16-byte,
   * on an IPv6 socket). The table is swapped whole: once this returns, only the new one is used. An
   * empty list turns the fast path off.
   */
  setAnswers(mac: Buffer, width: 4 | 16, addresses: readonly Buffer[]): void {
    this.native.setAnswers(this.handle, mac, Buffer.concat(addresses.map((address) => address.subarray(0, width))), width);
  }

  /**
   * Starts the receive thread. Frames arrive in batches (our own transmissions are not among them);
   * errors the kernel sets on the socket arrive at `onError`, and the thread keeps reading.
   */
  receive(onFrames: FramesHandler, onError: SocketErrorHandler = () => undefined): void {
    this.native.start(this.handle, onFrames, onError);
  }

  stats(): PacketSocketStats {
    return this.native.stats(this.handle);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.handle);
  }
}

/**
 * The native thread's decision on one frame, without a socket: the reply it would send, or null. For
 * tests that hold it against answerArp and answerNeighborSolicitation.
 */
export function nativeDecision(mac: Buffer, width: 4 | 16, addresses: readonly Buffer[], frame: Buffer): Buffer | null {
  return loadAddon().decide(mac, Buffer.concat(addresses.map((address) => address.subarray(0, width))), width, frame);
}

/** The kernel's link events (rtnetlink RTMGRP_LINK) for this network namespace, until closed. */
export class LinkWatch {
  private closed = false;

  private constructor(private readonly native: PacketAddon, private readonly handle: NativeHandle) {}

  static open(onEvents: (events: readonly LinkEvent[]) => void): LinkWatch {
    const native = loadAddon();
    return new LinkWatch(native, native.watchLinks(onEvents));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.closeLinkWatch(this.handle);
  }
}
