// Failover, measured as a client lives it: lab-client asks the address every few ms over HTTP; we stop
// the owner (SIGKILL of its announcer, SIGTERM, or cordon) and time how long until a request is
// answered by another node. Shared by the e2e tests (which bound it) and `make bench` (which reports it).

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubectl } from './kubectl.js';
import { labPaths } from './lab.js';
import { ensureAnnouncers } from './operator.js';
import { readPid, runningPid, waitFor } from './processes.js';
import { arpOwners, type Prober } from './wire.js';

export type FailoverKind = 'SIGKILL' | 'SIGTERM' | 'cordon';

export interface FailoverTrial {
  readonly kind: FailoverKind;
  readonly from: string;
  readonly to: string;
  /** From the action to the first request answered by the new owner. */
  readonly ms: number;
  /** Requests that failed in between. */
  readonly lost: number;
  /** Each of them: ms after the action, and the error (a timeout, or a reset of a connection opened to
   *  one MAC and continued to the other). */
  readonly lostRequests: readonly string[];
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

export async function failoverTrial(kind: FailoverKind, ip: string, owner: string, prober: Prober): Promise<FailoverTrial> {
  const paths = labPaths();
  const pidFile = join(paths.run, `announcer-${owner}.pid`);
  await waitFor(`${owner}'s traffic`, () => prober.samples.at(-1)?.node === owner, 10_000, 20);
  const started = Date.now();
  if (kind === 'cordon') kubectl('cordon', owner);
  else process.kill(readPid(pidFile) ?? 0, kind);
  await waitFor(`a node other than ${owner} to answer ${ip}`, () =>
    prober.since(started).some((s) => s.node !== undefined && s.node !== owner), 10_000, 10);
  const window = prober.since(started);
  const first = window.find((s) => s.node !== undefined && s.node !== owner)!;
  const failed = window.filter((s) => s.t <= first.t && s.error !== undefined);
  // Give the owner back, and let it settle before the next trial.
  if (kind === 'cordon') kubectl('uncordon', owner);
  else {
    await waitFor(`${owner}'s announcer to exit`, () => runningPid(pidFile) === undefined, 10_000, 20);
    ensureAnnouncers(paths, [owner]);
  }
  await waitForSingleOwner(ip, owner);
  await waitFor(`${owner} to serve again`, () => prober.samples.at(-1)?.node === owner, 10_000, 20);
  await sleep(SETTLE_MS);
  return { kind, from: owner, to: first.node!, ms: first.t - started, lost: failed.length, lostRequests: failed.map((s) => `+${s.t - started} ms: ${s.error}`) };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
