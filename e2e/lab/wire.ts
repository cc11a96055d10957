// What lab-client sees on the wire, with the real tools: who answers ARP for an address (arping), who
// serves it (HTTP through the lab's kube-proxy emulation), and a background prober for failover timing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from '../fixtures.js';
import { labNode } from './topology.js';

/** MAC → node name, for every lab node's eth0 and eth1. */
export function nodeOfMac(mac: string, nodes = 10): string | undefined {
  for (let i = 1; i <= nodes; i++) {
    const node = labNode(i);
    if ([node.eth0.mac, node.eth1.mac].includes(mac.toLowerCase())) return node.name;
  }
  return undefined;
}

export interface ArpAnswers {
  /** Every reply's MAC, lower case, in order. */
  readonly macs: readonly string[];
  readonly sent: number;
}

/** Broadcasts `count` ARP requests for `ip` from lab-client's `iface` (one arping each: arping's
 *  interval is whole seconds) and collects every reply. */
export function arpAnswers(ip: string, options: { iface?: string; count?: number } = {}): ArpAnswers {
  const count = options.count ?? 1;
  const iface = options.iface ?? 'eth0';
  const script = `for i in $(seq ${count}); do arping -b -c 1 -w 1 -I ${iface} ${ip}; done`;
  const result = spawnSync('ip', ['netns', 'exec', 'lab-client', 'sh', '-c', script], { encoding: 'utf8' });
  const macs = [...result.stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((m) => m[1]!.toLowerCase());
  return { macs, sent: count };
}

/** The nodes answering ARP for `ip` (one request), by name. */
export function arpOwners(ip: string, iface = 'eth0'): string[] {
  return [...new Set(arpAnswers(ip, { iface }).macs.map((mac) => nodeOfMac(mac) ?? mac))].sort();
}

/** Which node an HTTP request to `ip` reaches, or undefined. */
export function servedBy(ip: string): string | undefined {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const result = spawnSync('ip', ['netns', 'exec', 'lab-client', 'curl', '-s', '-g', '-m', '1', `http://${host}/`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export interface ProbeSample {
  readonly t: number;
  readonly node?: string;
  readonly error?: string;
}

/** A background HTTP prober in lab-client (see probe.ts); samples accumulate until `stop`. */
export class Prober {
  readonly samples: ProbeSample[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(ip: string, intervalMs: number, timeoutMs = 300) {
    const host = ip.includes(':') ? `[${ip}]` : ip;
    this.child = spawn('ip', ['netns', 'exec', 'lab-client', process.execPath, join(repoRoot, 'dist', 'e2e', 'lab', 'probe.js'),
      '--url', `http://${host}/`, '--interval', String(intervalMs), '--timeout', String(timeoutMs), '--duration', '600000'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.samples.push(JSON.parse(line) as ProbeSample);
      } catch {
        // a partial line at exit
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  since(t: number): ProbeSample[] {
    return this.samples.filter((s) => s.t >= t);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
