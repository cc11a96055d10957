import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { EventRecorder } from './events.js';
import type { KubeClient } from './kube-client.js';
import type { Logger } from './log.js';
import { Services, type KubeObject } from './resources.js';

/** A client whose Event creates stay pending until the test settles them. */
function pendingClient() {
  const creates: Array<{ body: { metadata: { name: string }; note: string }; settle: (ok: boolean) => void }> = [];
  const patches: unknown[] = [];
  const client = {
    create: (_type: unknown, body: { metadata: { name: string }; note: string }) =>
      new Promise((resolve, reject) => creates.push({ body, settle: (ok) => (ok ? resolve(body) : reject(new Error('500 Internal Server Error'))) })),
    patch: async (...args: unknown[]) => { patches.push(args); return {}; },
  } as unknown as Pick<KubeClient, 'create' | 'patch'>;
  return { client, creates, patches };
}

function recordingLogger() {
  const warnings: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug: () => undefined, info: () => undefined, error: () => undefined,
    warn: (message: string, fields: Record<string, unknown> = {}) => void warnings.push({ message, fields }),
    child: () => logger,
  } as unknown as Logger;
  return { logger, warnings };
}

const service = (i: number): KubeObject => ({ metadata: { name: `svc-${i}`, namespace: 'web', uid: `u-${i}` } });
const assigned = (i: number) => ({ type: 'Normal' as const, reason: 'nodeAssigned', action: 'Announce', note: `announcing svc-${i}` });

describe('EventRecorder: a bounded queue of creates', () => {
  it('writes at most `inFlight` creates at once, the next as each one ends, in order', async () => {
    const { client, creates } = pendingClient();
    const recorder = new EventRecorder(client, 'metallb.io/speaker', 'node-1', recordingLogger().logger, 60_000, { inFlight: 2, queued: 10 });
    for (let i = 0; i < 5; i++) recorder.record(Services, service(i), assigned(i));
    assert.equal(creates.length, 2, 'more creates on the wire than the limit');
    creates[0]!.settle(true);
    creates[1]!.settle(false); // a failed create frees its slot too
    await turn();
    await turn();
    assert.deepEqual(creates.map((c) => c.body.note), ['announcing svc-0', 'announcing svc-1', 'announcing svc-2', 'announcing svc-3']);
  });

  it('drops Events past the queue, counts them and warns once, then takes Events again once it drains', async () => {
    const { client, creates } = pendingClient();
    const { logger, warnings } = recordingLogger();
    const recorder = new EventRecorder(client, 'metallb.io/speaker', 'node-1', logger, 60_000, { inFlight: 1, queued: 3 });
    for (let i = 0; i < 10; i++) recorder.record(Services, service(i), assigned(i));
    assert.equal(recorder.dropped, 6, '1 on the wire and 3 waiting; the other 6 dropped');
    assert.equal(warnings.filter((w) => w.message.startsWith('events dropped')).length, 1, 'a warning per dropped Event');
    for (let written = 0; written < 4; written++) {
      creates[written]!.settle(true);
      await turn();
      await turn();
    }
    assert.equal(creates.length, 4);
    recorder.record(Services, service(99), assigned(99));
    assert.equal(creates.length, 5, 'a drained queue refused a new Event');
    assert.equal(creates[4]!.body.note, 'announcing svc-99');
  });

  it('aggregates a repeat of an Event waiting in the queue into its series instead of queueing it again', async () => {
    const { client, creates, patches } = pendingClient();
    const recorder = new EventRecorder(client, 'metallb.io/speaker', 'node-1', recordingLogger().logger, 1, { inFlight: 1, queued: 10 });
    recorder.record(Services, service(0), assigned(0));
    recorder.record(Services, service(1), assigned(1));
    recorder.record(Services, service(1), assigned(1));
    assert.equal(creates.length, 1);
    creates[0]!.settle(true);
    await turn();
    await turn();
    assert.equal(creates.length, 2, 'the repeat was queued as a second create');
    creates[1]!.settle(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(patches.length, 1, 'the repeat was not written as the series count');
  });
});
