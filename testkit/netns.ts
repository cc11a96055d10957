// Network namespaces for arp/'s end-to-end tests and benchmark. Everything is named l2a-<tag>-* (never
// lab-*: the shared lab's namespaces are someone else's; L2LB_NETNS_PREFIX overrides the prefix),
// created fresh (a leftover of a crashed run is removed first) and removed by `destroy`, which also
// kills every process started here. No addresses outside 192.168.77.0/24, 192.168.78.0/24 and
// fd00:77::/64, no routes beyond the connected ones.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Where the compiled arp/ programs are (responder-main.js); the wire agent is a test kit, beside this file. */
export const DIST_ARP = resolve(HERE, '..', 'arp');
/** Our namespaces' prefix: distinct from the lab's `lab-node-*`, `lab-client`, `lab-net`. */
export const NETNS_PREFIX = 'l2a-';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(argv: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(argv[0] ?? 'false', argv.slice(1), { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function mustRun(argv: readonly string[]): Promise<string> {
  const result = await run(argv);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

export function inNamespace(namespace: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', namespace, ...argv];
}

/**
 * A child speaking JSON lines: one answer a line for each command written, in order. Lines with an
 * `event` other than `ready` are not answers: they go to `events` (with the time they arrived).
 */
export class JsonLineProcess {
  private readonly waiting: ((value: Record<string, unknown>) => void)[] = [];
  private readonly early: Record<string, unknown>[] = [];
  readonly stderr: string[] = [];
  readonly events: { readonly at: number; readonly value: Record<string, unknown> }[] = [];
  private exited = false;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value.event !== undefined && value.event !== 'ready') {
        this.events.push({ at: performance.now(), value });
        return;
      }
      const next = this.waiting.shift();
      if (next !== undefined) next(value);
      else this.early.push(value);
    });
    createInterface({ input: child.stderr }).on('line', (line) => { if (this.stderr.length < 1000) this.stderr.push(line); });
    child.on('exit', () => { this.exited = true; });
  }

  next(timeoutMs = 120_000): Promise<Record<string, unknown>> {
    const ready = this.early.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`)), timeoutMs);
      this.waiting.push((value) => { clearTimeout(timer); resolve(value); });
    });
  }

  async request(command: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    const answer = await this.next(timeoutMs);
    if (answer.ok !== true) throw new Error(`${JSON.stringify(command).slice(0, 200)} failed: ${JSON.stringify(answer)}`);
    return answer;
  }

  get running(): boolean {
    return !this.exited;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  }
}

export interface Capture {
  /** Stops tcpdump and returns its lines (`-tt -e -nn`: epoch seconds first). */
  stop(): Promise<string[]>;
}

export interface ArpTestbed {
  readonly node: string;
  readonly client: string;
  /** MAC of the node's eth0 and eth1. */
  readonly nodeMac: Readonly<Record<'eth0' | 'eth1', string>>;
  /** `wrapper` goes before node inside the namespace (e.g. setpriv dropping capabilities). */
  startResponder(args: readonly string[], wrapper?: readonly string[]): Promise<JsonLineProcess>;
  /** Runs bench/l2probe (built on first use) in the client namespace and parses its JSON. */
  probe(args: readonly string[], timeoutMs?: number): Promise<Record<string, unknown>>;
  startAgent(iface: string): Promise<JsonLineProcess>;
  capture(iface: string, filter: string): Promise<Capture>;
  destroy(): Promise<void>;
}

/**
 * Two namespaces joined by two veth pairs: node eth0 ↔ client eth0 (192.168.77.0/24, fd00:77::/64)
 * and node eth1 ↔ client eth1 (192.168.78.0/24). The node has no IP address at all (and no IPv6
 * link-local), so whatever answers there is our responder; `kernelAddress` puts one on node eth0 for
 * the benchmark's comparison.
 */
export interface TestbedOptions {
  /** Put this address (CIDR) on node eth0, so the kernel answers for it: the benchmark's reference. */
  readonly kernelAddress?: string;
  /** The same for IPv6 (added without DAD). */
  readonly kernelAddress6?: string;
  /** Keep the client's kernel off IPv6, so every solicitation on the wire is one a test sent. */
  readonly quietClient?: boolean;
}

export async function createArpTestbed(tag: string, options: TestbedOptions = {}): Promise<ArpTestbed> {
  const prefix = process.env.L2LB_NETNS_PREFIX ?? NETNS_PREFIX;
  if (prefix.startsWith('lab-')) throw new Error(`namespace prefix ${prefix} would collide with the shared lab`);
  const node = `${prefix}${tag}-node`;
  const client = `${prefix}${tag}-client`;
  const processes: JsonLineProcess[] = [];
  const captures: ChildProcessWithoutNullStreams[] = [];
  const destroy = async (): Promise<void> => {
    for (const child of processes) await child.stop().catch(() => undefined);
    for (const child of captures) child.kill('SIGKILL');
    await run(['ip', 'netns', 'del', node]);
    await run(['ip', 'netns', 'del', client]);
  };
  await destroy();
  try {
    await mustRun(['ip', 'netns', 'add', node]);
    await mustRun(['ip', 'netns', 'add', client]);
    for (const link of ['eth0', 'eth1']) {
      // Created directly inside the namespaces: nothing ever appears in the host's namespace.
      await mustRun(['ip', '-n', node, 'link', 'add', link, 'type', 'veth', 'peer', 'name', link, 'netns', client]);
      await mustRun(['ip', '-n', node, 'link', 'set', link, 'addrgenmode', 'none']);
      await mustRun(['ip', '-n', node, 'link', 'set', link, 'up']);
      await mustRun(['ip', '-n', client, 'link', 'set', link, 'up']);
    }
    await mustRun(['ip', '-n', node, 'link', 'set', 'lo', 'up']);
    await mustRun(['ip', '-n', client, 'addr', 'add', '192.168.77.2/24', 'dev', 'eth0']);
    if (options.quietClient === true) await mustRun(inNamespace(client, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1']));
    else await mustRun(['ip', '-n', client, 'addr', 'add', 'fd00:77::2/64', 'dev', 'eth0', 'nodad']);
    await mustRun(['ip', '-n', client, 'addr', 'add', '192.168.78.2/24', 'dev', 'eth1']);
    if (options.kernelAddress !== undefined) await mustRun(['ip', '-n', node, 'addr', 'add', options.kernelAddress, 'dev', 'eth0']);
    if (options.kernelAddress6 !== undefined) await mustRun(['ip', '-n', node, 'addr', 'add', options.kernelAddress6, 'dev', 'eth0', 'nodad']);
    const macOf = async (link: string): Promise<string> => (await mustRun(inNamespace(node, ['cat', `/sys/class/net/${link}/address`]))).trim();
    const nodeMac = { eth0: await macOf('eth0'), eth1: await macOf('eth1') };

    const startJson = async (namespace: string, script: string, args: readonly string[], wrapper: readonly string[] = []): Promise<JsonLineProcess> => {
      const child = spawn('ip', ['netns', 'exec', namespace, ...wrapper, process.execPath, join(DIST_ARP, script), ...args], { stdio: 'pipe' });
      const wrapped = new JsonLineProcess(child);
      processes.push(wrapped);
      const ready = await wrapped.next(10_000);
      if (ready.event !== 'ready') throw new Error(`${script} did not start: ${JSON.stringify(ready)}`);
      return wrapped;
    };

    return {
      node,
      client,
      nodeMac,
      startResponder: (args, wrapper) => startJson(node, 'responder-main.js', args, wrapper),
      probe: async (args, timeoutMs = 120_000) => {
        const prober = await buildProber();
        const result = await run(inNamespace(client, [prober, ...args]), timeoutMs);
        if (result.code !== 0) throw new Error(`l2probe ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
        return JSON.parse(result.stdout) as Record<string, unknown>;
      },
      startAgent: (iface) => startJson(client, join('..', 'testkit', 'wire-agent.js'), ['--iface', iface]),
      capture: async (iface, filter) => {
        const child = spawn('ip', ['netns', 'exec', client, 'tcpdump', '-i', iface, '-l', '-nn', '-e', '-tt', '--immediate-mode', filter], { stdio: 'pipe' });
        captures.push(child);
        const lines: string[] = [];
        createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
          child.stderr.on('data', (data: Buffer) => { if (data.toString().includes('listening on')) { clearTimeout(timer); resolve(); } });
        });
        return {
          stop: async () => {
            const gone = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGINT');
            await gone;
            return lines;
          },
        };
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** Parses `arping` output: one MAC per reply line. */
export function arpingReplies(stdout: string): string[] {
  return [...stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((match) => (match[1] ?? '').toLowerCase());
}

/** A C program of bench/ (plain libc, no code of ours), compiled with the system's cc into a temporary
 *  directory once per version of its source. */
export async function buildBenchProgram(name: string): Promise<string> {
  const source = resolve(HERE, `../../bench/${name}.c`);
  const directory = join(tmpdir(), 'l2lb-l2probe');
  const binary = join(directory, `${name}-${Math.floor(statSync(source).mtimeMs)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(directory, { recursive: true });
  await mustRun(['cc', '-O2', '-o', binary, source]);
  return binary;
}

/** bench/l2probe.c, the independent prober. */
export function buildProber(): Promise<string> {
  return buildBenchProgram('l2probe');
}
