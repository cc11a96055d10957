// The speaker's DaemonSet grants CAP_NET_RAW and nothing else (issue 10.4). The responder must work so:
// packet sockets, the solicited-node groups, the native threads, the link watch; SO_RCVBUFFORCE is
// refused without CAP_NET_ADMIN, so it falls back to SO_RCVBUF and says which buffer it got.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ArpTestbed, JsonLineProcess } from '../testkit/netns.js';
import { createArpTestbed, mustRun } from '../testkit/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const CAP_NET_RAW = 1n << 13n;
/** Everything dropped but CAP_NET_RAW, and not root either: nobody, as a hardened pod would run. */
const ONLY_NET_RAW = [
  'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
  '--inh-caps=-all,+net_raw', '--ambient-caps=-all,+net_raw', '--bounding-set=-all,+net_raw', '--',
];

describe('a responder with only CAP_NET_RAW', { timeout: 120_000 }, () => {
  let bed: ArpTestbed;
  let responder: JsonLineProcess;
  let pid: number;

  before(async () => {
    bed = await createArpTestbed('caps');
    responder = await bed.startResponder(['--iface', 'eth0', '--announce', '192.168.77.140', '--announce', 'fd00:77::140'], ONLY_NET_RAW);
    pid = Number((await responder.request({ op: 'pid' }).catch(() => ({ pid: 0 }))).pid);
  });
  after(async () => {
    await bed?.destroy();
  });

  it('runs with exactly CAP_NET_RAW effective, as uid 65534', () => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const capabilities = (name: string): bigint => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
    assert.equal(capabilities('CapEff'), CAP_NET_RAW);
    assert.equal(capabilities('CapBnd'), CAP_NET_RAW);
    assert.match(status, /^Uid:\s+65534\s/m);
  });

  it('answers ARP and NDP (native threads, solicited-node group joined)', async () => {
    for (const [source, target] of [['192.168.77.2', '192.168.77.140'], ['fd00:77::2', 'fd00:77::140']] as const) {
      const result = await bed.probe(['latency', 'eth0', source, target, '-n', '5']) as { targets: Record<string, { lost: number; samples: number[] }> };
      assert.equal(result.targets[target]?.samples.length, 5, `${target}: ${JSON.stringify(result)}`);
    }
    const { stats } = await responder.request({ op: 'stats' }) as { stats: Record<string, { arp: { answered: number }; ndp: { answered: number } }> };
    assert.ok((stats.eth0?.arp.answered ?? 0) >= 5 && (stats.eth0?.ndp.answered ?? 0) >= 5, JSON.stringify(stats));
  });

  it('falls back to SO_RCVBUF and reports the buffer it got', async () => {
    const { responders } = await responder.request({ op: 'responders' }) as { responders: { interface: string; receiveBuffer: number; receiveBufferForced: boolean }[] };
    const eth0 = responders.find((entry) => entry.interface === 'eth0');
    assert.equal(eth0?.receiveBufferForced, false, 'SO_RCVBUFFORCE needs CAP_NET_ADMIN');
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // The kernel doubles what it grants (for its bookkeeping) and caps the request at rmem_max.
    assert.equal(eth0?.receiveBuffer, 2 * Math.min(2 * 1024 * 1024, rmemMax));
    assert.match(responder.stderr.join('\n'), /"msg":"receive buffer","interface":"eth0","receiveBuffer":\d+,"forced":false/);
    console.log(`receive buffer with CAP_NET_RAW only: ${eth0?.receiveBuffer} bytes (rmem_max ${rmemMax})`);
  });

  it('still repairs itself after a link flap (the link watch needs no capability)', async () => {
    await mustRun(['ip', '-n', bed.node, 'link', 'set', 'eth0', 'down']);
    await sleep(100);
    await mustRun(['ip', '-n', bed.node, 'link', 'set', 'eth0', 'up']);
    await sleep(150);
    const result = await bed.probe(['latency', 'eth0', '192.168.77.2', '192.168.77.140', '-n', '3']) as { targets: Record<string, { samples: number[] }> };
    assert.equal(result.targets['192.168.77.140']?.samples.length, 3);
    assert.match(responder.stderr.join('\n'), /"msg":"link event"/);
  });
});
