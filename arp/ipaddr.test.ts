import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIP, formatRange, parseAddressRange, parseIP, rangeSize, rangesOverlap, type IpRange } from './ipaddr.js';

const range = (text: string): IpRange => {
  const parsed = parseAddressRange(text);
  assert.ok(parsed.ok, `${text} parses`);
  return parsed.value;
};

describe('parseAddressRange', () => {
  const accepted: ReadonlyArray<[string, string, bigint]> = [
    ['192.168.1.240/28', '192.168.1.240-192.168.1.255', 16n],
    ['192.168.1.200-192.168.1.204', '192.168.1.200-192.168.1.204', 5n],
    ['192.168.1.200 - 192.168.1.204', '192.168.1.200-192.168.1.204', 5n],
    ['10.0.0.7', '10.0.0.7', 1n],
    ['10.0.0.7/32', '10.0.0.7', 1n],
    ['10.0.0.5/30', '10.0.0.4-10.0.0.7', 4n], // host bits are dropped, as Go's net.ParseCIDR does
    ['0.0.0.0/0', '0.0.0.0-255.255.255.255', 1n << 32n],
    ['fd00:1::/64', 'fd00:1::-fd00:1::ffff:ffff:ffff:ffff', 1n << 64n],
    ['fd00:1::10-fd00:1::20', 'fd00:1::10-fd00:1::20', 17n],
    ['FD00:1::1', 'fd00:1::1', 1n],
    ['::ffff:192.168.1.1/128', '::ffff:c0a8:101', 1n],
    ['::/0', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 1n << 128n],
  ];
  for (const [text, formatted, size] of accepted) {
    it(`reads ${text} as ${formatted} (${size} addresses)`, () => {
      const parsed = range(text);
      assert.equal(formatRange(parsed), formatted);
      assert.equal(rangeSize(parsed), size);
    });
  }

  const refused: ReadonlyArray<[string, string]> = [
    ['10.0.0.300/30', 'not an IP prefix'],
    ['10.0.0.0/33', 'prefix length 33 exceeds 32'],
    ['fd00::/129', 'prefix length 129 exceeds 128'],
    ['10.0.0.0/', 'not an IP prefix'],
    ['10.0.0.0/24/8', 'not an IP prefix'],
    ['192.168.1.20-192.168.1.10', 'range start is after its end'],
    ['192.168.1.10-fd00::1', 'range mixes IPv4 and IPv6'],
    ['192.168.1.10-', 'not an IP range'],
    ['1.2.3.4-5.6.7.8-9.9.9.9', 'not an IP range'],
    ['192.168.01.1', 'not an IP address, prefix or range'],
    ['192.168.1', 'not an IP address, prefix or range'],
    ['fd00::1::2', 'not an IP address, prefix or range'],
    ['fe80::1%eth0', 'not an IP address, prefix or range'],
    ['12345::', 'not an IP address, prefix or range'],
    ['', 'not an IP address, prefix or range'],
  ];
  for (const [text, reason] of refused) {
    it(`refuses ${JSON.stringify(text)}: ${reason}`, () => {
      assert.deepEqual(parseAddressRange(text), { ok: false, reason });
    });
  }
});

describe('rangesOverlap', () => {
  const cases: ReadonlyArray<[string, string, string, boolean]> = [
    ['IPv4 CIDR and a range inside it', '192.168.1.240/28', '192.168.1.250-192.168.1.251', true],
    ['IPv4 ranges sharing one end address', '10.0.0.1-10.0.0.5', '10.0.0.5-10.0.0.9', true],
    ['adjacent IPv4 CIDRs', '192.168.1.224/28', '192.168.1.240/28', false],
    ['IPv4 supernet and subnet', '192.168.0.0/16', '192.168.1.240/28', true],
    ['a single address and the CIDR holding it', '192.168.1.255', '192.168.1.240/28', true],
    ['IPv6 /64 and a range inside it', 'fd00:1::/64', 'fd00:1::ffff-fd00:1::1:0', true],
    ['adjacent IPv6 ranges', 'fd00:1::-fd00:1::ff', 'fd00:1::100-fd00:1::1ff', false],
    ['different IPv6 /64s', 'fd00:1::/64', 'fd00:2::/64', false],
    ['IPv4 and IPv4-mapped IPv6 with equal numbers', '192.168.1.0/24', '::c0a8:100/120', false],
  ];
  for (const [name, a, b, expected] of cases) {
    it(`${name}: ${expected ? 'overlap' : 'no overlap'}`, () => {
      assert.equal(rangesOverlap(range(a), range(b)), expected);
      assert.equal(rangesOverlap(range(b), range(a)), expected, 'symmetric');
    });
  }
});

describe('formatIP', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal zero runs is compressed
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['fd00:1:0:0:0:0:0:0', 'fd00:1::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['192.168.1.240', '192.168.1.240'],
  ];
  for (const [input, output] of cases) {
    it(`writes ${input} as ${output}`, () => {
      const ip = parseIP(input);
      assert.ok(ip !== undefined);
      assert.equal(formatIP(ip.family, ip.value), output);
    });
  }
});
