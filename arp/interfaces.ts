// Which interfaces a responder may run on, and why not. The rules are pure over facts read from
// /sys/class/net, so every "no" has a reason that ends up in logs and status, as MetalLB's speaker does.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { formatMac } from './addresses.js';

export interface InterfaceFacts {
  readonly name: string;
  readonly index: number;
  readonly mac: Buffer;
  /** net_device flags (IFF_*) from /sys/class/net/<name>/flags. */
  readonly flags: number;
  readonly operstate: string;
  /**
   * /sys/class/net/<name>/carrier: the driver's carrier now, or null when unreadable (the file refuses
   * reads while the interface is down). Preferred to operstate, which the kernel's linkwatch updates up
   * to a second late after a flap (measured: ~500 ms after `ip link set up` on a veth), while the link
   * already carries frames and the kernel already answers ARP on it.
   */
  readonly carrier?: boolean | null;
  /** ARPHRD_* link type; 1 is Ethernet. */
  readonly type: number;
  /** The bond or bridge this interface is enslaved to, if any. */
  readonly master: string | null;
}

/** A usable interface: what a responder needs to open its sockets and sign its frames. */
export interface NetworkInterface {
  readonly name: string;
  readonly index: number;
  readonly mac: Buffer;
}

const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_NOARP = 0x80;
const ARPHRD_ETHER = 1;

/**
 * MetalLB's default exclusions (speaker's layer2 interface filter): container, virtual-machine and CNI
 * plumbing where a LoadBalancer address must never be answered for, plus loopback.
 */
export const DEFAULT_EXCLUDED_INTERFACES: readonly string[] = [
  'docker*', 'cbr*', 'dummy*', 'virbr*', 'lxcbr*', 'veth*', 'lo', 'cali*', 'tunl*', 'flannel*', 'kube-ipvs*', 'cni*', 'nodelocaldns*', 'lxc*',
];

export interface InterfaceSelection {
  /** Name patterns never used; a trailing `*` matches any suffix. Defaults to DEFAULT_EXCLUDED_INTERFACES. */
  readonly exclude?: readonly string[];
}

function matchesPattern(name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

export type Usability = { readonly usable: true } | { readonly usable: false; readonly reason: string };

export function interfaceUsability(facts: InterfaceFacts, selection: InterfaceSelection = {}): Usability {
  const no = (reason: string): Usability => ({ usable: false, reason: `${facts.name}: ${reason}` });
  const excludedBy = (selection.exclude ?? DEFAULT_EXCLUDED_INTERFACES).find((pattern) => matchesPattern(facts.name, pattern));
  if (excludedBy !== undefined) return no(`excluded by pattern "${excludedBy}"`);
  if (facts.type !== ARPHRD_ETHER) return no(`link type ${facts.type} is not Ethernet`);
  if ((facts.flags & IFF_UP) === 0) return no('administratively down');
  if (facts.carrier === false) return no('no carrier');
  if ((facts.carrier ?? null) === null && facts.operstate === 'down') return no('no carrier (operstate down)');
  if ((facts.flags & IFF_BROADCAST) === 0) return no('no BROADCAST flag');
  if ((facts.flags & IFF_NOARP) !== 0) return no('NOARP flag set');
  // An enslaved port's frames belong to its bond or bridge: answering there would use the wrong MAC.
  if (facts.master !== null) return no(`enslaved to ${facts.master}`);
  if (facts.mac.length !== 6 || facts.mac.every((byte) => byte === 0)) return no(`no usable MAC (${formatMac(facts.mac)})`);
  return { usable: true };
}

const SYS_CLASS_NET = '/sys/class/net';

async function readSys(name: string, file: string): Promise<string> {
  return (await readFile(join(SYS_CLASS_NET, name, file), 'utf8')).trim();
}

/** Facts for one interface, or why they could not be read (it vanished while we looked, mostly). */
export async function readInterfaceFacts(name: string): Promise<{ ok: true; facts: InterfaceFacts } | { ok: false; reason: string }> {
  try {
    const [index, address, flags, operstate, type] = await Promise.all(
      ['ifindex', 'address', 'flags', 'operstate', 'type'].map((file) => readSys(name, file)),
    );
    const master = await readlink(join(SYS_CLASS_NET, name, 'master')).then((target) => basename(target), () => null);
    const carrier = await readSys(name, 'carrier').then((text) => text === '1', () => null);
    const mac = Buffer.from((address ?? '').split(':').map((pair) => parseInt(pair, 16)));
    return { ok: true, facts: { name, index: Number(index), mac, flags: Number(flags), operstate: operstate ?? '', carrier, type: Number(type), master } };
  } catch (error) {
    return { ok: false, reason: `${name}: cannot read ${SYS_CLASS_NET}: ${(error as Error).message}` };
  }
}

export interface Discovery {
  readonly usable: readonly NetworkInterface[];
  readonly unusable: readonly { readonly name: string; readonly reason: string }[];
}

/** Every interface in this network namespace (so `ip netns exec` scopes it), sorted by name. */
export async function discoverInterfaces(selection: InterfaceSelection = {}): Promise<Discovery> {
  const names = (await readdir(SYS_CLASS_NET)).sort();
  const usable: NetworkInterface[] = [];
  const unusable: { name: string; reason: string }[] = [];
  const exclude = selection.exclude ?? DEFAULT_EXCLUDED_INTERFACES;
  for (const name of names) {
    // Excluded names are decided before touching /sys: a node with hundreds of veths pays nothing for them.
    const excludedBy = exclude.find((pattern) => matchesPattern(name, pattern));
    if (excludedBy !== undefined) { unusable.push({ name, reason: `${name}: excluded by pattern "${excludedBy}"` }); continue; }
    const read = await readInterfaceFacts(name);
    if (!read.ok) { unusable.push({ name, reason: read.reason }); continue; }
    const verdict = interfaceUsability(read.facts, selection);
    if (verdict.usable) usable.push({ name, index: read.facts.index, mac: read.facts.mac });
    else unusable.push({ name, reason: verdict.reason });
  }
  return { usable, unusable };
}
