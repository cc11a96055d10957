// Who answers ARP/NDP for many addresses at once, asked from lab-client by e2e/probe/l2probe.py: an
// independent prober (Python over AF_PACKET, nothing of l2lb imported), judged by which MAC answers.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from '../fixtures.js';
import { LAB_CLIENT_NS } from './topology.js';
import { nodeOfMac } from './wire.js';

const PROBER = join(repoRoot, 'e2e', 'probe', 'l2probe.py');

export interface Census {
  /** address → the nodes (by MAC) that answered in any round, sorted. */
  readonly owners: ReadonlyMap<string, readonly string[]>;
  readonly single: number;
  readonly multiple: number;
  readonly none: number;
}

export function census(ips: readonly string[], options: { rounds?: number; iface?: string } = {}): Census {
  const result = spawnSync('ip', ['netns', 'exec', LAB_CLIENT_NS, 'python3', PROBER, 'census',
    '--iface', options.iface ?? 'eth0', '--rounds', String(options.rounds ?? 2)], { input: ips.join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`l2probe census failed: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as { answers: Record<string, string[]> };
  const owners = new Map<string, string[]>();
  let single = 0;
  let multiple = 0;
  let none = 0;
  for (const ip of ips) {
    const nodes = [...new Set((parsed.answers[ip] ?? []).map((mac) => nodeOfMac(mac) ?? mac))].sort();
    owners.set(ip, nodes);
    if (nodes.length === 0) none++;
    else if (nodes.length === 1) single++;
    else multiple++;
  }
  return { owners, single, multiple, none };
}

export interface WatchRound {
  readonly t: number;
  /** address → nodes answering in this round. */
  readonly answers: ReadonlyMap<string, readonly string[]>;
}

/** Asks for every address every `intervalMs` in the background; rounds accumulate until `stop`. */
export class L2Watch {
  readonly rounds: WatchRound[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(ips: readonly string[], options: { intervalMs?: number; durationS?: number; iface?: string } = {}) {
    this.child = spawn('ip', ['netns', 'exec', LAB_CLIENT_NS, 'python3', PROBER, 'watch', '--iface', options.iface ?? 'eth0',
      '--interval-ms', String(options.intervalMs ?? 20), '--duration-s', String(options.durationS ?? 600)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdin!.end(ips.join('\n'));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        const round = JSON.parse(line) as { t: number; a: Record<string, string[]> };
        this.rounds.push({ t: round.t, answers: new Map(Object.entries(round.a).map(([ip, macs]) => [ip, [...new Set(macs.map((m) => nodeOfMac(m) ?? m))].sort()])) });
      } catch {
        // a partial line at exit
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  since(t: number): WatchRound[] {
    return this.rounds.filter((round) => round.t >= t);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
