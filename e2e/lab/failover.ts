// Failover, measured as a client lives it: lab-client asks the address every few ms over HTTP; we stop
// the owner (SIGKILL of its announcer, SIGTERM, or cordon) and time how long until a request is
// answered by another node. Shared by the e2e tests (which bound it) and `make bench` (which reports it).

import { setTimeout as sleep } from 'node:timers/promises';
import { kubectl } from './kubectl.js';
import { recordsAbout, speakerBack, speakerLog, speakerPid } from './programs.js';
import { waitFor } from './processes.js';
import type { L2Watch, WatchRound } from './census.js';
import { arpOwners, type Prober, type ProbeSample } from './wire.js';

export type FailoverKind = 'SIGKILL' | 'SIGTERM' | 'cordon';

export interface FailoverTrial {
  readonly kind: FailoverKind;
  readonly from: string;
  readonly to: string;
  /** From the action to the first request answered by the new owner. */
  readonly ms: number;
  /** Requests that failed in between, but for a reset at the switch (below). */
  readonly lost: number;
  /** Each of them: ms after the action, and the error. */
  readonly lostRequests: readonly string[];
  /** The request in flight when the client's neighbour entry moved to the new MAC, reset: its connection
   *  was opened to the old owner and continued to the new one, whose kernel knows nothing of it. */
  readonly resetAtSwitch: number;
  /** With a watch: requests answered by a node that was not answering ARP/NDP for the address then
   *  (lostRequests()), from the action until the handover is over (HANDOVER_OVER_MS after the move).
   *  The lab's kube-proxy emulation serves every address on every node, so these were answered here;
   *  a kube-proxy that serves only from the announcing node would have lost them. */
  readonly servedUnannounced?: readonly string[];
}

/** After the move: the old owner's handover linger (HANDOVER_LINGER_MS, 500 ms) and a margin. */
const HANDOVER_OVER_MS = 1500;

/** Splits the requests that failed before the new owner's first answer: a reset of the last one sent
 *  before it is the connection that straddled the MAC switch, which no Layer 2 handover can carry (the
 *  new owner never saw its handshake); anything else (a timeout, a refusal, an earlier reset) is lost. */
export function failedRequests(window: readonly ProbeSample[], first: ProbeSample): { lost: ProbeSample[]; resetAtSwitch: ProbeSample[] } {
  const before = window.filter((s) => s.t < first.t);
  const last = before.at(-1);
  const failed = before.filter((s) => s.error !== undefined);
  const straddled = (s: ProbeSample): boolean => s === last && /ECONNRESET|EPIPE|socket hang up/.test(s.error ?? '');
  return { lost: failed.filter((s) => !straddled(s)), resetAtSwitch: failed.filter(straddled) };
}

/** The time after an ownership change for gratuitous bursts to end and client caches to settle; the
 *  announcer's schedule ends at 2 s, and Linux ignores a new MAC within 1 s (locktime) of an update. */
const SETTLE_MS = 2500;

export async function waitForSingleOwner(ip: string, owner: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${ip} to be answered by ${owner} alone`, () => {
    const owners = arpOwners(ip);
    return owners.length === 1 && owners[0] === owner;
  }, timeoutMs, 100);
}

export async function failoverTrial(kind: FailoverKind, ip: string, owner: string, prober: Prober, watch?: L2Watch): Promise<FailoverTrial> {
  await waitFor(`${owner}'s traffic`, () => prober.samples.at(-1)?.node === owner, 10_000, 20);
  // Found before the clock starts: on the cluster lab finding a container's process takes a few ms.
  const pid = kind === 'cordon' ? undefined : speakerPid(owner);
  if (kind !== 'cordon' && pid === undefined) throw new Error(`no speaker runs on ${owner}`);
  const started = Date.now();
  if (pid === undefined) kubectl('cordon', owner);
  else process.kill(pid, kind);
  await waitFor(`a node other than ${owner} to answer ${ip}`, () =>
    prober.since(started).some((s) => s.node !== undefined && s.node !== owner), 10_000, 10);
  const window = prober.since(started);
  const first = window.find((s) => s.node !== undefined && s.node !== owner)!;
  const { lost, resetAtSwitch } = failedRequests(window, first);
  let servedUnannounced: string[] | undefined;
  if (watch !== undefined) {
    await sleep(Math.max(0, first.t + HANDOVER_OVER_MS - Date.now()));
    const ended = Date.now();
    const rounds = watch.since(started - 100);
    servedUnannounced = lostRequests(prober.since(started).filter((s) => s.t <= ended), rounds, ip)
      .filter((s) => s.node !== undefined)
      .map((s) => `+${s.t - started} ms by ${s.node} (${aroundRequest(s, rounds, ip, started, speakerLog(s.node!))})`);
  }
  // Give the owner back, and let it settle before the next trial.
  if (pid === undefined) kubectl('uncordon', owner);
  else await speakerBack(owner, pid);
  await waitForSingleOwner(ip, owner);
  await waitFor(`${owner} to serve again`, () => prober.samples.at(-1)?.node === owner, 10_000, 20);
  await sleep(SETTLE_MS);
  return { kind, from: owner, to: first.node!, ms: first.t - started, lost: lost.length,
    lostRequests: lost.map((s) => `+${s.t - started} ms: ${s.error}`), resetAtSwitch: resetAtSwitch.length,
    ...(servedUnannounced === undefined ? {} : { servedUnannounced }) };
}

/** What the record holds around a request judged served unannounced, so that a failure can be told
 *  apart: the watch's rounds from 40 ms before it to 80 ms after (the nodes answering each, ms after the
 *  action), and what the answering node's speaker logged about the address during the trial. */
export function aroundRequest(sample: ProbeSample, rounds: readonly WatchRound[], ip: string, started: number, log: string): string {
  const near = rounds.filter((round) => round.t >= sample.t - 40 && round.t <= sample.t + 80)
    .map((round) => `+${round.t - started} [${(round.answers.get(ip) ?? []).join(' ')}]`);
  const said = recordsAbout(log, ip).filter((record) => record.t >= started - 1000 && record.t <= sample.t + 2000)
    .map((record) => `+${record.t - started} ${record.msg}`);
  return `rounds ${near.join(', ')}; ${sample.node} logged ${said.length === 0 ? 'nothing about it' : said.join(', ')}`;
}

/** A node that answers ARP/NDP this soon after a request was announcing when it came: its reply
 *  thread may wait that long for a CPU on a loaded machine (the reply then lands in a later round), but a
 *  node that withdrew stays silent far longer (until it owns the address again, seconds later). */
export const LATE_ANSWER_MS = 100;

/** The requests a failover lost. The lab's kube-proxy emulation holds every address on every node (as
 *  IPVS mode does), so a request the client's stale neighbour entry sends to a node that no longer
 *  announces the address is still answered there; judged by the rule "a node serves an address only
 *  while it announces it", such a request is lost, as is one that failed. A node announces at a
 *  request's time when the prober's round before it, the one after (the prober's resolution), or any
 *  round up to LATE_ANSWER_MS after it saw that node answer. */
export function lostRequests(samples: readonly ProbeSample[], rounds: readonly WatchRound[], ip: string): ProbeSample[] {
  let next = 0;
  return samples.filter((sample) => {
    if (sample.node === undefined) return true;
    while (next < rounds.length && rounds[next]!.t <= sample.t) next++;
    const announces = (round: WatchRound | undefined): boolean => round?.answers.get(ip)?.includes(sample.node!) === true;
    if (announces(rounds[next - 1]) || announces(rounds[next])) return false;
    for (let i = next + 1; i < rounds.length && rounds[i]!.t <= sample.t + LATE_ANSWER_MS; i++) if (announces(rounds[i])) return false;
    return true;
  });
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
