// The heartbeat datagram: "node X is alive" or "node X is leaving", as a small JSON object. Parsed
// strictly (size, exact shape) and never throwing: anything else on the port is dropped.

export const MEMBERLIST_PORT = 7946;
const MAX_DATAGRAM = 512;

export interface Heartbeat {
  readonly l2lb: 1;
  readonly node: string;
  readonly kind: 'alive' | 'goodbye';
}

export function parseHeartbeat(datagram: Buffer): Heartbeat | undefined {
  if (datagram.length > MAX_DATAGRAM) return undefined;
  try {
    const value = JSON.parse(datagram.toString('utf8')) as Partial<Heartbeat> | null;
    if (value === null || typeof value !== 'object') return undefined;
    if (value.l2lb !== 1 || typeof value.node !== 'string' || value.node === '' || (value.kind !== 'alive' && value.kind !== 'goodbye')) return undefined;
    return { l2lb: 1, node: value.node, kind: value.kind };
  } catch {
    return undefined;
  }
}
