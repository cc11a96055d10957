// The node's announcer: the addresses this node owns, on which interfaces, kept true across interface
// changes. `announce` takes effect at once (answers and a gratuitous burst); `withdraw` silences at once.
import type { IpAddress } from './addresses.js';
import { parseIp } from './addresses.js';
import { Layer2Counters } from './counters.js';
import type { Discovery, InterfaceSelection, NetworkInterface } from './interfaces.js';
import { discoverInterfaces } from './interfaces.js';
import type { Log } from './log.js';
import { silentLog } from './log.js';
import type { AnnouncementPlan, AnnouncementRequest } from './plan.js';
import { planAnnouncements } from './plan.js';
import { InterfaceResponder } from './responder.js';

/**
 * When gratuitous frames go out after an address is gained, in ms from the announcement.
 * MetalLB sends one every 1.1 s for 5 s: fine against a cache that ages out, slow against a lost frame.
 * Our failover budget is 1 s end to end, so the first frame goes out immediately; 50 ms repairs a frame
 * lost to a busy link or a bridge still learning; 250 ms catches a neighbour that raced our first frame
 * with its own stale resolution; 1 s and 2 s cover switches that flushed their tables on the topology
 * change and hosts that rate-limit neighbour updates (Linux ignores a new lladdr within locktime, 1 s by
 * default, of the last update: the 1 s and 2 s frames land after it). Five rounds, like MetalLB.
 */
export const GRATUITOUS_SCHEDULE_MS: readonly number[] = [0, 50, 250, 1000, 2000];

/** Interfaces are rediscovered this often: a new or recreated interface starts answering within it. */
export const INTERFACE_RESCAN_MS = 2000;

export interface L2AnnouncerOptions {
  readonly counters?: Layer2Counters;
  readonly log?: Log;
  readonly selection?: InterfaceSelection;
  readonly schedule?: readonly number[];
  readonly rescanMs?: number;
  /** See InterfaceResponderOptions.nativeArpFastPath. */
  readonly nativeArpFastPath?: boolean;
  /** Replaceable for tests; defaults to reading /sys/class/net. */
  readonly discover?: (selection: InterfaceSelection) => Promise<Discovery>;
  /** Replaceable for tests; defaults to an InterfaceResponder with its packet sockets. */
  readonly openResponder?: (iface: NetworkInterface) => Responder;
}

/** What the announcer needs of a responder (InterfaceResponder in production). */
export type Responder = Pick<InterfaceResponder, 'iface' | 'addresses' | 'add' | 'remove' | 'sendGratuitous' | 'close'>
  & Partial<Pick<InterfaceResponder, 'batch'>>;

export type AnnounceResult = { readonly ok: true; readonly ip: string } | { readonly ok: false; readonly reason: string };

export class L2Announcer {
  readonly counters: Layer2Counters;
  private readonly log: Log;
  private readonly options: L2AnnouncerOptions;
  private readonly requests = new Map<string, AnnouncementRequest & { readonly address: IpAddress }>();
  private readonly responders = new Map<string, Responder>();
  /** `${ip}@${interface}` → pending gratuitous timers. */
  private readonly bursts = new Map<string, NodeJS.Timeout[]>();
  private discovery: Discovery = { usable: [], unusable: [] };
  private plan: AnnouncementPlan = planAnnouncements([], this.discovery);
  private rescanTimer: NodeJS.Timeout | null = null;
  private rescanning: Promise<void> | null = null;
  private closed = false;
  private batching = 0;

  constructor(options: L2AnnouncerOptions = {}) {
    this.options = options;
    this.counters = options.counters ?? new Layer2Counters();
    this.log = options.log ?? silentLog;
  }

  /** Discovers interfaces once, then keeps rescanning every `rescanMs`. */
  async start(): Promise<void> {
    await this.rescan();
    const period = this.options.rescanMs ?? INTERFACE_RESCAN_MS;
    this.rescanTimer = setInterval(() => void this.rescan(), period);
    this.rescanTimer.unref();
  }

  announce(ip: string, interfaces: readonly string[] = []): AnnounceResult {
    const address = parseIp(ip);
    if (!address.ok) return address;
    this.requests.set(address.packet.text, { ip: address.packet.text, interfaces: [...interfaces], address: address.packet });
    if (this.batching === 0) this.apply();
    return { ok: true, ip: address.packet.text };
  }

  withdraw(ip: string): AnnounceResult {
    const address = parseIp(ip);
    if (!address.ok) return address;
    this.requests.delete(address.packet.text);
    if (this.batching === 0) this.apply();
    return { ok: true, ip: address.packet.text };
  }

  /** Applies every announce and withdraw made inside `work` as one change: one plan and one pass over
   *  the responders, where one apply per address made a plan of N addresses O(N²) and blocked the
   *  event loop for seconds at a few hundred addresses (docs/decisions.md, "Ownership that settles").
   *  When it returns, the wire says what was asked, withdrawals first. */
  batch(work: () => void): void {
    this.batching++;
    try {
      work();
    } finally {
      if (--this.batching === 0) this.apply();
    }
  }

  /** Address → interface → "announcing" or the reason it is not. */
  status(): Record<string, Record<string, string>> {
    const result: Record<string, Record<string, string>> = {};
    for (const ip of this.requests.keys()) {
      const entry: Record<string, string> = {};
      for (const [name, addresses] of this.plan.byInterface) if (addresses.has(ip)) entry[name] = 'announcing';
      for (const [name, reason] of this.plan.notAnnounced.get(ip) ?? []) entry[name] = reason;
      result[ip] = entry;
    }
    return result;
  }

  /** Re-reads the interfaces and applies any change; concurrent calls share one scan. */
  rescan(): Promise<void> {
    if (this.rescanning !== null) return this.rescanning;
    const discover = this.options.discover ?? discoverInterfaces;
    this.rescanning = discover(this.options.selection ?? {})
      .then((discovery) => {
        this.discovery = discovery;
        if (!this.closed) this.apply();
      })
      .catch((error: unknown) => this.log('error', 'interface discovery failed', { error: String(error) }))
      .finally(() => { this.rescanning = null; });
    return this.rescanning;
  }

  close(): void {
    this.closed = true;
    if (this.rescanTimer !== null) clearInterval(this.rescanTimer);
    for (const key of [...this.bursts.keys()]) this.cancelBurst(key);
    for (const responder of this.responders.values()) responder.close();
    this.responders.clear();
  }

  private apply(): void {
    if (this.closed) return;
    const previous = this.plan;
    this.plan = planAnnouncements(this.requests.values(), this.discovery);
    // Silence first: what is no longer ours stops being answered before anything new is said.
    for (const [name, responder] of this.responders) inBatch(responder, () => this.silence(name, responder));
    for (const [name, addresses] of this.plan.byInterface) {
      const responder = this.responderFor(name);
      if (responder !== null) inBatch(responder, () => this.speak(responder, addresses));
    }
    for (const [ip, reasons] of this.plan.notAnnounced) {
      const before = previous.notAnnounced.get(ip);
      for (const [name, reason] of reasons) {
        if (before?.get(name) !== reason) this.log('warn', 'address not announced on interface', { ip, interface: name, reason });
      }
    }
  }

  private silence(name: string, responder: Responder): void {
    const wanted = this.plan.byInterface.get(name);
    const iface = this.plan.interfaces.get(name);
    if (wanted === undefined || iface === undefined || !sameInterface(iface, responder.iface)) {
      for (const ip of responder.addresses) this.cancelBurst(`${ip}@${name}`);
      responder.close();
      this.responders.delete(name);
      this.log('info', 'responder stopped', { interface: name });
      return;
    }
    for (const ip of responder.addresses) {
      if (!wanted.has(ip)) {
        this.cancelBurst(`${ip}@${name}`);
        responder.remove(ip);
        this.log('info', 'address withdrawn', { ip, interface: name });
      }
    }
  }

  private speak(responder: Responder, addresses: ReadonlySet<string>): void {
    const name = responder.iface.name;
    const have = new Set(responder.addresses);
    for (const ip of addresses) {
      const request = this.requests.get(ip);
      if (request === undefined || have.has(ip)) continue;
      responder.add(request.address);
      this.log('info', 'address announced', { ip, interface: name });
      this.startBurst(responder, ip);
    }
  }

  private responderFor(name: string): Responder | null {
    const existing = this.responders.get(name);
    if (existing !== undefined) return existing;
    const iface = this.plan.interfaces.get(name);
    if (iface === undefined) return null;
    try {
      const responder = this.options.openResponder !== undefined
        ? this.options.openResponder(iface)
        : new InterfaceResponder(iface, { counters: this.counters, log: this.log, nativeArpFastPath: this.options.nativeArpFastPath ?? true });
      this.responders.set(name, responder);
      this.log('info', 'responder started', { interface: name, index: iface.index });
      return responder;
    } catch (error) {
      // Most likely the interface vanished between discovery and open; the next rescan settles it.
      this.log('error', 'cannot open packet sockets', { interface: name, error: (error as Error).message });
      return null;
    }
  }

  private startBurst(responder: Responder, ip: string): void {
    const key = `${ip}@${responder.iface.name}`;
    this.cancelBurst(key);
    const timers: NodeJS.Timeout[] = [];
    for (const delay of this.options.schedule ?? GRATUITOUS_SCHEDULE_MS) {
      if (delay <= 0) { responder.sendGratuitous(ip); continue; }
      const timer = setTimeout(() => {
        responder.sendGratuitous(ip);
        const left = this.bursts.get(key)?.filter((pending) => pending !== timer) ?? [];
        if (left.length === 0) this.bursts.delete(key);
        else this.bursts.set(key, left);
      }, delay);
      timers.push(timer);
    }
    if (timers.length > 0) this.bursts.set(key, timers);
  }

  private cancelBurst(key: string): void {
    for (const timer of this.bursts.get(key) ?? []) clearTimeout(timer);
    this.bursts.delete(key);
  }
}

function inBatch(responder: Responder, work: () => void): void {
  if (responder.batch !== undefined) responder.batch(work);
  else work();
}

function sameInterface(a: NetworkInterface, b: NetworkInterface): boolean {
  return a.index === b.index && a.mac.equals(b.mac);
}
