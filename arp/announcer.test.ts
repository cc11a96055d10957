// The announcer's bookkeeping with fake responders and mocked timers: which interface gets which
// address, when gratuitous rounds go out, and that withdraw and interface loss silence at once.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { IpAddress } from './addresses.js';
import type { Responder } from './announcer.js';
import { GRATUITOUS_SCHEDULE_MS, L2Announcer } from './announcer.js';
import type { Discovery, NetworkInterface } from './interfaces.js';

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
