// The one door to the native addon (arp/native): an AF_PACKET socket bound to one interface and one
// ethertype. I/O failures throw (they are bugs or a vanished interface); callers decide what to do.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface NativeHandle {
  readonly __brand: 'l2lb-packet-socket';
}

interface PacketAddon {
  open(ifindex: number, ethertype: number): NativeHandle;
  send(handle: NativeHandle, frame: Buffer): number;
  addMulticast(handle: NativeHandle, ifindex: number, mac: Buffer): void;
  dropMulticast(handle: NativeHandle, ifindex: number, mac: Buffer): void;
  setFilter(handle: NativeHandle, program: Buffer): void;
  setArpAnswers(handle: NativeHandle, mac: Buffer, addresses: Buffer): void;
  start(handle: NativeHandle, onFrames: FramesHandler): void;
  stats(handle: NativeHandle): { packets: number; drops: number };
  close(handle: NativeHandle): void;
}

/**
 * `answered[i]` is true when the addon's ARP fast path already replied to `frames[i]` (only passed while
 * a fast-path table is set; see setArpAnswers).
 */
export type FramesHandler = (frames: Buffer[], answered: readonly boolean[] | undefined) => void;

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
  readonly packets: number;
  readonly drops: number;
}

export class PacketSocket {
  private closed = false;

  private constructor(private readonly native: PacketAddon, private readonly handle: NativeHandle, readonly ifindex: number) {}

  static open(ifindex: number, ethertype: number): PacketSocket {
    const native = loadAddon();
    return new PacketSocket(native, native.open(ifindex, ethertype), ifindex);
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
   * ARP requests for these IPv4 addresses (4 bytes each) are answered by the addon as they are read,
   * with a reply from `mac`, by the same rule as answerArp; an empty list turns that off.
   */
  setArpAnswers(mac: Buffer, addresses: readonly Buffer[]): void {
    this.native.setArpAnswers(this.handle, mac, Buffer.concat(addresses.map((address) => address.subarray(0, 4))));
  }

  /** Frames arrive in batches of up to 64 per readiness wake-up; our own transmissions are not among them. */
  receive(onFrames: FramesHandler): void {
    this.native.start(this.handle, onFrames);
  }

  /** Kernel counters since the previous call (reading resets them). */
  stats(): PacketSocketStats {
    return this.native.stats(this.handle);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.handle);
  }
}
