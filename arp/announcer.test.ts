// The announcer's bookkeeping with fake responders and mocked timers: which interface gets which
// address, when gratuitous rounds go out, and that withdraw and interface loss silence at once.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { IpAddress } from './addresses.js';
import type { L2Health, Responder, ResponderHooks } from './announcer.js';
import { discoveryAfter, GRATUITOUS_SCHEDULE_MS, L2Announcer } from './announcer.js';
import type { Discovery, NetworkInterface } from './interfaces.js';
import type { LinkEvent } from './packet-socket.js';

class FakeResponder implements Responder {
  readonly events: string[] = [];
  private readonly set = new Set<string>();
  closed = false;
  constructor(readonly iface: NetworkInterface, private readonly clock: () => number) {}
  get addresses(): readonly string[] { return [...this.set]; }
  add(ip: IpAddress): void { this.set.add(ip.text); this.events.push(`add ${ip.text}`); }
  remove(text: string): void { this.set.delete(text); this.events.push(`remove ${text}`); }
  sendGratuitous(text: string): void { this.events.push(`gratuitous ${text} at ${this.clock()}`); }
  fault: string | null = null;
  close(): void { this.closed = true; this.events.push('close'); }
  batches = 0;
  batch(work: () => void): void { this.batches++; work(); }
}

const eth = (name: string, index: number): NetworkInterface => ({ name, index, mac: Buffer.from([2, 0, 0, 0, 0, index]) });

describe('L2Announcer', () => {
  let now = 0;
  let discovery: Discovery;
  let opened: FakeResponder[];
  let announcer: L2Announcer;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    now = 0;
    opened = [];
    discovery = { usable: [eth('eth0', 2), eth('eth1', 3)], unusable: [{ name: 'eth2', reason: 'eth2: administratively down' }] };
    announcer = new L2Announcer({
      watchLinks: null,
      discover: () => Promise.resolve(discovery),
      openResponder: (iface) => {
        const responder = new FakeResponder(iface, () => now);
        opened.push(responder);
        return responder;
      },
    });
    await announcer.start();
  });
  afterEach(() => {
    announcer.close();
    mock.timers.reset();
  });
  const advance = (ms: number): void => {
    now += ms;
    mock.timers.tick(ms);
  };
  const gratuitous = (responder: FakeResponder | undefined): string[] => (responder?.events ?? []).filter((event) => event.startsWith('gratuitous'));

  it('a batch of 5,000 announces and then 5,000 withdraws reads each responder\'s addresses once per batch, not once per address', () => {
    const ips = Array.from({ length: 5_000 }, (_, i) => `10.220.${i >> 8}.${i & 255}`);
    announcer.announce('192.168.77.1', ['eth0']);
    const responder = opened[0]!;
    let reads = 0;
    const read = Object.getOwnPropertyDescriptor(FakeResponder.prototype, 'addresses')!.get!.bind(responder);
    Object.defineProperty(responder, 'addresses', { get: () => { reads++; return read(); } });
    announcer.batch(() => { for (const ip of ips) announcer.announce(ip, ['eth0']); });
    assert.equal(responder.addresses.length, 5_001);
    assert.ok(reads <= 3, `addresses read ${reads} times for one batch`);
    reads = 0;
    announcer.batch(() => { for (const ip of ips) announcer.withdraw(ip); });
    assert.deepEqual(responder.addresses, ['192.168.77.1']);
    assert.ok(reads <= 3, `addresses read ${reads} times for one batch of withdrawals`);
  });

  it('inside a batch nothing reaches the wire until the batch ends; withdrawals come before announcements', () => {
    announcer.announce('192.168.77.1', ['eth0']);
    const responder = opened[0]!;
    responder.events.splice(0);
    announcer.batch(() => {
      announcer.announce('192.168.77.2', ['eth0']);
      announcer.withdraw('192.168.77.1');
      assert.deepEqual(responder.events, [], 'nothing applied inside the batch');
    });
    assert.deepEqual(responder.events.filter((e) => !e.startsWith('gratuitous')), ['remove 192.168.77.1', 'add 192.168.77.2']);
    assert.ok(responder.batches >= 1, 'the responder applied them as its own batch');
  });

  it('announcing sends a gratuitous round at once and then on the schedule', () => {
    assert.deepEqual(announcer.announce('192.168.77.100', ['eth0']), { ok: true, ip: '192.168.77.100' });
    for (let t = 0; t < 3000; t += 10) advance(10);
    assert.deepEqual(gratuitous(opened[0]), GRATUITOUS_SCHEDULE_MS.map((at) => `gratuitous 192.168.77.100 at ${at}`));
  });

  it('withdraw cancels the rounds still pending; the last address gone closes the responder', () => {
    announcer.announce('fd00:77::100', ['eth0']);
    advance(60);
    announcer.withdraw('fd00:77::100');
    advance(3000);
    assert.deepEqual(opened[0]?.events, ['add fd00:77::100', 'gratuitous fd00:77::100 at 0', 'gratuitous fd00:77::100 at 60', 'close']);
  });

  it('withdrawing one of two addresses removes it and keeps answering for the other', () => {
    announcer.announce('192.168.77.100', ['eth0']);
    announcer.announce('192.168.77.101', ['eth0']);
    advance(10);
    announcer.withdraw('192.168.77.100');
    advance(3000);
    const events = opened[0]?.events ?? [];
    assert.ok(events.includes('remove 192.168.77.100'));
    assert.equal(events.filter((event) => event.startsWith('gratuitous 192.168.77.100')).length, 1);
    assert.equal(events.filter((event) => event.startsWith('gratuitous 192.168.77.101')).length, GRATUITOUS_SCHEDULE_MS.length);
    assert.equal(opened[0]?.closed, false);
  });

  it('announcing again on the same interface does not start another burst', () => {
    announcer.announce('192.168.77.100', ['eth0']);
    announcer.announce('192.168.77.100', ['eth0']);
    assert.equal(gratuitous(opened[0]).length, 1);
  });

  it('an empty interface list means every usable interface; an unusable one is reported with its reason', () => {
    announcer.announce('192.168.77.100');
    announcer.announce('192.168.77.101', ['eth2', 'eth1']);
    assert.deepEqual(announcer.status(), {
      '192.168.77.100': { eth0: 'announcing', eth1: 'announcing' },
      '192.168.77.101': { eth1: 'announcing', eth2: 'eth2: administratively down' },
    });
  });

  it('moving an address between interfaces silences the old one before announcing on the new one', () => {
    announcer.announce('192.168.77.100', ['eth0']);
    announcer.announce('192.168.77.100', ['eth1']);
    assert.deepEqual(opened.map((responder) => [responder.iface.name, responder.closed]), [['eth0', true], ['eth1', false]]);
    assert.equal(gratuitous(opened[1]).length, 1);
  });

  it('an interface that disappears is closed; when it comes back (new index) a new responder announces again', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    discovery = { usable: [eth('eth1', 3)], unusable: [] };
    await announcer.rescan();
    assert.equal(opened[0]?.closed, true);
    assert.deepEqual(announcer.status(), { '192.168.77.100': { eth0: 'eth0: no such interface' } });
    discovery = { usable: [eth('eth0', 9)], unusable: [] };
    await announcer.rescan();
    assert.equal(opened[1]?.iface.index, 9);
    assert.deepEqual(gratuitous(opened[1]), ['gratuitous 192.168.77.100 at 0']);
  });

  it('refuses an address that is not one, with the reason', () => {
    const result = announcer.announce('192.168.77.300', ['eth0']);
    assert.equal(result.ok, false);
    assert.equal(opened.length, 0);
  });
});

describe('L2Announcer under interface faults: repair, health and answerability', () => {
  const IFF_UP = 0x1, IFF_LOWER_UP = 0x10000;
  let now = 0;
  let discovery: Discovery;
  let opened: { responder: FakeResponder; hooks: ResponderHooks }[];
  let healthChanges: { at: number; health: L2Health }[];
  let linkEvents: ((events: readonly LinkEvent[]) => void) | null;
  let scans: number;
  let failOpen: string | null;
  let announcer: L2Announcer;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    now = 1000;
    opened = [];
    healthChanges = [];
    scans = 0;
    failOpen = null;
    discovery = { usable: [eth('eth0', 2), eth('eth1', 3)], unusable: [] };
    announcer = new L2Announcer({
      now: () => now,
      discover: () => { scans++; return Promise.resolve(discovery); },
      watchLinks: (onEvents) => { linkEvents = onEvents; return { close: () => { linkEvents = null; } }; },
      onHealthChange: (health) => healthChanges.push({ at: now, health }),
      openResponder: (iface, hooks) => {
        if (failOpen !== null) throw new Error(failOpen);
        const responder = new FakeResponder(iface, () => now);
        opened.push({ responder, hooks });
        return responder;
      },
    });
    await announcer.start();
  });
  afterEach(() => {
    announcer.close();
    mock.timers.reset();
  });
  const latest = (name: string): FakeResponder | undefined => opened.filter((entry) => entry.responder.iface.name === name).at(-1)?.responder;
  const fault = (name: string, reason: string): void => {
    const entry = opened.filter((candidate) => candidate.responder.iface.name === name).at(-1);
    if (entry === undefined) throw new Error(`no responder on ${name}`);
    entry.responder.fault = reason;
    entry.hooks.onFault(reason);
  };
  const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve(); };

  it('a socket fault is a problem at once (same tick), the address is not answerable, and a rescan reopens and re-announces', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    assert.equal(announcer.answerable('192.168.77.100'), true);
    now = 1500;
    fault('eth0', 'ENETDOWN');
    assert.deepEqual(announcer.health(), { ok: false, problems: [{ interface: 'eth0', reason: 'ENETDOWN', sinceMs: 1500 }] });
    assert.deepEqual(healthChanges.map((change) => [change.at, change.health.ok]), [[1500, false]]);
    assert.equal(announcer.answerable('192.168.77.100'), false, 'the speaker can stop claiming it');
    await settle(); // the rescan the fault asked for
    assert.equal(opened.length, 2, 'reopened');
    assert.equal(opened[0]?.responder.closed, true);
    assert.deepEqual(latest('eth0')?.events.slice(0, 2), ['add 192.168.77.100', 'gratuitous 192.168.77.100 at 1500']);
    assert.deepEqual(announcer.health(), { ok: true, problems: [] });
    assert.equal(announcer.answerable('192.168.77.100'), true);
    assert.deepEqual(healthChanges.map((change) => change.health.ok), [false, true]);
  });

  it('a link that goes down and up between two scans is reopened and re-sends the whole gratuitous schedule', async () => {
    announcer.announce('fd00:77::100', ['eth0']);
    for (let t = 0; t < 3000; t += 10) { now += 10; mock.timers.tick(10); }
    linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: 0x1002 }]);
    linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: 0x1003 | IFF_LOWER_UP }]);
    await settle();
    assert.equal(opened.length, 2);
    const start = now;
    for (let t = 0; t < 3000; t += 10) { now += 10; mock.timers.tick(10); }
    assert.deepEqual(latest('eth0')?.events.filter((event) => event.startsWith('gratuitous')), GRATUITOUS_SCHEDULE_MS.map((at) => `gratuitous fd00:77::100 at ${start + at}`));
  });

  it('lost link events (resync) reopen every responder, which re-announces', async () => {
    announcer.announce('192.168.77.100');
    linkEvents?.([{ kind: 'resync', index: 0, name: '', flags: 0 }]);
    await settle();
    assert.deepEqual(opened.map((entry) => [entry.responder.iface.name, entry.responder.closed]), [['eth0', true], ['eth1', true], ['eth0', false], ['eth1', false]]);
    assert.equal(latest('eth1')?.events.filter((event) => event.startsWith('gratuitous')).length, 1);
  });

  it('a link event that carries the facts is acted on in the same tick, before any rescan', () => {
    announcer.announce('192.168.77.100', ['eth0']);
    const mac = Buffer.from([2, 0, 0, 0, 0, 2]);
    linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: 0x1002, type: 1, mac, master: 0 }]);
    assert.equal(opened[0]?.responder.closed, true, 'down: closed at once');
    assert.deepEqual(announcer.health().problems.map((problem) => problem.reason), ['administratively down']);
    linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: 0x1003 | IFF_LOWER_UP, type: 1, mac, master: 0 }]);
    assert.equal(opened.length, 2, 'up: reopened at once');
    assert.equal(latest('eth0')?.events.filter((event) => event.startsWith('gratuitous')).length, 1);
    assert.equal(announcer.health().ok, true);
  });

  it('the usable interfaces follow a link event in the same tick, for the plan and the Lease to read', () => {
    const seen: string[] = [];
    const watched = new L2Announcer({
      discover: () => Promise.resolve(discovery),
      watchLinks: (onEvents) => { linkEvents = onEvents; return { close: () => { linkEvents = null; } }; },
      openResponder: (iface) => new FakeResponder(iface, () => now),
      onInterfacesChange: (names) => seen.push(names.join(',')),
    });
    return watched.start().then(() => {
      assert.deepEqual(watched.usableInterfaces(), ['eth0', 'eth1']);
      const mac = Buffer.from([2, 0, 0, 0, 0, 2]);
      linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: 0x1002, type: 1, mac, master: 0 }]);
      assert.deepEqual(watched.usableInterfaces(), ['eth1'], 'down: at once, no rescan needed');
      linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: 0x1003 | IFF_LOWER_UP, type: 1, mac, master: 0 }]);
      assert.deepEqual(watched.usableInterfaces(), ['eth0', 'eth1'], 'up: at once');
      assert.deepEqual(seen, ['eth0,eth1', 'eth1', 'eth0,eth1']);
      watched.close();
    });
  });

  it('link events for an interface that stayed up reopen nothing', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    linkEvents?.([{ kind: 'new', index: 2, name: 'eth0', flags: IFF_UP | IFF_LOWER_UP }]);
    await settle();
    assert.equal(opened.length, 1);
  });

  it('an interface down is a problem with the discovery reason, kept since the first report; up again repairs', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    discovery = { usable: [eth('eth1', 3)], unusable: [{ name: 'eth0', reason: 'eth0: administratively down' }] };
    now = 2000;
    fault('eth0', 'ENETDOWN');
    now = 2010;
    await announcer.rescan();
    assert.deepEqual(announcer.health().problems, [{ interface: 'eth0', reason: 'administratively down', sinceMs: 2000 }]);
    discovery = { usable: [eth('eth0', 2), eth('eth1', 3)], unusable: [] };
    await announcer.rescan();
    assert.equal(announcer.health().ok, true);
    assert.deepEqual(healthChanges.map((change) => change.health.problems.map((problem) => problem.reason).join()), ['ENETDOWN', 'administratively down', '']);
  });

  it('a device gone is a problem for an address that names it, and answered elsewhere is still answerable', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    announcer.announce('192.168.77.101');
    discovery = { usable: [eth('eth1', 3)], unusable: [] };
    await announcer.rescan();
    assert.deepEqual(announcer.health().problems.map((problem) => [problem.interface, problem.reason]), [['eth0', 'device gone']]);
    assert.equal(announcer.answerable('192.168.77.100'), false);
    assert.equal(announcer.answerable('192.168.77.101'), true, 'still on eth1');
  });

  it('under "every interface", an interface enslaved on purpose is not a problem; one that lost its carrier is', async () => {
    announcer.announce('192.168.77.100');
    discovery = { usable: [eth('eth1', 3)], unusable: [{ name: 'eth0', reason: 'eth0: enslaved to bond0' }] };
    await announcer.rescan();
    assert.equal(announcer.health().ok, true);
    discovery = { usable: [eth('eth0', 2)], unusable: [{ name: 'eth1', reason: 'eth1: no carrier' }] };
    await announcer.rescan();
    assert.deepEqual(announcer.health().problems.map((problem) => [problem.interface, problem.reason]), [['eth1', 'no carrier']]);
  });

  it('withdrawing the last address that wanted a broken interface clears its problem', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    fault('eth0', 'ENXIO');
    announcer.withdraw('192.168.77.100');
    assert.deepEqual(announcer.health(), { ok: true, problems: [] });
  });

  it('a broken interface the advertisements still want stays a problem after its addresses moved away, until the link is back', async () => {
    announcer.wantInterfaces(['eth0'], false);
    announcer.announce('192.168.77.100', ['eth0']);
    discovery = { usable: [eth('eth1', 3)], unusable: [{ name: 'eth0', reason: 'eth0: administratively down' }] };
    fault('eth0', 'ENETDOWN');
    announcer.withdraw('192.168.77.100'); // handed over to a peer
    await announcer.rescan();
    assert.deepEqual(announcer.health().problems.map((problem) => [problem.interface, problem.reason]), [['eth0', 'administratively down']]);
    discovery = { usable: [eth('eth0', 2), eth('eth1', 3)], unusable: [] };
    await announcer.rescan();
    assert.deepEqual(announcer.health(), { ok: true, problems: [] }, 'usable again, nothing to say on it: no responder needed');
  });

  it('an interface the advertisements stop wanting is no longer a problem', async () => {
    announcer.wantInterfaces([], true);
    announcer.announce('192.168.77.100');
    discovery = { usable: [eth('eth1', 3)], unusable: [{ name: 'eth0', reason: 'eth0: no carrier' }] };
    announcer.withdraw('192.168.77.100');
    await announcer.rescan();
    assert.deepEqual(announcer.health().problems.map((problem) => problem.interface), ['eth0']);
    announcer.wantInterfaces(['eth1'], false);
    assert.deepEqual(announcer.health(), { ok: true, problems: [] });
  });

  it('sockets that cannot be opened are a problem with the error, retried on each scan', async () => {
    failOpen = 'socket(AF_PACKET): Operation not permitted';
    announcer.announce('192.168.77.100', ['eth0']);
    assert.deepEqual(announcer.health().problems.map((problem) => problem.reason), ['socket(AF_PACKET): Operation not permitted']);
    assert.equal(announcer.answerable('192.168.77.100'), false);
    failOpen = null;
    await announcer.rescan();
    assert.equal(announcer.health().ok, true);
    assert.equal(announcer.answerable('192.168.77.100'), true);
  });

  it('events during a scan queue exactly one more scan, however many arrive', async () => {
    const before = scans;
    const first = announcer.rescan();
    const second = announcer.rescan();
    const third = announcer.rescan();
    assert.equal(second, third);
    await Promise.all([first, second, third]);
    assert.equal(scans - before, 2);
  });

  it('a fault from a responder already replaced is ignored', async () => {
    announcer.announce('192.168.77.100', ['eth0']);
    fault('eth0', 'ENETDOWN');
    await settle();
    const stale = opened[0];
    stale?.hooks.onFault('ENETDOWN');
    assert.equal(announcer.health().ok, true);
    assert.equal(opened.length, 2);
  });

  it('without link events (the watch cannot open) the announcer still starts and rescans', async () => {
    const quiet = new L2Announcer({
      discover: () => Promise.resolve(discovery),
      watchLinks: () => { throw new Error('socket(AF_NETLINK): Address family not supported'); },
      openResponder: (iface) => new FakeResponder(iface, () => now),
    });
    await quiet.start();
    assert.deepEqual(quiet.announce('192.168.77.100', ['eth0']), { ok: true, ip: '192.168.77.100' });
    assert.equal(quiet.answerable('192.168.77.100'), true);
    quiet.close();
  });
});

describe('discoveryAfter: one link event applied to the last discovery', () => {
  const mac = Buffer.from([2, 0, 0, 0, 0, 2]);
  const before: Discovery = { usable: [eth('eth0', 2), eth('br0', 7)], unusable: [{ name: 'eth1', reason: 'eth1: administratively down' }] };
  const UP = 0x1, BROADCAST = 0x2, LOWER_UP = 0x10000;
  const cases: [string, LinkEvent, { usable: string[]; unusable: string[] } | null][] = [
    ['down: unusable with the reason', { kind: 'new', index: 2, name: 'eth0', flags: BROADCAST, type: 1, mac, master: 0 }, { usable: ['br0'], unusable: ['eth1: administratively down', 'eth0: administratively down'] }],
    ['up without carrier: unusable', { kind: 'new', index: 3, name: 'eth1', flags: UP | BROADCAST, type: 1, mac, master: 0 }, { usable: ['br0', 'eth0'], unusable: ['eth1: no carrier'] }],
    ['up with carrier: usable', { kind: 'new', index: 3, name: 'eth1', flags: UP | BROADCAST | LOWER_UP, type: 1, mac, master: 0 }, { usable: ['br0', 'eth0', 'eth1'], unusable: [] }],
    ['enslaved: the master named from what is known', { kind: 'new', index: 2, name: 'eth0', flags: UP | BROADCAST | LOWER_UP, type: 1, mac, master: 7 }, { usable: ['br0'], unusable: ['eth1: administratively down', 'eth0: enslaved to br0'] }],
    ['deleted: gone from both lists', { kind: 'del', index: 3, name: 'eth1', flags: 0 }, { usable: ['eth0', 'br0'], unusable: [] }],
    ['a resync says nothing about any one link', { kind: 'resync', index: 0, name: '', flags: 0 }, null],
    ['a message without the address is left to the rescan', { kind: 'new', index: 2, name: 'eth0', flags: UP }, null],
  ];
  for (const [name, event, expected] of cases) {
    it(name, () => {
      const after = discoveryAfter(before, event, {});
      assert.deepEqual(after === null ? null : { usable: after.usable.map((iface) => iface.name), unusable: after.unusable.map((entry) => entry.reason) }, expected);
    });
  }
});
