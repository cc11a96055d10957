// The one IP address module of l2lb, the allocator's and the wire's: text to bigint and back, the bytes
// on the wire, and the three address forms an IPAddressPool accepts (CIDR, `a-b` range, single address)
// as closed ranges. Pure: no I/O. Ranges are never enumerated, so an IPv6 /64 pool costs the same as a /30.

import type { Parsed } from './result.js';

export type Family = 4 | 6;

export interface IpRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

export type { Parsed } from './result.js';

const V4_BITS = 32n;
const V6_BITS = 128n;

export function bitsOf(family: Family): bigint {
  return family === 4 ? V4_BITS : V6_BITS;
}

export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused as Go's netip does: "010" is ambiguous (octal in some parsers).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

export function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zones have no meaning in a pool
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const left = groupsOf(halves[0] ?? '');
  const right = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (left === undefined || right === undefined) return undefined;
  const present = left.length + right.length;
  if (halves.length === 1 ? present !== 8 : present > 7) return undefined;
  const groups = [...left, ...Array<string>(8 - present).fill('0'), ...right];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function parseIP(text: string): { family: Family; value: bigint } | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export function formatIP(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The address as the bytes that go on the wire: 4 for IPv4, 16 for IPv6, network order. */
export function ipBytes(family: Family, value: bigint): Buffer {
  const length = family === 4 ? 4 : 16;
  const bytes = Buffer.alloc(length);
  for (let i = length - 1, rest = value; i >= 0; i--, rest >>= 8n) bytes[i] = Number(rest & 0xffn);
  return bytes;
}

/** The value of an address's wire bytes (network order). */
export function ipFromBytes(bytes: Buffer): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Parses one entry of `spec.addresses`: `10.0.0.0/24`, `10.0.0.1-10.0.0.9`, or a bare address. */
export function parseAddressRange(entry: string): Parsed<IpRange> {
  const text = entry.trim();
  if (text.includes('/')) {
    const [addressText = '', prefixText = '', ...rest] = text.split('/');
    const address = parseIP(addressText);
    if (rest.length > 0 || address === undefined || !/^[0-9]{1,3}$/.test(prefixText)) {
      return { ok: false, reason: 'not an IP prefix' };
    }
    const prefix = BigInt(prefixText);
    const bits = bitsOf(address.family);
    if (prefix > bits) return { ok: false, reason: `prefix length ${prefixText} exceeds ${bits}` };
    const hostMask = (1n << (bits - prefix)) - 1n;
    // MetalLB (through Go's net.ParseCIDR) accepts host bits and uses the network: we do the same.
    const first = address.value & ~hostMask;
    return { ok: true, value: { family: address.family, first, last: first | hostMask } };
  }
  if (text.includes('-')) {
    const [startText = '', endText = '', ...rest] = text.split('-').map((s) => s.trim());
    const start = parseIP(startText);
    const end = parseIP(endText);
    if (rest.length > 0 || start === undefined || end === undefined) return { ok: false, reason: 'not an IP range' };
    if (start.family !== end.family) return { ok: false, reason: 'range mixes IPv4 and IPv6' };
    if (start.value > end.value) return { ok: false, reason: 'range start is after its end' };
    return { ok: true, value: { family: start.family, first: start.value, last: end.value } };
  }
  const single = parseIP(text);
  if (single === undefined) return { ok: false, reason: 'not an IP address, prefix or range' };
  return { ok: true, value: { family: single.family, first: single.value, last: single.value } };
}

export function rangeSize(range: IpRange): bigint {
  return range.last - range.first + 1n;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function rangeContains(range: IpRange, family: Family, value: bigint): boolean {
  return range.family === family && range.first <= value && value <= range.last;
}

export function formatRange(range: IpRange): string {
  return range.first === range.last
    ? formatIP(range.family, range.first)
    : `${formatIP(range.family, range.first)}-${formatIP(range.family, range.last)}`;
}
