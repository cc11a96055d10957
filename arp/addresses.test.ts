import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIPv6, formatMac, multicastMac, parseIp, parseMac, solicitedNodeAddress } from './addresses.js';

describe('parseIp', () => {
  const accepted: [string, 4 | 6, string][] = [
    ['192.168.77.100', 4, '192.168.77.100'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['fd00:77::100', 6, 'fd00:77::100'],
    ['FD00:0077:0000:0000:0000:0000:0000:0100', 6, 'fd00:77::100'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['fe80::', 6, 'fe80::'],
    ['1:0:0:1:0:0:0:1', 6, '1:0:0:1::1'],
    ['1:0:0:2:0:0:3:4', 6, '1::2:0:0:3:4'],
    ['1:2:3:4:5:6:7:0', 6, '1:2:3:4:5:6:7:0'],
    ['::ffff:192.168.1.1', 6, '::ffff:c0a8:101'],
  ];
  for (const [text, family, canonical] of accepted) {
    it(`reads ${text} as IPv${family} ${canonical}`, () => {
      const result = parseIp(text);
      assert.ok(result.ok, !result.ok ? result.reason : '');
      assert.equal(result.value.family, family);
      assert.equal(result.value.text, canonical);
    });
  }
  const refused = ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'a.b.c.d', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'fe80::1%eth0', '12345::', '::g', '1:2:3:4:5:6:7::8'];
  for (const text of refused) {
    it(`refuses "${text}" with a reason`, () => {
      const result = parseIp(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, /is not an IPv[46] address/);
    });
  }
});

describe('MAC addresses', () => {
  it('round-trips through text', () => {
    const mac = parseMac('02:00:00:77:00:0A');
    assert.ok(mac.ok);
    assert.equal(formatMac(mac.value), '02:00:00:77:00:0a');
  });
  it('refuses a short MAC with a reason', () => {
    const mac = parseMac('02:00:00:77:00');
    assert.equal(mac.ok, false);
  });
});

describe('solicited-node groups', () => {
  it('takes the low 24 bits of the address (RFC 4291 §2.7.1) and maps to 33:33 (RFC 2464 §7)', () => {
    const address = parseIp('fd00:77::12:3456');
    assert.ok(address.ok);
    const group = solicitedNodeAddress(address.value.bytes);
    assert.equal(formatIPv6(group), 'ff02::1:ff12:3456');
    assert.equal(formatMac(multicastMac(group)), '33:33:ff:12:34:56');
  });
});
