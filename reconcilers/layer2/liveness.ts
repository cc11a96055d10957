// Is a peer's announcer alive? Two signals, because each alone is either slow or fragile:
//  - the fast path: UDP heartbeats between announcers every 100 ms (port 7946): a killed announcer is
//    noticed within the deadline (500 ms), well inside the 1 s failover budget;
//  - the API: a heartbeat Lease per node, renewed every 2 s (0.5 writes/s per node, whatever the number
//    of Services), for peers whose UDP we never heard (blocked port, first seconds after start).
// A partition that cuts UDP but not the API must not give an address two owners for long: a peer whose
// Lease was renewed after its UDP went silent is alive (it is only unreachable to us), so ownership
// returns to a single node within one Lease renewal. A peer that said goodbye (SIGTERM) is dead at once.

export interface PeerObservation {
  /** When (ms, our clock) we last heard the peer's UDP heartbeat. */
  readonly lastHeardMs?: number;
  /** Up to when our receiving side had read every datagram that arrived (defaults to now). Silence is
   *  evidence only up to there: a stall of our own must never make a peer look dead. */
  readonly heardUpToMs?: number;
  /** When the peer said goodbye; a heartbeat after that revives it. */
  readonly goodbyeMs?: number;
  /** When we last heard the peer say "joining" (started, listening, not yet answering). */
  readonly joiningHeardMs?: number;
  /** Whether we are joining ourselves (listening, our first plan not yet applied). */
  readonly selfJoining?: boolean;
  /** When we saw its Lease renewed (our clock), and for how long the Lease holds. */
  readonly leaseSeenMs?: number;
  readonly leaseDurationMs?: number;
  /** Since when we could hear any peer (our heartbeat thread up, with the key); undefined: not yet. */
  readonly listeningSinceMs?: number;
  /** When this process started. */
  readonly startedMs?: number;
}

export interface LivenessTimings {
  readonly udpDeadlineMs: number;
  /** How long a starting speaker may listen, before its first plan, for peers it has not heard from at
   *  all (firstPlanWaitMs). */
  readonly firstPlanPatienceMs: number;
  /** How long after our start a peer we have not yet had the means to hear is given the benefit of the
   *  doubt (the time the memberlist key may take to arrive). */
  readonly startupGraceMs: number;
}

export const defaultLivenessTimings: LivenessTimings = { udpDeadlineMs: 500, firstPlanPatienceMs: 2_000, startupGraceMs: 10_000 };

/** While waiting for unheard peers, look again at least this often (a peer heard re-queues at once). */
const UNHEARD_RECHECK_MS = 250;

/** How much longer a starting speaker waits before its first plan (0: plan now). It listens for one UDP
 *  deadline in any case, so its view of who is alive is the peers' view. Then, while some peer has never
 *  been heard at all (neither alive, joining nor saying goodbye) and has no fresh Lease, it waits for it
 *  up to `firstPlanPatienceMs` of listening: speakers of a fresh install start seconds apart (the lab's
 *  three processes, spawned one after another, 0.5 s apart), and one that planned before a peer was
 *  heard took that peer's addresses, then handed them over while the peer was still joining. Nobody
 *  answers for a starting speaker meanwhile: its peers keep its addresses until it says alive.
 *  `listenedMs` undefined: we cannot hear peers at all (no key), and go by Leases at once. */
export function firstPlanWaitMs(listenedMs: number | undefined, unheardPeers: number, timings: LivenessTimings = defaultLivenessTimings): number {
  if (listenedMs === undefined) return 0;
  if (listenedMs < timings.udpDeadlineMs) return timings.udpDeadlineMs - listenedMs;
  if (unheardPeers > 0 && listenedMs < timings.firstPlanPatienceMs) return Math.min(UNHEARD_RECHECK_MS, timings.firstPlanPatienceMs - listenedMs);
  return 0;
}

export type PeerLiveness = { readonly alive: true; readonly via: 'udp' | 'lease' | 'not yet heard' | 'joining' } | { readonly alive: false; readonly reason: string };

/** For how long (ms) we have been able to hear peers, counted up to where our receiving side has read;
 *  undefined while we cannot hear them at all (no key, or the heartbeat thread not up). */
export function listenedForMs(listeningSinceMs: number | undefined, heardUpToMs: number | undefined, nowMs: number): number | undefined {
  if (listeningSinceMs === undefined) return undefined;
  return Math.min(heardUpToMs ?? nowMs, nowMs) - listeningSinceMs;
}

export function peerLiveness(peer: PeerObservation, nowMs: number, timings: LivenessTimings = defaultLivenessTimings): PeerLiveness {
  const { lastHeardMs, goodbyeMs, leaseSeenMs, leaseDurationMs = 0 } = peer;
  const heardUpTo = Math.min(peer.heardUpToMs ?? nowMs, nowMs);
  const inGrace = peer.startedMs !== undefined && nowMs - peer.startedMs < timings.startupGraceMs;
  const { joiningHeardMs } = peer;
  // A peer heard joining counts as alive to us while we are joining too, or in our own startup grace
  // if we never heard it alive (speakers starting together). Otherwise (we are a member long up, or it
  // is a peer restarting that we heard alive before) it counts as dead until it says alive, so we keep
  // answering for its addresses until it can.
  const joiningCounts = peer.selfJoining === true || (inGrace && lastHeardMs === undefined);
  if (joiningCounts && joiningHeardMs !== undefined && (goodbyeMs === undefined || joiningHeardMs > goodbyeMs)
    && heardUpTo - joiningHeardMs <= timings.udpDeadlineMs) {
    return { alive: true, via: 'joining' };
  }
  if (goodbyeMs !== undefined && (lastHeardMs === undefined || lastHeardMs <= goodbyeMs)) {
    return { alive: false, reason: 'its announcer stopped (said goodbye)' };
  }
  if (lastHeardMs !== undefined && heardUpTo - lastHeardMs <= timings.udpDeadlineMs) return { alive: true, via: 'udp' };
  const leaseFresh = leaseSeenMs !== undefined && nowMs - leaseSeenMs <= leaseDurationMs;
  if (lastHeardMs === undefined) {
    if (leaseFresh) return { alive: true, via: 'lease' };
    // Never heard, and its Lease is stale: dead only if we could have heard it. A speaker that starts
    // with every peer's Lease stale (the whole cluster starting, or restarted after an outage) and judged
    // them dead before its key arrived would answer for every address at once, beside their owners.
    const listenedMs = listenedForMs(peer.listeningSinceMs, heardUpTo, nowMs) ?? 0;
    if (listenedMs < timings.udpDeadlineMs && inGrace) return { alive: true, via: 'not yet heard' };
    return { alive: false, reason: 'no heartbeat: no UDP heard and no fresh Lease' };
  }
  // UDP worked and went silent: dead, unless the API shows it renewing since (a partition, not a crash).
  if (leaseFresh && leaseSeenMs > lastHeardMs + timings.udpDeadlineMs) return { alive: true, via: 'lease' };
  return { alive: false, reason: `no UDP heartbeat for ${heardUpTo - lastHeardMs} ms` };
}

/** When a peer's Lease renewal was seen, on our clock. */
export interface LeaseRenewalSeen {
  readonly renewTime: string;
  readonly seenMs: number;
}

/** Dates a peer's Lease renewal on our clock. A renewal we watch happen is dated when we see it (the
 *  peer's clock is not ours). A Lease we find already there (our own start) is dated by its renewTime,
 *  never later than now: dated "now", the Lease of a peer crash-looping for a minute looked fresh for a
 *  whole duration, so a restarted speaker deferred to that dead peer for 10 s while the live peers, who
 *  heard the restarted one, handed it the address: nobody answered. A peer whose clock is behind ours
 *  by more than a duration looks stale at our start until its next renewal, which costs nothing while
 *  its UDP heartbeats are heard. */
export function leaseRenewalSeen(previous: LeaseRenewalSeen | undefined, renewTime: string, nowMs: number): LeaseRenewalSeen {
  if (previous?.renewTime === renewTime) return previous;
  if (previous !== undefined) return { renewTime, seenMs: nowMs };
  const renewedMs = Date.parse(renewTime);
  return { renewTime, seenMs: Number.isNaN(renewedMs) ? nowMs : Math.min(nowMs, renewedMs) };
}
