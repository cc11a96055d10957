// IPv6 Neighbor Solicitation and Advertisement (RFC 4861 §4.3, §4.4) in Ethernet frames, with the
// receive-side validation of §7.1.1 in the parser: a solicitation that fails it never reaches a decision.
import { ALL_NODES, isMulticastIPv6, multicastMac, solicitedNodeAddress } from './addresses.js';
import { icmpv6Checksum, icmpv6ChecksumValid } from './checksum.js';
import { ETHERTYPE_IPV6, encodeEthernet, parseEthernet } from './ethernet.js';
import type { EthernetFrame } from './ethernet.js';
import type { Parsed } from './result.js';
import { parsed, rejected } from './result.js';

export const IPV6_HEADER_LENGTH = 40;
export const NEXT_HEADER_ICMPV6 = 58;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const OPTION_SOURCE_LINK_LAYER = 1;
export const OPTION_TARGET_LINK_LAYER = 2;
/** RFC 4861 §7.1.1: a hop limit of 255 proves the sender is on-link, nothing forwarded it. */
export const NDP_HOP_LIMIT = 255;
const NDP_MESSAGE_MIN_LENGTH = 24;

export interface Ipv6Packet {
  readonly hopLimit: number;
  readonly nextHeader: number;
  readonly source: Buffer;
  readonly destination: Buffer;
  readonly payload: Buffer;
}

export interface NdpOption {
  readonly type: number;
  /** The option's bytes after type and length. */
  readonly data: Buffer;
}

export interface NeighborSolicitation {
  readonly ethernet: EthernetFrame;
  readonly ip: Ipv6Packet;
  readonly target: Buffer;
  /** The Source Link-Layer Address option, when present. */
  readonly sourceLinkLayer: Buffer | null;
}

export interface NeighborAdvertisement {
  readonly ethernet: EthernetFrame;
  readonly ip: Ipv6Packet;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: Buffer;
  readonly targetLinkLayer: Buffer | null;
}

export function encodeIpv6(hopLimit: number, source: Buffer, destination: Buffer, payload: Buffer): Buffer {
  const packet = Buffer.alloc(IPV6_HEADER_LENGTH + payload.length);
  packet.writeUInt32BE(0x60000000, 0); // version 6, traffic class 0, flow label 0
  packet.writeUInt16BE(payload.length, 4);
  packet[6] = NEXT_HEADER_ICMPV6;
  packet[7] = hopLimit;
  source.copy(packet, 8, 0, 16);
  destination.copy(packet, 24, 0, 16);
  payload.copy(packet, IPV6_HEADER_LENGTH);
  return packet;
}

export function parseIpv6(bytes: Buffer): Parsed<Ipv6Packet> {
  if (bytes.length < IPV6_HEADER_LENGTH) return rejected(`ipv6: ${bytes.length} bytes is shorter than a header`);
  const version = (bytes[0] ?? 0) >> 4;
  if (version !== 6) return rejected(`ipv6: version ${version}`);
  const payloadLength = bytes.readUInt16BE(4);
  if (IPV6_HEADER_LENGTH + payloadLength > bytes.length) {
    return rejected(`ipv6: payload length ${payloadLength} runs past the ${bytes.length - IPV6_HEADER_LENGTH} bytes received`);
  }
  return parsed({
    hopLimit: bytes[7] ?? 0,
    nextHeader: bytes[6] ?? 0,
    source: bytes.subarray(8, 24),
    destination: bytes.subarray(24, 40),
    // Anything past the payload length is link padding, not part of the message or its checksum.
    payload: bytes.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength),
  });
}

export function encodeNdpOption(type: number, data: Buffer): Buffer {
  const length = Math.ceil((data.length + 2) / 8) * 8;
  const option = Buffer.alloc(length);
  option[0] = type;
  option[1] = length / 8;
  data.copy(option, 2);
  return option;
}

/** RFC 4861 §4.6: options are 8-byte units; a zero length is invalid and must drop the whole message. */
export function parseNdpOptions(bytes: Buffer): Parsed<readonly NdpOption[]> {
  const options: NdpOption[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    if (bytes.length - offset < 2) return rejected(`ndp: option at byte ${offset} is truncated`);
    const type = bytes[offset] ?? 0;
    const units = bytes[offset + 1] ?? 0;
    if (units === 0) return rejected(`ndp: option type ${type} has length 0`);
    const end = offset + units * 8;
    if (end > bytes.length) return rejected(`ndp: option type ${type} runs past the message`);
    options.push({ type, data: bytes.subarray(offset + 2, end) });
    offset = end;
  }
  return parsed(options);
}

function linkLayerOption(options: readonly NdpOption[], type: number): Parsed<Buffer | null> {
  const option = options.find((candidate) => candidate.type === type);
  if (option === undefined) return parsed(null);
  // On Ethernet the option is exactly one unit: 6 bytes of MAC after type and length (RFC 2464 §8).
  if (option.data.length !== 6) return rejected(`ndp: link-layer address option is ${option.data.length + 2} bytes, not 8`);
  return parsed(option.data);
}

/** Ethernet → IPv6 → ICMPv6 of the given type, with the checks §7.1.1 and §7.1.2 share. */
function parseNdpMessage(frame: Buffer, type: number): Parsed<{ ethernet: EthernetFrame; ip: Ipv6Packet; message: Buffer; options: readonly NdpOption[] }> {
  const ethernet = parseEthernet(frame);
  if (!ethernet.ok) return ethernet;
  if (ethernet.value.ethertype !== ETHERTYPE_IPV6) return rejected(`ndp: ethertype 0x${ethernet.value.ethertype.toString(16)} is not IPv6`);
  const ip = parseIpv6(ethernet.value.payload);
  if (!ip.ok) return ip;
  // Extension headers before ICMPv6 are legal but never used by neighbour discovery in practice; we do
  // not walk them (the BPF filter would not pass them either), so such a message is simply not ours.
  if (ip.value.nextHeader !== NEXT_HEADER_ICMPV6) return rejected(`ndp: next header ${ip.value.nextHeader} is not ICMPv6`);
  const message = ip.value.payload;
  if (message.length < 4) return rejected(`ndp: ICMPv6 message of ${message.length} bytes`);
  if (message[0] !== type) return rejected(`ndp: ICMPv6 type ${message[0]} is not ${type}`);
  if (ip.value.hopLimit !== NDP_HOP_LIMIT) return rejected(`ndp: hop limit ${ip.value.hopLimit} is not 255 (possibly forwarded)`);
  if (message[1] !== 0) return rejected(`ndp: ICMPv6 code ${message[1]} is not 0`);
  if (message.length < NDP_MESSAGE_MIN_LENGTH) return rejected(`ndp: ICMPv6 length ${message.length} is under 24`);
  if (!icmpv6ChecksumValid(ip.value.source, ip.value.destination, message)) return rejected('ndp: ICMPv6 checksum is wrong');
  const options = parseNdpOptions(message.subarray(NDP_MESSAGE_MIN_LENGTH));
  if (!options.ok) return options;
  return parsed({ ethernet: ethernet.value, ip: ip.value, message, options: options.value });
}

export function parseNeighborSolicitation(frame: Buffer): Parsed<NeighborSolicitation> {
  const ndp = parseNdpMessage(frame, ICMPV6_NEIGHBOR_SOLICITATION);
  if (!ndp.ok) return ndp;
  const { ethernet, ip, message, options } = ndp.value;
  const target = message.subarray(8, 24);
  if (isMulticastIPv6(target)) return rejected('ndp: solicitation target is a multicast address');
  const sourceLinkLayer = linkLayerOption(options, OPTION_SOURCE_LINK_LAYER);
  if (!sourceLinkLayer.ok) return sourceLinkLayer;
  if (ip.source.every((byte) => byte === 0)) {
    // Duplicate address detection: the sender has no address yet, so it can only be answered by multicast.
    if (!ip.destination.equals(solicitedNodeAddress(target))) return rejected('ndp: unspecified source but destination is not the solicited-node group');
    if (sourceLinkLayer.value !== null) return rejected('ndp: unspecified source with a source link-layer address option');
  }
  return parsed({ ethernet, ip, target, sourceLinkLayer: sourceLinkLayer.value });
}

export function parseNeighborAdvertisement(frame: Buffer): Parsed<NeighborAdvertisement> {
  const ndp = parseNdpMessage(frame, ICMPV6_NEIGHBOR_ADVERTISEMENT);
  if (!ndp.ok) return ndp;
  const { ethernet, ip, message, options } = ndp.value;
  const flags = message[4] ?? 0;
  const target = message.subarray(8, 24);
  const solicited = (flags & 0x40) !== 0;
  if (isMulticastIPv6(target)) return rejected('ndp: advertisement target is a multicast address');
  if (solicited && isMulticastIPv6(ip.destination)) return rejected('ndp: solicited advertisement sent to a multicast group');
  const targetLinkLayer = linkLayerOption(options, OPTION_TARGET_LINK_LAYER);
  if (!targetLinkLayer.ok) return targetLinkLayer;
  return parsed({ ethernet, ip, router: (flags & 0x80) !== 0, solicited, override: (flags & 0x20) !== 0, target, targetLinkLayer: targetLinkLayer.value });
}

function encodeNdpFrame(sourceMac: Buffer, destinationMac: Buffer, hopLimit: number, source: Buffer, destination: Buffer, message: Buffer): Buffer {
  message.writeUInt16BE(icmpv6Checksum(source, destination, message), 2);
  return encodeEthernet(destinationMac, sourceMac, ETHERTYPE_IPV6, encodeIpv6(hopLimit, source, destination, message));
}

export interface AdvertisementFields {
  readonly mac: Buffer;
  readonly target: Buffer;
  /** The IPv6 source; we use the target itself, the address this node is answering as. */
  readonly source: Buffer;
  readonly destination: Buffer;
  readonly destinationMac: Buffer;
  readonly solicited: boolean;
  readonly override: boolean;
}

export function encodeNeighborAdvertisement(fields: AdvertisementFields): Buffer {
  const message = Buffer.alloc(NDP_MESSAGE_MIN_LENGTH);
  message[0] = ICMPV6_NEIGHBOR_ADVERTISEMENT;
  message[4] = (fields.solicited ? 0x40 : 0) | (fields.override ? 0x20 : 0); // never R: we are not a router
  fields.target.copy(message, 8, 0, 16);
  const withOption = Buffer.concat([message, encodeNdpOption(OPTION_TARGET_LINK_LAYER, fields.mac)]);
  return encodeNdpFrame(fields.mac, fields.destinationMac, NDP_HOP_LIMIT, fields.source, fields.destination, withOption);
}

/** Solicited NA answering `solicitation` for `target` from `mac` (RFC 4861 §7.2.4). */
export function encodeSolicitedAdvertisement(mac: Buffer, solicitation: NeighborSolicitation): Buffer {
  const fromUnspecified = solicitation.ip.source.every((byte) => byte === 0);
  return encodeNeighborAdvertisement({
    mac,
    target: solicitation.target,
    source: solicitation.target,
    // A DAD probe's sender has no address: answer all nodes, and S must be clear (§7.2.4).
    destination: fromUnspecified ? ALL_NODES : solicitation.ip.source,
    destinationMac: fromUnspecified ? multicastMac(ALL_NODES) : (solicitation.sourceLinkLayer ?? solicitation.ethernet.source),
    solicited: !fromUnspecified,
    override: true,
  });
}

/** Unsolicited NA to all nodes with Override set, so neighbours replace the old owner's MAC at once (§7.2.6). */
export function encodeUnsolicitedAdvertisement(mac: Buffer, target: Buffer): Buffer {
  return encodeNeighborAdvertisement({ mac, target, source: target, destination: ALL_NODES, destinationMac: multicastMac(ALL_NODES), solicited: false, override: true });
}

export interface SolicitationFields {
  readonly mac: Buffer;
  readonly source: Buffer;
  readonly target: Buffer;
  readonly hopLimit?: number;
  /** Defaults to the target's solicited-node group. */
  readonly destination?: Buffer;
  /** Defaults to the destination's multicast MAC; a unicast solicitation (NUD) names the owner's MAC. */
  readonly destinationMac?: Buffer;
  readonly includeSourceLinkLayer?: boolean;
}

/** For tests and benchmarks: a solicitation as a host would send it, or deliberately not. */
export function encodeNeighborSolicitation(fields: SolicitationFields): Buffer {
  const destination = fields.destination ?? solicitedNodeAddress(fields.target);
  const message = Buffer.alloc(NDP_MESSAGE_MIN_LENGTH);
  message[0] = ICMPV6_NEIGHBOR_SOLICITATION;
  fields.target.copy(message, 8, 0, 16);
  const withOption = fields.includeSourceLinkLayer === false ? message : Buffer.concat([message, encodeNdpOption(OPTION_SOURCE_LINK_LAYER, fields.mac)]);
  return encodeNdpFrame(fields.mac, fields.destinationMac ?? multicastMac(destination), fields.hopLimit ?? NDP_HOP_LIMIT, fields.source, destination, withOption);
}
