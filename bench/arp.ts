// ARP data-plane benchmark: reply latency of our responder against the kernel answering for an address
// configured on the same interface (same client, same run, probes interleaved), and the highest request
// rate answered with none dropped. Prints a table and writes bench/results-arp.json. Never fails.
//
//   node dist/bench/arp.js [--rounds 2000] [--rates 20000,40000,60000] [--seconds 3]
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createArpTestbed } from '../arp/netns-testkit.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2000' },
    rates: { type: 'string', default: '20000,40000,60000' },
    seconds: { type: 'string', default: '3' },
  },
});
const KERNEL_IP = '192.168.77.1';
const OUR_IP = '192.168.77.100';
const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/results-arp.json');

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface LatencySummary { samples: number; lost: number; medianUs: number; p99Us: number }

function summarize(entry: { samples: number[]; lost: number } | undefined): LatencySummary {
  const sorted = [...(entry?.samples ?? [])].sort((a, b) => a - b);
  return { samples: sorted.length, lost: entry?.lost ?? 0, medianUs: percentile(sorted, 50), p99Us: percentile(sorted, 99) };
}

async function main(): Promise<void> {
  const bed = await createArpTestbed('bench', { kernelAddress: `${KERNEL_IP}/24`, quietClient: true });
  try {
    const agent = await bed.startAgent('eth0');
    const rounds = Number(values.rounds);
    // Two phases, one responder each, so each path is compared with the kernel under the same conditions.
    const latency: Record<string, { rounds: number; kernel: LatencySummary; l2lb: LatencySummary; medianRatio: number; p99Ratio: number }> = {};
    for (const [path, args] of [['native ARP fast path', []], ['JS decision (--js-only)', ['--js-only']]] as const) {
      const responder = await bed.startResponder(['--iface', 'eth0', '--announce', OUR_IP, '--schedule', '', ...args]);
      // Warm both paths (JIT, neighbour entries) before measuring.
      await agent.request({ op: 'latency', senderIp: '192.168.77.2', targets: [KERNEL_IP, OUR_IP], rounds: 200 });
      const { result } = await agent.request({ op: 'latency', senderIp: '192.168.77.2', targets: [KERNEL_IP, OUR_IP], rounds }, 600_000) as { result: Record<string, { samples: number[]; lost: number }> };
      const kernel = summarize(result[KERNEL_IP]);
      const ours = summarize(result[OUR_IP]);
      latency[path] = { rounds, kernel, l2lb: ours, medianRatio: ours.medianUs / kernel.medianUs, p99Ratio: ours.p99Us / kernel.p99Us };
      await responder.stop();
    }

    // The flood runs against the default configuration (fast path on).
    const responder = await bed.startResponder(['--iface', 'eth0', '--announce', OUR_IP, '--schedule', '']);
    const floods: { rate: number; sent: number; replies: number; dropped: number; achievedRate: number; seconds: number }[] = [];
    for (const rate of (values.rates ?? '').split(',').map(Number).filter((value) => value > 0)) {
      const { result: flood } = await agent.request({ op: 'flood', senderIp: '192.168.77.2', target: OUR_IP, rate, seconds: Number(values.seconds) }, 600_000) as { result: { sent: number; replies: number; elapsedSeconds: number } };
      floods.push({ rate, sent: flood.sent, replies: flood.replies, dropped: flood.sent - flood.replies, achievedRate: flood.sent / flood.elapsedSeconds, seconds: flood.elapsedSeconds });
    }
    const clean = floods.filter((flood) => flood.dropped === 0);
    const sustained = clean.length === 0 ? 0 : Math.max(...clean.map((flood) => flood.achievedRate));
    const { counters } = await responder.request({ op: 'counters' });

    const figures = { measuredAt: new Date().toISOString(), host: { cpus: (await import('node:os')).cpus().length, node: process.version }, latency, floods, sustainedRequestsPerSecondNoneDropped: sustained, responderCounters: counters };
    writeFileSync(RESULTS, `${JSON.stringify(figures, null, 2)}\n`);

    const us = (value: number): string => `${value.toFixed(1)} µs`;
    console.log('ARP reply latency (client AF_PACKET socket → reply), probes interleaved');
    console.log('| answerer | samples | lost | median | p99 | median ratio to kernel |');
    console.log('|---|---|---|---|---|---|');
    for (const [path, figures] of Object.entries(latency)) {
      console.log(`| kernel (${KERNEL_IP} on eth0), same phase | ${figures.kernel.samples} | ${figures.kernel.lost} | ${us(figures.kernel.medianUs)} | ${us(figures.kernel.p99Us)} | 1 |`);
      console.log(`| l2lb, ${path} (${OUR_IP} on no interface) | ${figures.l2lb.samples} | ${figures.l2lb.lost} | ${us(figures.l2lb.medianUs)} | ${us(figures.l2lb.p99Us)} | ${figures.medianRatio.toFixed(2)}× (goal ≤ 2×) |`);
    }
    console.log('');
    console.log('ARP requests answered under load');
    console.log('| offered rate /s | sent | replies | dropped | achieved rate /s |');
    console.log('|---|---|---|---|---|');
    for (const flood of floods) console.log(`| ${flood.rate} | ${flood.sent} | ${flood.replies} | ${flood.dropped} | ${flood.achievedRate.toFixed(0)} |`);
    console.log(`sustained with none dropped: ${sustained.toFixed(0)} requests/s (goal ≥ 20,000)`);
    console.log(`written to ${RESULTS}`);
  } finally {
    await bed.destroy();
  }
}

try {
  await main();
} catch (error) {
  console.log(`ARP benchmark could not run: ${(error as Error).message}`);
}
