// MAC and IP addresses as the bytes that go on the wire, and back to the text that goes in logs and
// metric labels. IPv6 text is always RFC 5952 canonical, so one address has one label.
import type { Parsed } from './result.js';
import { parsed, rejected } from './result.js';

export const BROADCAST_MAC: Buffer = Buffer.alloc(6, 0xff);
export const ZERO_MAC: Buffer = Buffer.alloc(6, 0);

export function parseMac(text: string): Parsed<Buffer> {
  const match = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(text.trim());
  if (match === null) return rejected(`"${text}" is not a MAC address (six hex pairs separated by ":")`);
  const octets = [match[1], match[3], match[4], match[5], match[6], match[7]].map((pair) => parseInt(pair ?? '', 16));
  return parsed(Buffer.from(octets));
}

export function formatMac(mac: Buffer): string {
  return [...mac.subarray(0, 6)].map((octet) => octet.toString(16).padStart(2, '0')).join(':');
}

export function parseIPv4(text: string): Parsed<Buffer> {
  const parts = text.split('.');
  if (parts.length !== 4) return rejected(`"${text}" is not an IPv4 address (four dotted decimals)`);
  const octets: number[] = [];
  for (const part of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) {
      return rejected(`"${text}" is not an IPv4 address (octet "${part}")`);
    }
    octets.push(Number(part));
  }
  return parsed(Buffer.from(octets));
}

export function parseIPv6(text: string): Parsed<Buffer> {
  const bad = (why: string): Parsed<Buffer> => rejected(`"${text}" is not an IPv6 address (${why})`);
  if (text.includes('%')) return bad('zone identifiers are not addresses');
  const halves = text.split('::');
  if (halves.length > 2) return bad('"::" appears more than once');
  const groupsOf = (half: string | undefined): number[] | string => {
    if (half === undefined || half === '') return [];
    const groups: number[] = [];
    const fields = half.split(':');
    for (const [index, field] of fields.entries()) {
      if (index === fields.length - 1 && field.includes('.')) {
        const v4 = parseIPv4(field);
        if (!v4.ok) return 'embedded IPv4 is invalid';
        groups.push(v4.packet.readUInt16BE(0), v4.packet.readUInt16BE(2));
      } else if (/^[0-9a-f]{1,4}$/i.test(field)) {
        groups.push(parseInt(field, 16));
      } else {
        return `group "${field}"`;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  if (typeof head === 'string') return bad(head);
  if (typeof tail === 'string') return bad(tail);
  const compressed = halves.length === 2;
  const missing = 8 - head.length - tail.length;
  if (compressed ? missing < 1 : missing !== 0) return bad(compressed ? 'too many groups' : 'needs eight groups');
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return parsed(bytes);
}

export function formatIPv4(bytes: Buffer): string {
  return [...bytes.subarray(0, 4)].join('.');
}

export function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) { start++; continue; }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) { bestStart = start; bestLength = end - start; }
    start = end;
  }
  const hex = (list: number[]): string => list.map((group) => group.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export type IpAddress =
  | { readonly family: 4; readonly bytes: Buffer; readonly text: string }
  | { readonly family: 6; readonly bytes: Buffer; readonly text: string };

/** Either family; `text` is the canonical form used as the key everywhere in arp/. */
export function parseIp(text: string): Parsed<IpAddress> {
  if (text.includes(':')) {
    const v6 = parseIPv6(text);
    return v6.ok ? parsed({ family: 6, bytes: v6.packet, text: formatIPv6(v6.packet) }) : v6;
  }
  const v4 = parseIPv4(text);
  return v4.ok ? parsed({ family: 4, bytes: v4.packet, text: formatIPv4(v4.packet) }) : v4;
}

/** RFC 4291 §2.7.1: ff02::1:ffXX:XXXX, from the low 24 bits of the address. */
export function solicitedNodeAddress(address: Buffer): Buffer {
  const group = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  address.copy(group, 13, 13, 16);
  return group;
}

/** RFC 2464 §7: an IPv6 multicast group maps to 33:33 followed by its low 32 bits. */
export function multicastMac(group: Buffer): Buffer {
  const mac = Buffer.from([0x33, 0x33, 0, 0, 0, 0]);
  group.copy(mac, 2, 12, 16);
  return mac;
}

export const ALL_NODES: Buffer = Buffer.from('ff020000000000000000000000000001', 'hex');
export const UNSPECIFIED_IPV6: Buffer = Buffer.alloc(16, 0);

export function isMulticastIPv6(address: Buffer): boolean {
  return address[0] === 0xff;
}
