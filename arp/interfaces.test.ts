import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InterfaceFacts } from './interfaces.js';
import { interfaceUsability } from './interfaces.js';
import { planInterfaces } from './interface-plan.js';

const UP = 0x1, BROADCAST = 0x2, MULTICAST = 0x1000, NOARP = 0x80;
const eth0: InterfaceFacts = { name: 'eth0', index: 2, mac: Buffer.from('020000770001', 'hex'), flags: UP | BROADCAST | MULTICAST, operstate: 'up', type: 1, master: null };

describe('interfaceUsability', () => {
  const cases: [string, Partial<InterfaceFacts>, string | null, (readonly string[])?][] = [
    ['an up Ethernet interface with a MAC is usable', {}, null],
    ['operstate unknown (dummy, some drivers) is usable', { operstate: 'unknown' }, null],
    ['loopback is excluded by name', { name: 'lo' }, 'lo: excluded by pattern "lo"'],
    ['docker0 is excluded by name', { name: 'docker0' }, 'docker0: excluded by pattern "docker*"'],
    ['a veth is excluded by name', { name: 'veth1234' }, 'veth1234: excluded by pattern "veth*"'],
    ['kube-ipvs0 is excluded by name', { name: 'kube-ipvs0' }, 'kube-ipvs0: excluded by pattern "kube-ipvs*"'],
    ['cali interfaces are excluded by name', { name: 'cali12ab' }, 'cali12ab: excluded by pattern "cali*"'],
    ['"local" is not "lo"', { name: 'local' }, null],
    ['an empty exclusion list lets veths through', { name: 'veth0' }, null, []],
    ['a custom exclusion list replaces the default', { name: 'eth0' }, 'eth0: excluded by pattern "eth*"', ['eth*']],
    ['an administratively down interface is not usable', { flags: BROADCAST }, 'eth0: administratively down'],
    ['an interface without carrier is not usable', { operstate: 'down' }, 'eth0: no carrier (operstate down)'],
    ['no carrier per the driver is not usable, whatever operstate says', { carrier: false, operstate: 'up' }, 'eth0: no carrier'],
    ['carrier back is usable while operstate still lags at down (linkwatch)', { carrier: true, operstate: 'down' }, null],
    ['carrier unreadable falls back to operstate', { carrier: null, operstate: 'down' }, 'eth0: no carrier (operstate down)'],
    ['a point-to-point interface (no BROADCAST) is not usable', { flags: UP }, 'eth0: no BROADCAST flag'],
    ['a NOARP interface is not usable', { flags: UP | BROADCAST | NOARP }, 'eth0: NOARP flag set'],
    ['a bond slave is not usable', { master: 'bond0' }, 'eth0: enslaved to bond0'],
    ['a bridge port is not usable', { master: 'br0' }, 'eth0: enslaved to br0'],
    ['a WireGuard link (type 65534) is not usable', { type: 65534 }, 'eth0: link type 65534 is not Ethernet'],
    ['an all-zero MAC is not usable', { mac: Buffer.alloc(6) }, 'eth0: no usable MAC (00:00:00:00:00:00)'],
  ];
  for (const [name, overrides, reason, exclude] of cases) {
    it(name, () => {
      const verdict = interfaceUsability({ ...eth0, ...overrides }, exclude !== undefined ? { exclude } : {});
      assert.deepEqual(verdict, reason === null ? { usable: true } : { usable: false, reason });
    });
  }
});

describe('planInterfaces', () => {
  const discovery = {
    usable: [{ name: 'eth0', index: 2, mac: eth0.mac }, { name: 'eth1', index: 3, mac: eth0.mac }],
    unusable: [{ name: 'eth2', reason: 'eth2: administratively down' }],
  };
  it('an address with no interface list goes on every usable interface', () => {
    const plan = planInterfaces([{ ip: '192.168.77.100', interfaces: [] }], discovery);
    assert.deepEqual([...plan.byInterface.keys()], ['eth0', 'eth1']);
    assert.equal(plan.notAnnounced.size, 0);
  });
  it('an address listed for eth1 goes on eth1 only', () => {
    const plan = planInterfaces([{ ip: '192.168.77.100', interfaces: ['eth1'] }], discovery);
    assert.deepEqual([...plan.byInterface.keys()], ['eth1']);
  });
  it('an unusable or missing interface carries its reason', () => {
    const plan = planInterfaces([{ ip: '192.168.77.100', interfaces: ['eth2', 'eth9'] }], discovery);
    assert.equal(plan.byInterface.size, 0);
    assert.deepEqual(Object.fromEntries(plan.notAnnounced.get('192.168.77.100') ?? []), { eth2: 'eth2: administratively down', eth9: 'eth9: no such interface' });
  });
  it('a node with no usable interface says so', () => {
    const plan = planInterfaces([{ ip: 'fd00:77::100', interfaces: [] }], { usable: [], unusable: [] });
    assert.deepEqual(Object.fromEntries(plan.notAnnounced.get('fd00:77::100') ?? []), { '*': 'no usable interface on this node' });
  });
  it('two addresses on one interface share it', () => {
    const plan = planInterfaces([{ ip: 'a', interfaces: ['eth0'] }, { ip: 'b', interfaces: [] }], discovery);
    assert.deepEqual([...(plan.byInterface.get('eth0') ?? [])], ['a', 'b']);
    assert.deepEqual([...(plan.byInterface.get('eth1') ?? [])], ['b']);
  });
});
