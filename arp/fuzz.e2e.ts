// 100,000 random and mutated frames injected into a live responder on a veth: it keeps running, counts
// what it drops, and what comes back on the wire is exactly the answers an independent check expects,
// so nothing malformed was answered. The pure million-frame fuzz is fuzz.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ArpTestbed, JsonLineProcess } from '../testkit/netns.js';
import { arpingReplies, createArpTestbed, inNamespace, run } from '../testkit/netns.js';

const FRAMES = 100_000;
/** Frames a second: enough to finish in about five seconds on a shared two-core machine. */
const RATE = 20_000;

// Both paths: the addon's threads (default; ARP and NDP) and the JavaScript decision alone must each
// agree with the independent check, frame for frame.
for (const [mode, extraArgs] of [['native fast path, ARP and NDP', []], ['JS decisions only', ['--js-only']]] as const) describe(`a live responder under fuzzed traffic (${mode})`, { timeout: 120_000 }, () => {
  let bed: ArpTestbed;
  let responder: JsonLineProcess;
  let agent: JsonLineProcess;

  before(async () => {
    bed = await createArpTestbed('fuzz', { quietClient: true });
    // No gratuitous burst: every frame from the responder during the run is an answer to a fuzzed frame.
    responder = await bed.startResponder(['--iface', 'eth0', '--announce', '192.168.77.100', '--announce', 'fd00:77::100', '--schedule', '', ...extraArgs]);
    agent = await bed.startAgent('eth0');
  });
  after(async () => {
    await bed?.destroy();
  });

  it(`${FRAMES.toLocaleString('en')} frames: no crash, replies exactly to the valid requests among them`, async () => {
    const { result } = await agent.request({
      op: 'fuzz', count: FRAMES, seed: 0x5eed, rate: RATE, responderMac: bed.nodeMac.eth0,
      announced: '192.168.77.100', announced6: 'fd00:77::100', clientIp: '192.168.77.2', clientIp6: 'fd00:77::2',
    }, 110_000) as { result: Record<string, number> };
    console.log(JSON.stringify(result));
    assert.equal(result.sendErrors, 0);
    assert.ok(responder.running, 'the responder survived');
    assert.equal(result.arpReplies, result.expectedArp, 'ARP replies = valid ARP requests sent');
    assert.equal(result.advertisements, result.expectedNdp, 'advertisements = valid solicitations sent');
    assert.equal(result.otherFromResponder, 0, 'nothing else came from the responder');
    assert.ok((result.expectedArp ?? 0) > 1000 && (result.expectedNdp ?? 0) > 1000, 'the fuzzer kept enough frames valid to mean something');

    // Which path answered: the native threads all of them with the fast path on, none with --js-only.
    const { stats } = await responder.request({ op: 'stats' }) as { stats: Record<string, { arp: { answered: number; handoffDrops: number }; ndp: { answered: number; handoffDrops: number } }> };
    const eth0 = stats.eth0;
    assert.ok(eth0 !== undefined);
    const native = extraArgs.length === 0;
    assert.equal(eth0.arp.answered, native ? result.expectedArp : 0, 'ARP replies sent by the native thread');
    assert.equal(eth0.ndp.answered, native ? result.expectedNdp : 0, 'NDP replies sent by the native thread');
    assert.equal(eth0.arp.handoffDrops + eth0.ndp.handoffDrops, 0, 'every frame reached JS');

    const { counters } = await responder.request({ op: 'counters' }) as { counters: { l2lb_layer2_malformed_dropped_total: number; malformedByReason: Record<string, number> } };
    console.log(JSON.stringify(counters.malformedByReason));
    // Only frames reaching our sockets are counted: other ethertypes never do, and the BPF filter keeps
    // every IPv6 frame that is not an ICMPv6 solicitation in the kernel. About a third is left.
    assert.ok(counters.l2lb_layer2_malformed_dropped_total > FRAMES / 10, `${counters.l2lb_layer2_malformed_dropped_total} counted as malformed`);
    const replies = arpingReplies((await run(inNamespace(bed.client, ['arping', '-c', '1', '-I', 'eth0', '192.168.77.100']))).stdout);
    assert.deepEqual(replies, [bed.nodeMac.eth0], 'still answering afterwards');
  });
});
