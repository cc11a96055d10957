import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, type CallOptions } from './kube-client.js';
import { LeaderElector, type LeaderElectionConfig, type LeaseClient } from './leader.js';
import { silentLogger } from './log.js';
import type { KubeObject, ResourceType } from './resources.js';

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number };
}

/** One Lease with optimistic concurrency, shared by the candidates' fake clients. */
class LeaseServer {
  lease: Lease | undefined;
  private rv = 1;
  readonly writes: Array<{ by: string; at: number; holder: string }> = [];

  store(object: Lease, by: string, at: number): Lease {
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.rv) } };
    this.lease = stored;
    this.writes.push({ by, at, holder: stored.spec?.holderIdentity ?? '' });
    return stored;
  }
}

/** A candidate's view of the API: it can hang (a partition, a stuck connection) or fail. */
class FakeLeaseClient implements LeaseClient {
  hang = false;
  /** Answers GETs this late, ignoring aborts (a read whose answer was already on its way). */
  slowGetMs = 0;
  failWith: ApiError | undefined;
  aborted = 0;
  unbounded = 0;

  constructor(private readonly server: LeaseServer, private readonly who: string, private readonly clock: () => number) {}

  get<T>(_type: ResourceType, _namespace: string | undefined, _name: string, options: CallOptions = {}): Promise<T> {
    if (this.slowGetMs > 0) {
      const lease = structuredClone(this.server.lease) as unknown as T;
      return new Promise<T>((resolve) => setTimeout(() => resolve(lease), this.slowGetMs));
    }
    return this.answer(options, () => {
      if (this.server.lease === undefined) throw new ApiError(404, 'NotFound', 'no lease');
      return structuredClone(this.server.lease) as unknown as T;
    });
  }

  create<T extends KubeObject>(_type: ResourceType, object: T, options: CallOptions = {}): Promise<T> {
    return this.answer(options, () => {
      if (this.server.lease !== undefined) throw new ApiError(409, 'AlreadyExists', 'exists');
      return this.server.store(object as Lease, this.who, this.clock()) as unknown as T;
    });
  }

  update<T extends KubeObject>(_type: ResourceType, object: T, options: CallOptions = {}): Promise<T> {
    return this.answer(options, () => {
      if (object.metadata.resourceVersion !== this.server.lease?.metadata.resourceVersion) throw new ApiError(409, 'Conflict', 'stale');
      return this.server.store(object as Lease, this.who, this.clock()) as unknown as T;
    });
  }

  private answer<T>(options: CallOptions, respond: () => T): Promise<T> {
    if (options.signal === undefined && options.timeoutMs === undefined) this.unbounded++;
    if (this.hang) {
      return new Promise<T>((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => {
          this.aborted++;
          reject(new Error('aborted'));
        }, { once: true });
      });
    }
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    try {
      return Promise.resolve(respond());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

let clock = 0;
const now = (): number => clock;

beforeEach(() => {
  clock = 0;
  mock.timers.enable({ apis: ['setTimeout'] });
});
afterEach(() => mock.timers.reset());

/** Lets promise chains and I/O-free callbacks settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Moves our clock and the mocked timers forward together, in small steps so timers fire in order. */
async function advance(ms: number, step = 100): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    const by = Math.min(step, ms - done);
    clock += by;
    mock.timers.tick(by);
    await settle();
  }
}

interface Candidate {
  readonly elector: LeaderElector;
  readonly client: FakeLeaseClient;
  readonly events: Array<{ what: 'started' | 'stopped'; at: number }>;
  readonly lostSignals: AbortSignal[];
}

function candidate(server: LeaseServer, identity: string, overrides: Partial<LeaderElectionConfig> = {}): Candidate {
  const client = new FakeLeaseClient(server, identity, now);
  const events: Candidate['events'] = [];
  const lostSignals: AbortSignal[] = [];
  const elector = new LeaderElector(client, { namespace: 'metallb-system', name: 'l2lb-controller', identity, ...timings, ...overrides }, {
    onStartedLeading: (lost) => { events.push({ what: 'started', at: clock }); lostSignals.push(lost); },
    onStoppedLeading: () => events.push({ what: 'stopped', at: clock }),
  }, silentLogger, { now });
  return { elector, client, events, lostSignals };
}

describe('LeaderElector: fenced leadership', () => {
  it('acquires a free lease and renews it every retryPeriod, each attempt bounded', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    assert.equal(a.elector.isLeader(), true);
    await advance(10_000);
    assert.equal(server.writes.length, 6, 'the create, then a renewal every 2 s');
    assert.equal(a.elector.isLeader(), true);
    assert.equal(a.client.unbounded, 0, 'no request without a deadline');
    await a.elector.stop();
    assert.equal(server.lease?.spec?.holderIdentity, '', 'released on stop');
  });

  it('a renewal that hangs is aborted, and the leader stops leading at renewDeadline, before the lease can expire', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    await advance(4_000); // renewed at 2 s and 4 s
    const lastRenewAt = server.writes.at(-1)?.at ?? NaN;
    assert.equal(lastRenewAt, 4_000);
    a.client.hang = true;
    await advance(9_900);
    assert.equal(a.elector.isLeader(), true, 'still inside renewDeadline of the last renewal');
    assert.deepEqual(a.events.map((e) => e.what), ['started']);
    await advance(200);
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped']);
    const stoppedAt = a.events[1]?.at ?? NaN;
    assert.ok(stoppedAt <= lastRenewAt + timings.renewDeadlineMs + 100, `stopped at ${stoppedAt}`);
    assert.ok(stoppedAt < lastRenewAt + timings.leaseDurationMs, 'before anyone else could acquire');
    assert.equal(a.lostSignals[0]?.aborted, true, 'the term signal aborted');
    assert.ok(a.client.aborted >= 1, 'the hanging request was aborted, not waited out');
    assert.equal(a.elector.stats.fenced, 1);
    await a.elector.stop();
  });

  it('writeFence refuses writes as soon as renewDeadline passes, even before any timer runs (a frozen process waking up)', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    assert.equal(a.elector.writeFence(), undefined);
    clock += timings.renewDeadlineMs - 1; // time passes while the process is stopped: no timer has fired
    assert.equal(a.elector.writeFence(), undefined);
    clock += 1;
    assert.match(a.elector.writeFence() ?? '', /renewDeadline passed/);
    assert.equal(a.elector.isLeader(), false);
    a.client.hang = true; // still cut off when it wakes
    mock.timers.tick(timings.renewDeadlineMs); // the process runs again: its overdue timers fire
    await settle();
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped']);
    assert.equal(server.writes.length, 1, 'only the create: no renewal went out after the fence');
    await a.elector.stop();
  });

  it('failing renewals are retried every retryPeriod until the fence, and one success in time keeps the lead', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    a.client.failWith = new ApiError(500, 'InternalError', 'etcd timeout');
    await advance(8_000);
    assert.equal(a.elector.stats.failedRenewals, 4);
    assert.equal(a.elector.isLeader(), true);
    a.client.failWith = undefined;
    await advance(2_000); // the renewal due at 10 s is exactly at the fence: too late, the term ends
    assert.equal(a.elector.stats.fenced, 1);
    // Nobody else took the lease, so the candidate it became wins it back with a fresh term.
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped', 'started']);
    const b = candidate(new LeaseServer(), 'b');
    b.elector.start();
    await settle();
    b.client.failWith = new ApiError(500, 'InternalError', 'etcd timeout');
    await advance(6_000);
    b.client.failWith = undefined;
    await advance(2_000); // renewed at 8 s, inside the deadline
    assert.equal(b.elector.isLeader(), true);
    await advance(9_000);
    assert.equal(b.elector.isLeader(), true, 'the fence moved with the successful renewal');
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('a cut-off leader stops before the standby acquires, writes nothing after, and rejoins as a candidate', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    const b = candidate(server, 'b');
    a.elector.start();
    await settle();
    b.elector.start();
    await settle();
    await advance(3_000);
    assert.equal(server.lease?.spec?.holderIdentity, 'a');
    a.client.hang = true; // partitioned from the API server
    await advance(20_000);
    const aStopped = a.events.find((e) => e.what === 'stopped')?.at ?? NaN;
    const bStarted = b.events.find((e) => e.what === 'started')?.at ?? NaN;
    assert.ok(aStopped < bStarted, `a stopped at ${aStopped}, b started at ${bStarted}`);
    assert.equal(server.lease?.spec?.holderIdentity, 'b');
    a.client.hang = false; // the partition heals
    await advance(10_000);
    assert.equal(server.writes.filter((w) => w.by === 'a' && w.at >= bStarted).length, 0, 'a made no write after b acquired');
    assert.equal(a.elector.isLeader(), false);
    assert.equal(b.elector.isLeader(), true);
    // b goes away without releasing: a, still campaigning, takes over after the lease expires.
    b.client.hang = true;
    await advance(30_000);
    assert.equal(a.elector.stats.terms, 2, 'a rejoined as a candidate and led again');
    assert.equal(server.lease?.spec?.holderIdentity, 'a');
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('a read answered after the attempt deadline is not followed by a write', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    a.client.slowGetMs = 11_000; // the renewal's GET at 2 s answers at 13 s, past the fence at 10 s
    await advance(14_000);
    assert.equal(server.writes.filter((w) => w.by === 'a' && w.at >= timings.renewDeadlineMs).length, 0);
    assert.deepEqual(a.events.slice(0, 2).map((e) => e.what), ['started', 'stopped']);
    a.client.slowGetMs = 0;
    await advance(12_000); // let the slow reads still on their way arrive
    await a.elector.stop();
  });

  it('a leader that sees another holder stops at once', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    const lease = server.lease!;
    server.store({ ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } }, 'intruder', clock);
    await advance(2_000);
    assert.deepEqual(a.events.map((e) => e.what), ['started', 'stopped']);
    assert.equal(a.events[1]?.at, 2_000);
    await a.elector.stop();
  });

  it('stop() after a renewal that landed unseen (aborted on our side, written on the server) still releases the lease', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    // Our own write, with a resourceVersion we never saw: what an aborted renewal leaves behind.
    server.store(structuredClone(server.lease!), 'a', clock);
    await a.elector.stop();
    assert.equal(server.lease?.spec?.holderIdentity, '', 'released with the resourceVersion read again');
  });

  it('stop() never releases a lease someone else holds by the time it reads it again', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    server.store({ ...server.lease!, spec: { ...server.lease!.spec, holderIdentity: 'b' } }, 'b', clock);
    await a.elector.stop();
    assert.equal(server.lease?.spec?.holderIdentity, 'b');
  });

  it('stop() during a hanging renewal does not wait for it, and does not release a lease it can no longer vouch for', async () => {
    const server = new LeaseServer();
    const a = candidate(server, 'a');
    a.elector.start();
    await settle();
    a.client.hang = true;
    await advance(11_000);
    const writes = server.writes.length;
    a.client.hang = false;
    await a.elector.stop();
    assert.equal(server.writes.length, writes, 'no release after the fence');
  });
});
