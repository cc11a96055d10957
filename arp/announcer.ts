// The node's announcer: the addresses this node owns, on which interfaces, kept true across interface
// changes. `announce` takes effect at once (answers and a gratuitous burst); `withdraw` silences at once.
// Interface events are handled when they happen: the kernel's link events (rtnetlink) and a socket's
// own errors trigger a rescan at once, a broken or bounced responder is reopened (groups re-joined,
// gratuitous schedule re-sent), and health() says which interfaces cannot answer, and since when.
// The periodic rescan stays as the backstop for anything no event announced.
import type { IpAddress } from './addresses.js';
import { parseIp } from './addresses.js';
import { Layer2Counters } from './counters.js';
import type { Discovery, InterfaceSelection, NetworkInterface } from './interfaces.js';
import { discoverInterfaces, interfaceUsability } from './interfaces.js';
import { silentLogger, type Logger } from '../operator/kit/log.js';
import type { InterfacePlan, AnnouncementRequest } from './interface-plan.js';
import { planInterfaces } from './interface-plan.js';
import type { LinkEvent } from './packet-socket.js';
import { LinkWatch } from './packet-socket.js';
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

/**
 * Interfaces are rediscovered this often even without a link event: the backstop for a lost netlink
 * message or a change netlink does not report (a sysfs-only flag).
 */
export const INTERFACE_RESCAN_MS = 2000;

/** IFF_UP and IFF_LOWER_UP (linux/if.h): a link event without both means the link went down. */
const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x10000;

/** An interface that should answer and cannot, since when (ms since the epoch), and why (`ENETDOWN`, `device gone`). */
export interface InterfaceProblem {
  readonly interface: string;
  readonly reason: string;
  readonly sinceMs: number;
}

export interface L2Health {
  /** True when every interface the announcements want has a working responder. */
  readonly ok: boolean;
  readonly problems: readonly InterfaceProblem[];
}

/** Per interface with a responder: what its sockets got from the kernel and whether it works. */
export interface ResponderStatus {
  readonly interface: string;
  readonly index: number;
  readonly addresses: readonly string[];
  readonly receiveBuffer: number | null;
  readonly receiveBufferForced: boolean | null;
  readonly fault: string | null;
}

/** What the announcer hands a responder it opens: where to report a fault. */
export interface ResponderHooks {
  readonly onFault: (reason: string) => void;
}

/** The part of LinkWatch the announcer uses; replaceable for tests. */
export interface LinkEvents {
  close(): void;
}

export interface L2AnnouncerOptions {
  readonly counters?: Layer2Counters;
  readonly logger?: Logger;
  readonly selection?: InterfaceSelection;
  readonly schedule?: readonly number[];
  readonly rescanMs?: number;
  /** See InterfaceResponderOptions.nativeFastPath. */
  readonly nativeFastPath?: boolean;
  /** @deprecated the old name of nativeFastPath (which now covers NDP too). */
  readonly nativeArpFastPath?: boolean;
  /** See InterfaceResponderOptions.qdiscBypass. */
  readonly qdiscBypass?: boolean;
  /** Called (synchronously, right after the change) whenever health() changes. */
  readonly onHealthChange?: (health: L2Health) => void;
  /** Called whenever the set of usable interfaces changes, on a link event as on a rescan: the node's one
   *  view of its interfaces, which its plan and its published Lease use too. */
  readonly onInterfacesChange?: (usable: readonly string[]) => void;
  /** Replaceable for tests; defaults to reading /sys/class/net. */
  readonly discover?: (selection: InterfaceSelection) => Promise<Discovery>;
  /** Replaceable for tests; defaults to an InterfaceResponder with its packet sockets. */
  readonly openResponder?: (iface: NetworkInterface, hooks: ResponderHooks) => Responder;
  /** Replaceable for tests; defaults to the addon's rtnetlink watch. Null: no link events, rescans only. */
  readonly watchLinks?: ((onEvents: (events: readonly LinkEvent[]) => void) => LinkEvents) | null;
  /** Replaceable for tests; the clock of InterfaceProblem.sinceMs. */
  readonly now?: () => number;
}

/** What the announcer needs of a responder (InterfaceResponder in production). */
export type Responder = Pick<InterfaceResponder, 'iface' | 'addresses' | 'add' | 'remove' | 'sendGratuitous' | 'close' | 'fault'> &
  Partial<Pick<InterfaceResponder, 'sockets' | 'stats' | 'batch'>>;

/** Reasons an interface that served "every interface" announcements stays a problem: it may come back. */
const TRANSIENT_REASONS = ['administratively down', 'no carrier', 'device gone'];

export type AnnounceResult = { readonly ok: true; readonly ip: string } | { readonly ok: false; readonly reason: string };

export class L2Announcer {
  readonly counters: Layer2Counters;
  private readonly logger: Logger;
  private readonly options: L2AnnouncerOptions;
  private readonly requests = new Map<string, AnnouncementRequest & { readonly address: IpAddress }>();
  private readonly responders = new Map<string, Responder>();
  /** `${ip}@${interface}` → pending gratuitous timers. */
  private readonly bursts = new Map<string, NodeJS.Timeout[]>();
  private discovery: Discovery = { usable: [], unusable: [] };
  private plan: InterfacePlan = planInterfaces([], this.discovery);
  private rescanTimer: NodeJS.Timeout | null = null;
  private rescanning: Promise<void> | null = null;
  private rescanQueued: Promise<void> | null = null;
  /** Bumped by every link event: a scan that started before one is stale when it ends (see startScan). */
  private linkGeneration = 0;
  private linkWatch: LinkEvents | null = null;
  /** Interfaces whose link went down (per a link event) since their responder opened: reopened when usable. */
  private readonly bounced = new Set<string>();
  /** Interfaces that had a responder: losing one is a problem while an announcement still wants it. */
  private readonly served = new Set<string>();
  private readonly openErrors = new Map<string, string>();
  /** The interfaces the advertisements ask of this node whether or not it owns anything now: a responder
   *  lost on one of them stays a problem after its addresses moved to a peer, until it is repaired, so
   *  the node neither reclaims them nor reports ready while it cannot answer. */
  private wanted: { readonly interfaces: ReadonlySet<string>; readonly every: boolean } = { interfaces: new Set(), every: false };
  private problems = new Map<string, InterfaceProblem>();
  private closed = false;
  private batching = 0;

  constructor(options: L2AnnouncerOptions = {}) {
    this.options = options;
    this.counters = options.counters ?? new Layer2Counters();
    this.logger = options.logger ?? silentLogger;
  }

  /** Discovers interfaces once, then rescans on every link event and every `rescanMs`. */
  async start(): Promise<void> {
    this.startLinkWatch();
    await this.rescan();
    const period = this.options.rescanMs ?? INTERFACE_RESCAN_MS;
    this.rescanTimer = setInterval(() => void this.rescan(), period);
    this.rescanTimer.unref();
  }

  /** The usable interfaces, as the last link event or rescan found them. */
  usableInterfaces(): readonly string[] {
    return this.discovery.usable.map((iface) => iface.name);
  }

  private setDiscovery(discovery: Discovery): void {
    const before = this.usableInterfaces().join(',');
    this.discovery = discovery;
    if (this.usableInterfaces().join(',') !== before) this.options.onInterfacesChange?.(this.usableInterfaces());
  }

  /** Interfaces the announcements want that cannot answer now, with why and since when. */
  health(): L2Health {
    const problems = [...this.problems.values()].sort((a, b) => a.interface.localeCompare(b.interface));
    return { ok: problems.length === 0, problems };
  }

  /** True while at least one working responder answers for `ip`: what the speaker may claim. */
  answerable(ip: string): boolean {
    return this.answeringResponders(ip).responders.length > 0;
  }

  /** Sends the gratuitous schedule again for an address this node already answers for: a handover
   *  called off (the address given back while still answered here), after which the clients may be
   *  with the peer that was taking it. */
  reassert(ip: string): void {
    const { text, responders } = this.answeringResponders(ip);
    for (const responder of responders) this.startBurst(responder, text);
  }

  /** The working responders that hold `ip`, and its canonical text (none for a malformed address). */
  private answeringResponders(ip: string): { text: string; responders: Responder[] } {
    const address = parseIp(ip);
    if (!address.ok) return { text: ip, responders: [] };
    const text = address.value.text;
    return { text, responders: [...this.responders.values()].filter((r) => r.fault === null && r.addresses.includes(text)) };
  }

  /** Per interface, both sockets' counters (native replies, hand-over drops; the kernel's reset on reading). */
  socketStats(): Record<string, ReturnType<NonNullable<Responder['stats']>>> {
    const result: Record<string, ReturnType<NonNullable<Responder['stats']>>> = {};
    for (const [name, responder] of this.responders) if (responder.stats !== undefined) result[name] = responder.stats();
    return result;
  }

  /** One line per responder: its sockets' receive buffer (what the kernel granted) and its fault, if any. */
  responderStatus(): ResponderStatus[] {
    return [...this.responders.values()].map((responder) => ({
      interface: responder.iface.name,
      index: responder.iface.index,
      addresses: responder.addresses,
      receiveBuffer: responder.sockets?.receiveBuffer ?? null,
      receiveBufferForced: responder.sockets?.receiveBufferForced ?? null,
      fault: responder.fault,
    }));
  }

  announce(ip: string, interfaces: readonly string[] = []): AnnounceResult {
    const address = parseIp(ip);
    if (!address.ok) return address;
    this.requests.set(address.value.text, { ip: address.value.text, interfaces: [...interfaces], address: address.value });
    if (this.batching === 0) this.apply();
    return { ok: true, ip: address.value.text };
  }

  withdraw(ip: string): AnnounceResult {
    const address = parseIp(ip);
    if (!address.ok) return address;
    this.requests.delete(address.value.text);
    if (this.batching === 0) this.apply();
    return { ok: true, ip: address.value.text };
  }

  /** What the advertisements that select this node ask of it: named interfaces, or `every` usable one. */
  wantInterfaces(interfaces: readonly string[], every: boolean): void {
    const next = new Set(interfaces);
    if (every === this.wanted.every && next.size === this.wanted.interfaces.size && [...next].every((name) => this.wanted.interfaces.has(name))) return;
    this.wanted = { interfaces: next, every };
    this.updateHealth();
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

  /**
   * Re-reads the interfaces and applies any change. The promise settles after a scan that started after
   * this call: a scan already under way may have read /sys before the event that asked for this one, so
   * one more is queued behind it (however many calls arrive meanwhile).
   */
  rescan(): Promise<void> {
    if (this.rescanning === null) return this.startScan();
    this.rescanQueued ??= this.rescanning.then(() => {
      this.rescanQueued = null;
      return this.startScan();
    });
    return this.rescanQueued;
  }

  private startScan(): Promise<void> {
    const discover = this.options.discover ?? discoverInterfaces;
    const generation = this.linkGeneration;
    this.rescanning = discover(this.options.selection ?? {})
      .then((discovery) => {
        // A link event arrived while /sys was read: the event already updated the discovery, and this
        // scan may have read the state before it. The scan queued behind this one reads it again.
        if (generation !== this.linkGeneration && this.rescanQueued !== null) return;
        this.setDiscovery(discovery);
        if (!this.closed) this.apply(true);
      })
      .catch((error: unknown) => this.logger.error('interface discovery failed', { error: String(error) }))
      .finally(() => { this.rescanning = null; });
    return this.rescanning;
  }

  private startLinkWatch(): void {
    if (this.options.watchLinks === null) return;
    const watch = this.options.watchLinks ?? ((onEvents: (events: readonly LinkEvent[]) => void): LinkEvents => LinkWatch.open(onEvents));
    try {
      this.linkWatch = watch((events) => this.onLinkEvents(events));
    } catch (error) {
      // Without link events faults are still caught by the sockets' errors and the periodic rescan.
      this.logger.warn('no link events; interfaces are rescanned periodically only', { error: (error as Error).message });
    }
  }

  private onLinkEvents(events: readonly LinkEvent[]): void {
    if (this.closed) return;
    this.linkGeneration++;
    for (const event of events) {
      const up = (event.flags & IFF_UP) !== 0 && (event.flags & IFF_LOWER_UP) !== 0;
      // A link that went down, even for a moment, lost the neighbours' and switches' attention: its
      // responder is reopened and re-sends the gratuitous schedule once the link is usable again.
      if (event.kind === 'del' || (event.kind === 'new' && !up)) this.bounced.add(event.name);
      // Events were lost (the netlink socket overflowed): any link may have bounced unseen, so every
      // responder is reopened and re-announces; a few spare gratuitous frames beat a silent black hole.
      if (event.kind === 'resync') for (const name of this.responders.keys()) this.bounced.add(name);
      this.logger.debug('link event', { kind: event.kind, index: event.index, name: event.name, flags: event.flags });
      // The event carries what usability needs: act on it now, in this tick, instead of after reading
      // /sys (tens of ms through the thread pool on a busy node); the rescan below confirms.
      const discovery = discoveryAfter(this.discovery, event, this.options.selection ?? {});
      if (discovery !== null) {
        this.setDiscovery(discovery);
        this.apply(true);
      }
    }
    void this.rescan();
  }

  /** A responder's socket reported an error: it cannot be trusted, say so at once and repair. */
  private onFault(responder: Responder, reason: string): void {
    if (this.closed || this.responders.get(responder.iface.name) !== responder) return;
    this.logger.warn('responder broken; reopening', { interface: responder.iface.name, reason });
    this.updateHealth();
    void this.rescan();
  }

  close(): void {
    this.closed = true;
    this.linkWatch?.close();
    this.linkWatch = null;
    if (this.rescanTimer !== null) clearInterval(this.rescanTimer);
    for (const key of [...this.bursts.keys()]) this.cancelBurst(key);
    for (const responder of this.responders.values()) responder.close();
    this.responders.clear();
  }

  /** `fromScan`: the discovery is fresh, so faulted and bounced responders can be reopened now. */
  private apply(fromScan = false): void {
    if (this.closed) return;
    const previous = this.plan;
    this.plan = planInterfaces(this.requests.values(), this.discovery);
    // Silence first: what is no longer ours stops being answered before anything new is said.
    for (const [name, responder] of this.responders) inBatch(responder, () => this.silence(name, responder, fromScan));
    for (const [name, addresses] of this.plan.byInterface) {
      const responder = this.responderFor(name);
      if (responder !== null) inBatch(responder, () => this.speak(responder, addresses));
    }
    for (const [ip, reasons] of this.plan.notAnnounced) {
      const before = previous.notAnnounced.get(ip);
      for (const [name, reason] of reasons) {
        if (before?.get(name) !== reason) this.logger.warn('address not announced on interface', { ip, interface: name, reason });
      }
    }
    // A bounce is settled once a scan has seen the interface usable (reopened above) or unusable (closed).
    if (fromScan) this.bounced.clear();
    this.updateHealth();
  }

  private silence(name: string, responder: Responder, fromScan: boolean): void {
    const wanted = this.plan.byInterface.get(name);
    const iface = this.plan.interfaces.get(name);
    const gone = wanted === undefined || iface === undefined || !sameInterface(iface, responder.iface);
    // Broken (a socket error) or bounced (the link went down meanwhile): closed here, reopened below
    // with fresh sockets, re-joined groups and a new gratuitous schedule.
    const repair = fromScan && (responder.fault !== null || this.bounced.has(name));
    if (gone || repair) {
      for (const ip of responder.addresses) this.cancelBurst(`${ip}@${name}`);
      responder.close();
      this.responders.delete(name);
      this.logger.info(gone ? 'responder stopped' : 'responder reopening', { interface: name, ...(responder.fault !== null ? { fault: responder.fault } : {}) });
      return;
    }
    for (const ip of responder.addresses) {
      if (!wanted.has(ip)) {
        this.cancelBurst(`${ip}@${name}`);
        responder.remove(ip);
        this.logger.info('address withdrawn', { ip, interface: name });
      }
    }
  }

  private speak(responder: Responder, addresses: ReadonlySet<string>): void {
    const name = responder.iface.name;
    // One snapshot per responder: `addresses` copies.
    const present = new Set(responder.addresses);
    for (const ip of addresses) {
      const request = this.requests.get(ip);
      if (request === undefined || present.has(ip)) continue;
      responder.add(request.address);
      this.logger.info('address announced', { ip, interface: name });
      this.startBurst(responder, ip);
    }
  }

  private responderFor(name: string): Responder | null {
    const existing = this.responders.get(name);
    if (existing !== undefined) return existing;
    const iface = this.plan.interfaces.get(name);
    if (iface === undefined) return null;
    try {
      // The responder does not exist yet when a fault could be reported from its constructor: go through a cell.
      let opened: Responder | null = null;
      const hooks: ResponderHooks = { onFault: (reason) => { if (opened !== null) this.onFault(opened, reason); } };
      const responder = this.options.openResponder !== undefined
        ? this.options.openResponder(iface, hooks)
        : new InterfaceResponder(iface, {
          counters: this.counters, logger: this.logger, onFault: hooks.onFault,
          nativeFastPath: this.options.nativeFastPath ?? this.options.nativeArpFastPath ?? true,
          qdiscBypass: this.options.qdiscBypass ?? false,
        });
      opened = responder;
      this.responders.set(name, responder);
      this.served.add(name);
      this.openErrors.delete(name);
      this.logger.info('responder started', { interface: name, index: iface.index, ...(responder.sockets ?? {}) });
      return responder;
    } catch (error) {
      // Most likely the interface vanished between discovery and open; the next rescan settles it.
      const message = (error as Error).message;
      if (this.openErrors.get(name) !== message) this.logger.error('cannot open packet sockets', { interface: name, error: message });
      this.openErrors.set(name, message);
      this.served.add(name);
      return null;
    }
  }

  /** Recomputes the problems; calls onHealthChange when an interface broke, was repaired, or changed reason. */
  private updateHealth(): void {
    const explicit = new Set<string>(this.wanted.interfaces);
    let everywhere = this.wanted.every;
    for (const request of this.requests.values()) {
      if (request.interfaces.length === 0) everywhere = true;
      for (const name of request.interfaces) explicit.add(name);
    }
    const unusable = new Map(this.discovery.unusable.map((entry) => [entry.name, entry.reason.replace(`${entry.name}: `, '')]));
    const usable = new Set(this.discovery.usable.map((iface) => iface.name));
    const next = new Map<string, InterfaceProblem>();
    for (const name of new Set([...this.served, ...this.plan.byInterface.keys()])) {
      if (!explicit.has(name) && !everywhere) { this.served.delete(name); continue; }
      const responder = this.responders.get(name);
      let reason: string | null;
      if (responder !== undefined) reason = responder.fault;
      // Usable and nothing to say on it: fine, a responder opens when an address needs one.
      else if (usable.has(name)) reason = this.plan.byInterface.has(name) ? this.openErrors.get(name) ?? 'no responder' : null;
      else reason = unusable.get(name) ?? 'device gone';
      if (reason === null) continue;
      // Under "every interface", an interface made unusable on purpose (enslaved, excluded) is not a fault.
      if (!explicit.has(name) && responder === undefined && !usable.has(name) && !TRANSIENT_REASONS.some((transient) => reason.startsWith(transient))) {
        this.served.delete(name);
        continue;
      }
      const before = this.problems.get(name);
      next.set(name, { interface: name, reason, sinceMs: before?.sinceMs ?? (this.options.now ?? Date.now)() });
    }
    const changed = next.size !== this.problems.size || [...next].some(([name, problem]) => this.problems.get(name)?.reason !== problem.reason);
    this.problems = next;
    if (!changed) return;
    const health = this.health();
    this.logger[health.ok ? 'info' : 'warn']('layer 2 health changed', { ok: health.ok, problems: health.problems });
    this.options.onHealthChange?.(health);
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

/**
 * The discovery as one link event changes it, or null when the event does not say enough (a resync, a
 * message without a name or an address). Facts the event lacks (the master's name) are filled from
 * what is known; the next rescan replaces all of it with what /sys says.
 */
export function discoveryAfter(discovery: Discovery, event: LinkEvent, selection: InterfaceSelection): Discovery | null {
  if (event.kind === 'resync' || event.name === '') return null;
  const usable = discovery.usable.filter((iface) => iface.name !== event.name);
  const unusable = discovery.unusable.filter((entry) => entry.name !== event.name);
  if (event.kind === 'del') return { usable, unusable };
  if (event.mac === undefined || event.type === undefined) return null;
  const master = event.master === undefined || event.master === 0
    ? null
    : discovery.usable.find((iface) => iface.index === event.master)?.name ?? `ifindex ${event.master}`;
  const verdict = interfaceUsability({
    name: event.name, index: event.index, mac: event.mac ?? Buffer.alloc(0), flags: event.flags,
    operstate: '', carrier: (event.flags & IFF_LOWER_UP) !== 0, type: event.type, master,
  }, selection);
  if (verdict.usable) usable.push({ name: event.name, index: event.index, mac: event.mac ?? Buffer.alloc(0) });
  else unusable.push({ name: event.name, reason: verdict.reason });
  return { usable: usable.sort((a, b) => a.name.localeCompare(b.name)), unusable };
}

function inBatch(responder: Responder, work: () => void): void {
  if (responder.batch !== undefined) responder.batch(work);
  else work();
}

function sameInterface(a: NetworkInterface, b: NetworkInterface): boolean {
  return a.index === b.index && a.mac.equals(b.mac);
}
