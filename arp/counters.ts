// The responder's counters, kept in memory; the metrics endpoint (later) reads snapshot(). Names and
// meaning follow MetalLB's layer2 metrics so dashboards keep working; new ones use the l2lb_ prefix.

export interface Layer2CountersSnapshot {
  /** Requests (ARP request or NS) for an address we announce, per address. */
  readonly metallb_layer2_requests_received: Readonly<Record<string, number>>;
  /** Replies (ARP reply or solicited NA) sent, per address. */
  readonly metallb_layer2_responses_sent: Readonly<Record<string, number>>;
  /** Gratuitous frames sent, per address: each gratuitous ARP request, gratuitous ARP reply and unsolicited NA counts one. */
  readonly metallb_layer2_gratuitous_sent: Readonly<Record<string, number>>;
  readonly l2lb_layer2_malformed_dropped_total: number;
  /** The same drops by reason, for logs and debugging; not exported as a metric (unbounded label). */
  readonly malformedByReason: Readonly<Record<string, number>>;
}

export class Layer2Counters {
  private readonly requests = new Map<string, number>();
  private readonly responses = new Map<string, number>();
  private readonly gratuitous = new Map<string, number>();
  private readonly malformed = new Map<string, number>();
  private malformedTotal = 0;

  requestReceived(ip: string): void {
    bump(this.requests, ip);
  }

  responseSent(ip: string): void {
    bump(this.responses, ip);
  }

  gratuitousSent(ip: string): void {
    bump(this.gratuitous, ip);
  }

  malformedDropped(reason: string): void {
    this.malformedTotal++;
    // Reasons carry numbers ("length 7"); key by the stable prefix so the map stays small under fuzzing.
    bump(this.malformed, reason.replace(/\b(0x[0-9a-f]+|[0-9]+)\b/g, 'N'));
  }

  snapshot(): Layer2CountersSnapshot {
    return {
      metallb_layer2_requests_received: Object.fromEntries(this.requests),
      metallb_layer2_responses_sent: Object.fromEntries(this.responses),
      metallb_layer2_gratuitous_sent: Object.fromEntries(this.gratuitous),
      l2lb_layer2_malformed_dropped_total: this.malformedTotal,
      malformedByReason: Object.fromEntries(this.malformed),
    };
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
