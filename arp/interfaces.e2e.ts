// Interfaces that appear, disappear or become unusable are picked up by the periodic rescan.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INTERFACE_RESCAN_MS } from './announcer.js';
import type { ArpTestbed, JsonLineProcess } from '../testkit/netns.js';
import { arpingReplies, createArpTestbed, inNamespace, mustRun, run } from '../testkit/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const RESCANNED = INTERFACE_RESCAN_MS + 700;

describe('interface discovery on a live responder', { timeout: 120_000 }, () => {
  let bed: ArpTestbed;
  let responder: JsonLineProcess;
  const status = async (): Promise<Record<string, string>> =>
    ((await responder.request({ op: 'status' })) as { status: Record<string, Record<string, string>> }).status['192.168.77.120'] ?? {};

  before(async () => {
    bed = await createArpTestbed('ifaces');
    // No --iface: the address goes on every usable interface, as an L2Advertisement without `interfaces`.
    responder = await bed.startResponder(['--announce', '192.168.77.120', '--schedule', '']);
  });
  after(async () => {
    await bed?.destroy();
  });

  it('announces on every usable interface, and says why not on the others', async () => {
    assert.deepEqual(await status(), { eth0: 'announcing', eth1: 'announcing' });
  });

  it('an interface that appears starts answering within one rescan period', async () => {
    await mustRun(['ip', '-n', bed.node, 'link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth2', 'netns', bed.client]);
    await mustRun(['ip', '-n', bed.node, 'link', 'set', 'eth2', 'addrgenmode', 'none']);
    await mustRun(['ip', '-n', bed.node, 'link', 'set', 'eth2', 'up']);
    await mustRun(['ip', '-n', bed.client, 'link', 'set', 'eth2', 'up']);
    await mustRun(['ip', '-n', bed.client, 'addr', 'add', '192.168.79.2/24', 'dev', 'eth2']);
    await sleep(RESCANNED);
    assert.equal((await status()).eth2, 'announcing');
    const mac = (await mustRun(inNamespace(bed.node, ['cat', '/sys/class/net/eth2/address']))).trim();
    const replies = arpingReplies((await run(inNamespace(bed.client, ['arping', '-c', '1', '-I', 'eth2', '-s', '192.168.79.2', '192.168.77.120']))).stdout);
    assert.deepEqual(replies, [mac]);
  });

  it('an interface enslaved to a bridge stops answering, with the reason', async () => {
    await mustRun(['ip', '-n', bed.node, 'link', 'add', 'br0', 'type', 'bridge']);
    await mustRun(['ip', '-n', bed.node, 'link', 'set', 'eth1', 'master', 'br0']);
    await sleep(RESCANNED);
    assert.equal((await status()).eth1, undefined, 'not announced on eth1 any more');
    const replies = arpingReplies((await run(inNamespace(bed.client, ['arping', '-c', '1', '-I', 'eth1', '-s', '192.168.78.2', '192.168.77.120']))).stdout);
    assert.deepEqual(replies, []);
  });

  it('an interface that disappears is dropped; an administratively down one too', async () => {
    await mustRun(['ip', '-n', bed.node, 'link', 'del', 'eth2']);
    await mustRun(['ip', '-n', bed.node, 'link', 'set', 'eth0', 'down']);
    await sleep(RESCANNED);
    assert.deepEqual(await status(), { '*': 'no usable interface on this node' });
    assert.ok(responder.running);
    const log = responder.stderr.join('\n');
    assert.match(log, /"msg":"responder stopped","interface":"eth2"/);
    assert.match(log, /"msg":"responder stopped","interface":"eth0"/);
  });
});
