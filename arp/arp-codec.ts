// ARP for IPv4 over Ethernet (RFC 826), the only pairing we speak: hardware type 1, protocol 0x0800.
import { BROADCAST_MAC, ZERO_MAC } from './addresses.js';
import { ETHERTYPE_ARP, encodeEthernet, parseEthernet } from './ethernet.js';
import type { EthernetFrame } from './ethernet.js';
import type { Parsed } from './result.js';
import { parsed, rejected } from './result.js';

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
export const ARP_PACKET_LENGTH = 28;

export interface ArpPacket {
  readonly operation: typeof ARP_REQUEST | typeof ARP_REPLY;
  readonly senderMac: Buffer;
  readonly senderIp: Buffer;
  readonly targetMac: Buffer;
  readonly targetIp: Buffer;
}

export interface ArpFrame {
  readonly ethernet: EthernetFrame;
  readonly arp: ArpPacket;
}

export function encodeArp(packet: ArpPacket): Buffer {
  const bytes = Buffer.alloc(ARP_PACKET_LENGTH);
  bytes.writeUInt16BE(1, 0); // Ethernet
  bytes.writeUInt16BE(0x0800, 2); // IPv4
  bytes[4] = 6;
  bytes[5] = 4;
  bytes.writeUInt16BE(packet.operation, 6);
  packet.senderMac.copy(bytes, 8, 0, 6);
  packet.senderIp.copy(bytes, 14, 0, 4);
  packet.targetMac.copy(bytes, 18, 0, 6);
  packet.targetIp.copy(bytes, 24, 0, 4);
  return bytes;
}

/** Bytes past the 28 of the packet are Ethernet padding (frames are at least 60 bytes on real links). */
export function parseArp(payload: Buffer): Parsed<ArpPacket> {
  if (payload.length < ARP_PACKET_LENGTH) return rejected(`arp: ${payload.length} bytes is shorter than a packet`);
  const hardware = payload.readUInt16BE(0);
  if (hardware !== 1) return rejected(`arp: hardware type ${hardware} is not Ethernet`);
  const protocol = payload.readUInt16BE(2);
  if (protocol !== 0x0800) return rejected(`arp: protocol type 0x${protocol.toString(16)} is not IPv4`);
  if (payload[4] !== 6 || payload[5] !== 4) return rejected(`arp: address lengths ${payload[4]}/${payload[5]} are not 6/4`);
  const operation = payload.readUInt16BE(6);
  if (operation !== ARP_REQUEST && operation !== ARP_REPLY) return rejected(`arp: operation ${operation} is neither request nor reply`);
  return parsed({
    operation,
    senderMac: payload.subarray(8, 14),
    senderIp: payload.subarray(14, 18),
    targetMac: payload.subarray(18, 24),
    targetIp: payload.subarray(24, 28),
  });
}

export function parseArpFrame(frame: Buffer): Parsed<ArpFrame> {
  const ethernet = parseEthernet(frame);
  if (!ethernet.ok) return ethernet;
  if (ethernet.value.ethertype !== ETHERTYPE_ARP) return rejected(`arp: ethertype 0x${ethernet.value.ethertype.toString(16)} is not ARP`);
  const arp = parseArp(ethernet.value.payload);
  if (!arp.ok) return arp;
  return parsed({ ethernet: ethernet.value, arp: arp.value });
}

/** A reply from `mac` saying `ip` is at `mac`, unicast to the requester as a host's kernel does. */
export function encodeArpReply(mac: Buffer, ip: Buffer, request: ArpPacket): Buffer {
  const reply = encodeArp({ operation: ARP_REPLY, senderMac: mac, senderIp: ip, targetMac: request.senderMac, targetIp: request.senderIp });
  return encodeEthernet(request.senderMac, mac, ETHERTYPE_ARP, reply);
}

export function encodeArpRequest(mac: Buffer, senderIp: Buffer, targetIp: Buffer): Buffer {
  const request = encodeArp({ operation: ARP_REQUEST, senderMac: mac, senderIp, targetMac: ZERO_MAC, targetIp });
  return encodeEthernet(BROADCAST_MAC, mac, ETHERTYPE_ARP, request);
}

/**
 * Gratuitous ARP, sender and target IP both the announced address, broadcast. Both forms go out because
 * neighbours disagree on which one updates their cache (RFC 5227 §3 prefers requests; older stacks and
 * some switches only learn from replies), which is also what MetalLB and the kernel's arping -U/-A do.
 */
export function encodeGratuitousArp(mac: Buffer, ip: Buffer, operation: typeof ARP_REQUEST | typeof ARP_REPLY): Buffer {
  const targetMac = operation === ARP_REQUEST ? ZERO_MAC : BROADCAST_MAC;
  const packet = encodeArp({ operation, senderMac: mac, senderIp: ip, targetMac, targetIp: ip });
  return encodeEthernet(BROADCAST_MAC, mac, ETHERTYPE_ARP, packet);
}
