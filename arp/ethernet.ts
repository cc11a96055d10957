// Ethernet II framing. Packet sockets hand us whole frames, and we hand whole frames back.
import type { Parsed } from './result.js';
import { parsed, rejected } from './result.js';

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
export const ETHERNET_HEADER_LENGTH = 14;

export interface EthernetFrame {
  readonly destination: Buffer;
  readonly source: Buffer;
  readonly ethertype: number;
  readonly payload: Buffer;
}

export function encodeEthernet(destination: Buffer, source: Buffer, ethertype: number, payload: Buffer): Buffer {
  const frame = Buffer.alloc(ETHERNET_HEADER_LENGTH + payload.length);
  destination.copy(frame, 0, 0, 6);
  source.copy(frame, 6, 0, 6);
  frame.writeUInt16BE(ethertype, 12);
  payload.copy(frame, ETHERNET_HEADER_LENGTH);
  return frame;
}

export function parseEthernet(frame: Buffer): Parsed<EthernetFrame> {
  if (frame.length < ETHERNET_HEADER_LENGTH) return rejected(`ethernet: ${frame.length} bytes is shorter than a header`);
  const ethertype = frame.readUInt16BE(12);
  // A packet socket bound to one ethertype only sees tagged frames if the NIC did not strip the tag;
  // we answer on the untagged interface (a VLAN is its own interface), so a tag here is not for us.
  if (ethertype === ETHERTYPE_VLAN) return rejected('ethernet: 802.1Q-tagged frame');
  return parsed({
    destination: frame.subarray(0, 6),
    source: frame.subarray(6, 12),
    ethertype,
    payload: frame.subarray(ETHERNET_HEADER_LENGTH),
  });
}

export function isMulticastMac(mac: Buffer): boolean {
  return ((mac[0] ?? 0) & 1) === 1;
}
