// The Internet checksum (RFC 1071) and the ICMPv6 one, which also covers a pseudo-header of the IPv6
// addresses, length and next header (RFC 8200 §8.1) so a datagram delivered to the wrong host fails it.

/** One's-complement sum of 16-bit big-endian words, folded, not yet complemented. */
function onesComplementSum(parts: readonly Buffer[]): number {
  let sum = 0;
  let odd: number | null = null; // a byte left over from a part of odd length pairs with the next part's first
  for (const part of parts) {
    let i = 0;
    if (odd !== null && part.length > 0) {
      sum += (odd << 8) | (part[0] ?? 0);
      odd = null;
      i = 1;
    }
    for (; i + 1 < part.length; i += 2) sum += part.readUInt16BE(i);
    if (i < part.length) odd = part[i] ?? 0;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(...parts: readonly Buffer[]): number {
  return ~onesComplementSum(parts) & 0xffff;
}

const ICMPV6_NEXT_HEADER = 58;

function pseudoHeader(source: Buffer, destination: Buffer, length: number): Buffer {
  const header = Buffer.alloc(40);
  source.copy(header, 0, 0, 16);
  destination.copy(header, 16, 0, 16);
  header.writeUInt32BE(length, 32);
  header.writeUInt32BE(ICMPV6_NEXT_HEADER, 36);
  return header;
}

/** The checksum to write into an ICMPv6 message whose checksum field is zero. */
export function icmpv6Checksum(source: Buffer, destination: Buffer, message: Buffer): number {
  return internetChecksum(pseudoHeader(source, destination, message.length), message);
}

/** True when a received message (checksum field included) sums to all ones. */
export function icmpv6ChecksumValid(source: Buffer, destination: Buffer, message: Buffer): boolean {
  return onesComplementSum([pseudoHeader(source, destination, message.length), message]) === 0xffff;
}
