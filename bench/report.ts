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
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const allocRows = (at(allocator, 'rows') as Array<{ benchmark: string; totalMs: number; cpuMs: number }> | undefined) ?? [];
const slash16 = allocRows.find((r) => r.benchmark.includes('/16') && !r.benchmark.includes('avoid'));
const services = num(at(lab, 'services'));

const rows: Row[] = [
  row('failover, SIGKILL of the owner\'s announcer (p99)', num(at(lab, 'failoverMs', 'SIGKILL', 'p99')), 'ms', 'p99 ≤ 1000 ms', (v) => v <= 1000,
    `, p50 ${num(at(lab, 'failoverMs', 'SIGKILL', 'p50'))} ms`),
  row('failover, SIGTERM (p99)', num(at(lab, 'failoverMs', 'SIGTERM', 'p99')), 'ms', 'p99 ≤ 300 ms', (v) => v <= 300,
    `, p50 ${num(at(lab, 'failoverMs', 'SIGTERM', 'p50'))} ms, lost ${num(at(lab, 'failoverMs', 'SIGTERM', 'lostProbes'))}`),
  row('failover, cordon (p99)', num(at(lab, 'failoverMs', 'cordon', 'p99')), 'ms', 'p99 ≤ 300 ms, no probe lost',
    (v) => v <= 300 && num(at(lab, 'failoverMs', 'cordon', 'lostProbes')) === 0,
    `, p50 ${num(at(lab, 'failoverMs', 'cordon', 'p50'))} ms, lost ${num(at(lab, 'failoverMs', 'cordon', 'lostProbes'))}`),
  row('Service created → first answer at the client (p99)', num(at(lab, 'firstAnswerMs', 'p99')), 'ms', 'p99 ≤ 500 ms', (v) => v <= 500,
    `, p50 ${num(at(lab, 'firstAnswerMs', 'p50'))} ms`),
  row(`Service created → ingress written, ${services ?? '?'} Services present (p99)`, num(at(lab, 'ingressLatencyMs', 'p99')), 'ms', 'p99 ≤ 100 ms (1,000 Services)', (v) => v <= 100,
    `, p50 ${num(at(lab, 'ingressLatencyMs', 'p50'))} ms`),
  row('API writes in steady state, per node', num(at(lab, 'steadyStateWrites', 'perNodePerSecond')), '/s', '≤ 1 /s per node', (v) => v <= 1,
    ` (all: ${num(at(lab, 'steadyStateWrites', 'perSecond'))} /s)`),
  row(`controller RSS, ${num(at(lab, 'rssMb', 'services')) ?? '?'} Services`, num(at(lab, 'rssMb', 'controller')), 'MB', '≤ 250 MB (5,000 Services)', (v) => v <= 250),
  row(`announcer RSS, ${num(at(lab, 'rssMb', 'services')) ?? '?'} Services`, num(at(lab, 'rssMb', 'announcer')), 'MB', '≤ 120 MB (5,000 Services)', (v) => v <= 120),
  row(`controller restart → converged, ${num(at(lab, 'controllerRestart', 'services')) ?? '?'} Services (max)`, num(at(lab, 'controllerRestart', 'convergedMs', 'max')), 'ms',
    '≤ 10 s, 0 addresses changed (5,000 Services)', (v) => v <= 10_000 && num(at(lab, 'controllerRestart', 'addressesChanged')) === 0,
    `, ${num(at(lab, 'controllerRestart', 'addressesChanged'))} addresses changed`),
  row('ARP reply latency vs the kernel (median ratio)', num(at(arp, 'latency', 'native ARP fast path', 'medianRatio')), '×', 'median ≤ 2×', (v) => v <= 2),
  row('ARP requests answered under load', num(at(arp, 'sustainedRequestsPerSecondNoneDropped')), '/s', '≥ 20,000 /s, none dropped', (v) => v >= 20_000),
  row('allocator: 65,536 allocations from a /16', slash16?.totalMs, 'ms', '≤ 1000 ms', (v) => v <= 1000, slash16 === undefined ? '' : ` (CPU ${Math.round(slash16.cpuMs)} ms)`),
];

const width = Math.max(...rows.map((r) => r.figure.length));
console.log(`\n${'figure'.padEnd(width)}  ${'measured'.padEnd(44)}  ${'target'.padEnd(40)}  met`);
for (const r of rows) {
  console.log(`${r.figure.padEnd(width)}  ${r.measured.padEnd(44)}  ${r.target.padEnd(40)}  ${r.met === undefined ? '-' : r.met ? 'yes' : 'NO'}`);
}
writeFileSync(join(repoRoot, 'bench', 'results.json'), JSON.stringify({ generatedAt: new Date().toISOString(), rows, sources: { lab, arp, allocator } }, null, 2) + '\n');
console.log('\nwrote bench/results.json');
