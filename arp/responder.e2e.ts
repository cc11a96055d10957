// The responder on a real wire, asked by real tools from another namespace. The answering namespace
// has no address configured anywhere: every answer seen here is ours.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseIPv6, parseMac } from './addresses.js';
import { GRATUITOUS_SCHEDULE_MS } from './announcer.js';
import { encodeNeighborSolicitation } from './ndp-codec.js';
import type { ArpTestbed, JsonLineProcess } from '../testkit/netns.js';
import { arpingReplies, createArpTestbed, inNamespace, run } from '../testkit/netns.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function must<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.value;
}

describe('ARP and NDP responder in network namespaces', { timeout: 120_000 }, () => {
  let bed: ArpTestbed;
  let responder: JsonLineProcess;

  before(async () => {
    bed = await createArpTestbed('e2e');
    responder = await bed.startResponder(['--iface', 'eth0', '--announce', '192.168.77.100', '--announce', 'fd00:77::100']);
    await sleep(GRATUITOUS_SCHEDULE_MS.at(-1) ?? 0); // let the start-up burst pass so captures see only answers
  });
  after(async () => {
    await bed?.destroy();
  });

  const arping = async (target: string, count: number, iface = 'eth0', extra: string[] = []): Promise<string[]> => {
    const result = await run(inNamespace(bed.client, ['arping', '-c', String(count), '-I', iface, ...extra, target]));
    return arpingReplies(result.stdout);
  };
  const unicastArpRepliesIn = (lines: string[]): string[] => lines.filter((line) => line.includes('Reply') && !line.includes('ff:ff:ff:ff:ff:ff'));

  it('arping gets exactly one reply per request, from the announcing interface\'s MAC', async () => {
    const capture = await bed.capture('eth0', 'arp');
    const replies = await arping('192.168.77.100', 3);
    const lines = await capture.stop();
    assert.deepEqual(replies, [bed.nodeMac.eth0, bed.nodeMac.eth0, bed.nodeMac.eth0]);
    const onWire = unicastArpRepliesIn(lines);
    assert.equal(onWire.length, 3, lines.join('\n'));
    for (const line of onWire) assert.ok(line.startsWith(`${line.split(' ')[0]} ${bed.nodeMac.eth0} > `), line);
  });

  it('counts the requests and the replies for the address', async () => {
    const { counters } = await responder.request({ op: 'counters' }) as { counters: { metallb_layer2_requests_received: Record<string, number>; metallb_layer2_responses_sent: Record<string, number>; metallb_layer2_gratuitous_sent: Record<string, number> } };
    assert.ok((counters.metallb_layer2_requests_received['192.168.77.100'] ?? 0) >= 3);
    assert.equal(counters.metallb_layer2_responses_sent['192.168.77.100'], counters.metallb_layer2_requests_received['192.168.77.100']);
    assert.equal(counters.metallb_layer2_gratuitous_sent['192.168.77.100'], 2 * GRATUITOUS_SCHEDULE_MS.length);
    assert.equal(counters.metallb_layer2_gratuitous_sent['fd00:77::100'], GRATUITOUS_SCHEDULE_MS.length);
  });

  it('nothing answers for an address never announced', async () => {
    assert.deepEqual(await arping('192.168.77.101', 2), []);
  });

  it('nothing answers on an interface the address is not announced on', async () => {
    const capture = await bed.capture('eth1', 'arp');
    assert.deepEqual(await arping('192.168.77.100', 2, 'eth1', ['-s', '192.168.78.2']), []);
    const lines = await capture.stop();
    assert.equal(lines.filter((line) => line.includes('Request')).length, 2, 'the requests did reach the node on eth1');
    assert.deepEqual(unicastArpRepliesIn(lines), []);
  });

  it('ndisc6 gets an advertisement with the interface\'s MAC for an announced IPv6 address', async () => {
    const result = await run(inNamespace(bed.client, ['ndisc6', '-r', '2', '-w', '500', 'fd00:77::100', 'eth0']));
    assert.match(result.stdout, new RegExp(`Target link-layer address: ${bed.nodeMac.eth0.toUpperCase()}`), result.stdout + result.stderr);
  });

  it('ndisc6 gets nothing for an IPv6 address never announced', async () => {
    const result = await run(inNamespace(bed.client, ['ndisc6', '-r', '1', '-w', '300', 'fd00:77::101', 'eth0']));
    assert.doesNotMatch(result.stdout, /Target link-layer address/);
  });

  it('a solicitation with hop limit 64 gets no advertisement; the same one with 255 does', async () => {
    const agent = await bed.startAgent('eth0');
    const clientMac = must(parseMac((await run(inNamespace(bed.client, ['cat', '/sys/class/net/eth0/address']))).stdout.trim()));
    const solicitation = (hopLimit: number): string => encodeNeighborSolicitation({
      mac: clientMac, source: must(parseIPv6('fd00:77::2')), target: must(parseIPv6('fd00:77::100')), hopLimit,
    }).toString('hex');
    const advertisementsFromNode = (frames: { hex: string }[]): number => frames.filter((frame) =>
      frame.hex.slice(12, 24) === bed.nodeMac.eth0.replace(/:/g, '') && frame.hex.slice(24, 28) === '86dd' && frame.hex.slice(108, 110) === '88').length;
    await agent.request({ op: 'collect' });
    await agent.request({ op: 'send', frames: [solicitation(64), solicitation(64), solicitation(1)] });
    await sleep(300);
    const afterForwarded = await agent.request({ op: 'collect' }) as { frames: { hex: string }[] };
    assert.equal(advertisementsFromNode(afterForwarded.frames), 0);
    await agent.request({ op: 'send', frames: [solicitation(255)] });
    await sleep(300);
    const afterOnLink = await agent.request({ op: 'collect' }) as { frames: { hex: string }[] };
    assert.equal(advertisementsFromNode(afterOnLink.frames), 1);
    await agent.stop();
  });

  it('on announce, gratuitous ARP (request and reply) and unsolicited NA go out on the documented schedule', async () => {
    const capture = await bed.capture('eth0', 'arp or (icmp6 and ip6[40] == 136)');
    await responder.request({ op: 'announce', ip: '192.168.77.110' });
    await responder.request({ op: 'announce', ip: 'fd00:77::110' });
    await sleep((GRATUITOUS_SCHEDULE_MS.at(-1) ?? 0) + 500);
    const lines = await capture.stop();
    const at = (line: string): number => Number(line.split(' ')[0]) * 1000;
    const requests = lines.filter((line) => line.includes('Request who-has 192.168.77.110') && line.includes('tell 192.168.77.110'));
    const replies = lines.filter((line) => line.includes('Reply 192.168.77.110 is-at'));
    const advertisements = lines.filter((line) => line.includes('tgt is fd00:77::110') && line.includes('> ff02::1'));
    assert.equal(requests.length, GRATUITOUS_SCHEDULE_MS.length, lines.join('\n'));
    assert.equal(replies.length, GRATUITOUS_SCHEDULE_MS.length, lines.join('\n'));
    assert.equal(advertisements.length, GRATUITOUS_SCHEDULE_MS.length, lines.join('\n'));
    for (const [name, frames] of [['ARP request', requests], ['ARP reply', replies], ['NA', advertisements]] as const) {
      const offsets = frames.map((line) => at(line) - at(frames[0] ?? ''));
      GRATUITOUS_SCHEDULE_MS.forEach((planned, index) => {
        const actual = offsets[index] ?? NaN;
        // A shared two-core machine delays timers; 60 ms late is still "on schedule", early never is.
        assert.ok(actual >= planned - 5 && actual <= planned + 60, `${name} ${index}: planned ${planned} ms, sent at ${actual.toFixed(1)} ms`);
      });
    }
    for (const line of [...requests, ...replies, ...advertisements]) assert.ok(line.includes(bed.nodeMac.eth0), line);
  });

  it('withdraw silences at once: pending gratuitous frames are cancelled', async () => {
    const capture = await bed.capture('eth0', 'arp');
    await responder.request({ op: 'announce', ip: '192.168.77.111' });
    await sleep(120); // rounds at 0 and 50 ms are out, the one at 250 ms is pending
    await responder.request({ op: 'withdraw', ip: '192.168.77.111' });
    await sleep((GRATUITOUS_SCHEDULE_MS.at(-1) ?? 0) + 300);
    const lines = await capture.stop();
    assert.equal(lines.filter((line) => line.includes('192.168.77.111')).length, 4, lines.join('\n'));
  });

  it('after withdraw, arping gets no reply', async () => {
    assert.equal((await arping('192.168.77.100', 1)).length, 1);
    await responder.request({ op: 'withdraw', ip: '192.168.77.100' });
    assert.deepEqual(await arping('192.168.77.100', 2), []);
    const result = await run(inNamespace(bed.client, ['ndisc6', '-r', '1', '-w', '300', 'fd00:77::100', 'eth0']));
    assert.match(result.stdout, /Target link-layer address/, 'the IPv6 address is still announced');
    await responder.request({ op: 'withdraw', ip: 'fd00:77::100' });
    const silent = await run(inNamespace(bed.client, ['ndisc6', '-r', '1', '-w', '300', 'fd00:77::100', 'eth0']));
    assert.doesNotMatch(silent.stdout, /Target link-layer address/);
  });
});
