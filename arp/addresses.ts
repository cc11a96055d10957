// MAC and IP addresses as the bytes that go on the wire, and back to the text that goes in logs and
// metric labels. IPv6 text is always RFC 5952 canonical, so one address has one label.
import * as ip from './ipaddr.js';
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

// Text is read by the one IP parser (ipaddr.ts, the allocator's too); these give its value as wire bytes.
export function parseIPv4(text: string): Parsed<Buffer> {
  const value = ip.parseIPv4(text);
  if (value === undefined) return rejected(`"${text}" is not an IPv4 address (four dotted decimals of at most 255, no leading zeros)`);
  return parsed(ip.ipBytes(4, value));
}

export function parseIPv6(text: string): Parsed<Buffer> {
  const value = ip.parseIPv6(text);
  if (value === undefined) {
    return rejected(`"${text}" is not an IPv6 address (${text.includes('%') ? 'zone identifiers are not addresses' : 'RFC 4291 text form'})`);
  }
  return parsed(ip.ipBytes(6, value));
}

export function formatIPv4(bytes: Buffer): string {
  return ip.formatIP(4, ip.ipFromBytes(bytes.subarray(0, 4)));
}

export function formatIPv6(bytes: Buffer): string {
  return ip.formatIP(6, ip.ipFromBytes(bytes.subarray(0, 16)));
}

export type IpAddress =
  | { readonly family: 4; readonly bytes: Buffer; readonly text: string }
  | { readonly family: 6; readonly bytes: Buffer; readonly text: string };

/** Either family; `text` is the canonical form used as the key everywhere in arp/. */
export function parseIp(text: string): Parsed<IpAddress> {
  if (text.includes(':')) {
    const v6 = parseIPv6(text);
    return v6.ok ? parsed({ family: 6, bytes: v6.value, text: formatIPv6(v6.value) }) : v6;
  }
  const v4 = parseIPv4(text);
  return v4.ok ? parsed({ family: 4, bytes: v4.value, text: formatIPv4(v4.value) }) : v4;
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
