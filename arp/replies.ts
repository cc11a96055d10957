// What a responder does with one received frame, as a pure function: answer (with the frame to send),
// ignore (with why), or drop as malformed (with why). The socket class only moves bytes.
import { formatIPv4, formatIPv6, solicitedNodeAddress } from './addresses.js';
import { ARP_REQUEST, encodeArpReply, parseArpFrame } from './arp-codec.js';
import { isMulticastMac } from './ethernet.js';
import { encodeSolicitedAdvertisement, parseNeighborSolicitation } from './ndp-codec.js';

export type Decision =
  | { readonly kind: 'answer'; readonly ip: string; readonly frame: Buffer }
  | { readonly kind: 'ignore'; readonly reason: string; readonly ip?: string }
  | { readonly kind: 'malformed'; readonly reason: string };

export interface ResponderView {
  readonly mac: Buffer;
  /** Canonical text of every address announced on this interface (see addresses.ts). */
  readonly announced: ReadonlySet<string>;
}

const BROADCAST = Buffer.alloc(6, 0xff);

export function answerArp(frame: Buffer, view: ResponderView): Decision {
  const parsedFrame = parseArpFrame(frame);
  if (!parsedFrame.ok) return { kind: 'malformed', reason: parsedFrame.reason };
  const { ethernet, arp } = parsedFrame.value;
  // Replies (including gratuitous ones from the previous owner) are information, not questions.
  if (arp.operation !== ARP_REQUEST) return { kind: 'ignore', reason: 'not a request' };
  if (!ethernet.destination.equals(BROADCAST) && !ethernet.destination.equals(view.mac)) {
    return { kind: 'ignore', reason: 'sent to another station' };
  }
  // A sender claiming a multicast MAC would make us unicast a reply to a group: hosts drop these too.
  if (isMulticastMac(arp.senderMac) || isMulticastMac(ethernet.source)) return { kind: 'malformed', reason: 'arp: multicast sender address' };
  const ip = formatIPv4(arp.targetIp);
  if (!view.announced.has(ip)) return { kind: 'ignore', reason: 'target not announced here', ip };
  // A probe (RFC 5227, sender 0.0.0.0) gets a reply too: that is how a host tells the prober the address is taken.
  return { kind: 'answer', ip, frame: encodeArpReply(view.mac, arp.targetIp, arp) };
}

export function answerNeighborSolicitation(frame: Buffer, view: ResponderView): Decision {
  const solicitation = parseNeighborSolicitation(frame);
  if (!solicitation.ok) return { kind: 'malformed', reason: solicitation.reason };
  const { ip: packet, target, ethernet } = solicitation.value;
  if (isMulticastMac(ethernet.source)) return { kind: 'malformed', reason: 'ndp: multicast Ethernet source' };
  const ip = formatIPv6(target);
  if (!view.announced.has(ip)) return { kind: 'ignore', reason: 'target not announced here', ip };
  // Address resolution goes to the solicited-node group; neighbour unreachability detection is unicast
  // to the target itself. A solicitation to any other address is someone else's business.
  if (!packet.destination.equals(solicitedNodeAddress(target)) && !packet.destination.equals(target)) {
    return { kind: 'ignore', reason: 'destination is neither the target nor its solicited-node group', ip };
  }
  return { kind: 'answer', ip, frame: encodeSolicitedAdvertisement(view.mac, solicitation.value) };
}
