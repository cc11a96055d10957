import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeClient } from '../../operator/kit/kube-client.js';
import { silentLogger } from '../../operator/kit/log.js';
import { INTERFACES_ANNOTATION, NodeHeartbeat, peerInterfaces, publishedInterfacesChanged, type HeartbeatLease } from './node-heartbeat.js';

/** A client whose Lease writes stay in flight until the test lets each one land. */
class HeldWrites {
  readonly sent: string[] = [];
  private readonly pending: Array<() => void> = [];
  readonly client = {
    apply: (_type: unknown, lease: HeartbeatLease) => {
      this.sent.push(lease.metadata.annotations?.[INTERFACES_ANNOTATION] ?? '');
      return new Promise<void>((resolve) => this.pending.push(resolve));
    },
    delete: () => Promise.resolve(),
  } as unknown as KubeClient;

  inFlight(): number {
    return this.pending.length;
  }

  land(): void {
    this.pending.shift()?.();
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('NodeHeartbeat', () => {
  it('writes one renewal at a time, each with the interfaces of when it is sent; changes in flight coalesce', async () => {
    const writes = new HeldWrites();
    const heartbeat = new NodeHeartbeat(writes.client, 'metallb-system', 'node-a', silentLogger);
    heartbeat.setInterfaces(['eth0', 'eth1']);
    heartbeat.start();
    await settle();
    assert.deepEqual(writes.sent, ['eth0,eth1']);

    // The link goes down while the renewal is in flight: nothing overtakes it...
    heartbeat.setInterfaces(['eth1']);
    heartbeat.setInterfaces([]);
    await settle();
    assert.equal(writes.inFlight(), 1, 'no second write while one is in flight');
    // ...and once it lands, one write carries the latest interfaces.
    writes.land();
    await settle();
    assert.deepEqual(writes.sent, ['eth0,eth1', '']);
    writes.land();
    await settle();
    assert.equal(writes.inFlight(), 0);

    const stopped = heartbeat.stop();
    writes.land();
    await stopped;
  });
});

describe('publishedInterfacesChanged', () => {
  const lease = (interfaces: string | undefined, renewTime: string) =>
    ({ metadata: { ...(interfaces === undefined ? {} : { annotations: { [INTERFACES_ANNOTATION]: interfaces } }) }, spec: { renewTime } });
  const cases: ReadonlyArray<[string, ReturnType<typeof lease>, ReturnType<typeof lease>, boolean]> = [
    ['a renewal alone: no', lease('eth0,eth1', 't1'), lease('eth0,eth1', 't2'), false],
    ['an interface lost: yes', lease('eth0,eth1', 't1'), lease('eth0', 't2'), true],
    ['falling silent (none published): yes', lease('eth0', 't1'), lease('', 't2'), true],
    ['the annotation first written: yes', lease(undefined, 't1'), lease('eth0', 't2'), true],
  ];
  for (const [name, before, after, expected] of cases) it(name, () => assert.equal(publishedInterfacesChanged(before, after), expected));
});

describe('peerInterfaces', () => {
  const ours = ['eth0', 'eth1'];
  const cases: ReadonlyArray<[string, string | undefined, readonly string[]]> = [
    ['published: its own list, whatever ours', 'eth1,eth2', ['eth1', 'eth2']],
    ['published empty (it cannot answer): none', '', []],
    ['no Lease yet (a fresh install, every speaker starting): taken to have ours', undefined, ours],
  ];
  for (const [name, published, expected] of cases) it(name, () => assert.deepEqual(peerInterfaces(published, ours), expected));
});
