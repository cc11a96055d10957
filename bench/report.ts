// `make bench`'s summary: reads what the benchmarks wrote (bench/results-*.json), prints every figure
// beside its target from ../shared/design.md, and writes them all to bench/results.json. A figure that was
// not measured says so; nothing here fails.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../e2e/fixtures.js';

type Json = Record<string, unknown>;

function load(name: string): Json | undefined {
  const path = join(repoRoot, 'bench', `results-${name}.json`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Json) : undefined;
}

function at(object: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((value, key) => (typeof value === 'object' && value !== null ? (value as Json)[key] : undefined), object);
}

interface Row {
  readonly figure: string;
  readonly measured: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

function row(figure: string, value: number | undefined, unit: string, target: string, met: (v: number) => boolean, extra = ''): Row {
  if (value === undefined || Number.isNaN(value)) return { figure, measured: 'not measured', target, met: undefined };
  return { figure, measured: `${Math.round(value * 100) / 100} ${unit}${extra}`, target, met: met(value) };
}

const lab = load('lab');
const arp = load('arp');
const allocator = load('allocator');
const scale = load('scale');
const arpLab = load('arp-lab');
const labLatency = (family: string, load: string): Json | undefined =>
  (at(arpLab, 'latency') as Json[] | undefined)?.find((r) => r.family === family && r.load === load);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const allocRows = (at(allocator, 'rows') as Array<{ benchmark: string; totalMs: number; cpuMs: number }> | undefined) ?? [];
const slash16 = allocRows.find((r) => r.benchmark.includes('/16') && !r.benchmark.includes('avoid'));
const services = num(at(lab, 'services'));

const rows: Row[] = [
  row('failover, SIGKILL of the owner\'s announcer (p99)', num(at(lab, 'failoverMs', 'SIGKILL', 'p99')), 'ms', 'p99 ≤ 150 ms', (v) => v <= 150,
    `, p50 ${num(at(lab, 'failoverMs', 'SIGKILL', 'p50'))} ms`),
  row('failover, SIGTERM (p99)', num(at(lab, 'failoverMs', 'SIGTERM', 'p99')), 'ms', 'p99 ≤ 100 ms, 0 lost', (v) => v <= 100 && num(at(lab, 'failoverMs', 'SIGTERM', 'lostProbes')) === 0,
    `, p50 ${num(at(lab, 'failoverMs', 'SIGTERM', 'p50'))} ms, lost ${num(at(lab, 'failoverMs', 'SIGTERM', 'lostProbes'))}`),
  row('failover, cordon (p99)', num(at(lab, 'failoverMs', 'cordon', 'p99')), 'ms', 'p99 ≤ 100 ms, 0 lost',
    (v) => v <= 100 && num(at(lab, 'failoverMs', 'cordon', 'lostProbes')) === 0,
    `, p50 ${num(at(lab, 'failoverMs', 'cordon', 'p50'))} ms, lost ${num(at(lab, 'failoverMs', 'cordon', 'lostProbes'))}`),
  row('Service created → first answer at the client (p99)', num(at(lab, 'firstAnswerMs', 'p99')), 'ms', 'p99 ≤ 200 ms (5,000 Services)', (v) => v <= 200,
    `, p50 ${num(at(lab, 'firstAnswerMs', 'p50'))} ms`),
  row(`Service created → ingress written, ${services ?? '?'} Services present (p99)`, num(at(lab, 'ingressLatencyMs', 'p99')), 'ms', 'p99 ≤ 50 ms (5,000 Services)', (v) => v <= 50,
    `, p50 ${num(at(lab, 'ingressLatencyMs', 'p50'))} ms`),
  row('API writes in steady state, per node', num(at(lab, 'steadyStateWrites', 'perNodePerSecond')), '/s', '≤ 0.5 /s per node', (v) => v <= 0.5,
    ` (all: ${num(at(lab, 'steadyStateWrites', 'perSecond'))} /s)`),
  row(`controller RSS, ${num(at(lab, 'rssMb', 'services')) ?? '?'} Services`, num(at(lab, 'rssMb', 'controller')), 'MB', '≤ 120 MB (5,000 Services)', (v) => v <= 120),
  row(`announcer RSS, ${num(at(lab, 'rssMb', 'services')) ?? '?'} Services`, num(at(lab, 'rssMb', 'announcer')), 'MB', '≤ 80 MB (5,000 Services)', (v) => v <= 80),
  row(`controller restart → converged, ${num(at(lab, 'controllerRestart', 'services')) ?? '?'} Services (max)`, num(at(lab, 'controllerRestart', 'convergedMs', 'max')), 'ms',
    '≤ 5 s, 0 addresses changed (5,000 Services)', (v) => v <= 5_000 && num(at(lab, 'controllerRestart', 'addressesChanged')) === 0,
    `, ${num(at(lab, 'controllerRestart', 'addressesChanged'))} addresses changed`),
  row(`speaker peak RSS, ${num(at(scale, 'services')) ?? '?'} Services × ${num(at(scale, 'nodes')) ?? '?'} nodes`, num(at(scale, 'peakMb', 'speaker')), 'MB',
    '≤ 80 MB (5,000 × 10)', (v) => v <= 80),
  row(`controller peak RSS, ${num(at(scale, 'services')) ?? '?'} Services × ${num(at(scale, 'nodes')) ?? '?'} nodes`, num(at(scale, 'peakMb', 'controller')), 'MB',
    '≤ 120 MB (5,000 × 10)', (v) => v <= 120),
  row(`speakers started with ${num(at(scale, 'services')) ?? '?'} Services → ownership settled`, num(at(scale, 'settled', 'afterStartMs')), 'ms', 'one MAC per address', 
    () => num(at(scale, 'settled', 'problems')) === 0, `, ${num(at(scale, 'settled', 'twoOrMore'))} with two MACs, ${num(at(scale, 'settled', 'none'))} with none`),
  row('ARP reply latency vs the kernel (median ratio)', num(at(arp, 'latency', 'native ARP fast path', 'medianRatio')), '×', 'median ≤ 1.5×', (v) => v <= 1.5),
  ...(['ARP', 'NDP'] as const).flatMap((family) => (['idle', 'recomputing'] as const).map((state) =>
    row(`${family} reply latency of the lab's speaker vs its node's kernel, ${state}${state === 'recomputing' ? ` (${num(at(arpLab, 'stormServices')) ?? '?'} Services)` : ''}`,
      num(at(labLatency(family, state), 'medianRatio')), '×', 'median ≤ 1.5×, p99 ≤ 3×',
      (v) => v <= 1.5 && (num(at(labLatency(family, state), 'p99Ratio')) ?? Infinity) <= 3,
      `, p99 ${Math.round((num(at(labLatency(family, state), 'p99Ratio')) ?? NaN) * 100) / 100}×`))),
  row('ARP requests answered under load', num(at(arp, 'sustainedRequestsPerSecondNoneDropped')), '/s', '≥ 50,000 /s, none dropped', (v) => v >= 50_000),
  row('allocator: 65,536 allocations from a /16', slash16?.totalMs, 'ms', '≤ 500 ms', (v) => v <= 500, slash16 === undefined ? '' : ` (CPU ${Math.round(slash16.cpuMs)} ms)`),
];

const width = Math.max(...rows.map((r) => r.figure.length));
console.log(`\n${'figure'.padEnd(width)}  ${'measured'.padEnd(44)}  ${'target'.padEnd(40)}  met`);
for (const r of rows) {
  console.log(`${r.figure.padEnd(width)}  ${r.measured.padEnd(44)}  ${r.target.padEnd(40)}  ${r.met === undefined ? '-' : r.met ? 'yes' : 'NO'}`);
}
writeFileSync(join(repoRoot, 'bench', 'results.json'), JSON.stringify({ generatedAt: new Date().toISOString(), rows, sources: { lab, arp, arpLab, allocator, scale } }, null, 2) + '\n');
console.log('\nwrote bench/results.json');
