// Long-running lab processes: started detached (they outlive `make lab-up`), logs in a file, a pid file
// per process so that a scenario can kill one and `lab-down` can find them all.

import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  /** Runs the process inside this network namespace (`ip netns exec`). */
  readonly netns?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  const [command, args] = spec.netns === undefined
    ? [spec.command, spec.args]
    : ['ip', ['netns', 'exec', spec.netns, spec.command, ...spec.args]];
  // `ip netns exec` execs the command in place, so the pid we record is the daemon's own.
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...spec.env },
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${command}`);
  child.unref();
  writeFileSync(spec.pidFile, `${child.pid}\n`);
  return child.pid;
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie answers kill(0) but is dead; /proc tells.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

export function runningPid(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

/** Sends `signal`, waits up to `graceMs` for the process to go, then SIGKILLs it. Removes the pid file. */
export async function stopDaemon(pidFile: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  const pid = readPid(pidFile);
  if (pid !== undefined && isAlive(pid)) {
    process.kill(pid, signal);
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(25);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(10);
  }
  rmSync(pidFile, { force: true });
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function run(command: string, args: readonly string[], options: { input?: string; netns?: string } = {}): string {
  const [file, argv] = options.netns === undefined ? [command, args] : ['ip', ['netns', 'exec', options.netns, command, ...args]];
  return execFileSync(file, argv, { encoding: 'utf8', input: options.input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export interface Memory {
  readonly rssMb: number;
  /** The peak resident set since the process started (VmHWM): what a memory limit must cover. */
  readonly peakMb: number;
}

/** A process's resident memory in MB (one decimal); NaN for no pid or a process that has exited. */
export function memoryOfPid(pid: number | undefined): Memory {
  let status: string;
  try {
    if (pid === undefined) throw new Error('no pid');
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rssMb: NaN, peakMb: NaN };
  }
  const mb = (field: string): number => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 102.4) / 10;
  return { rssMb: mb('VmRSS'), peakMb: mb('VmHWM') };
}

/** Host pids of the processes in network namespace `ns` whose command line (arguments joined by spaces)
 *  matches: how a scenario finds a Pod's process on the cluster lab, where no pid file names it. */
export function pidsInNamespace(ns: string, command: RegExp): number[] {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  return pids.filter((pid) => command.test(commandLine(pid)));
}

/** A process's arguments joined by spaces; `(gone)` once it has exited. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '(gone)';
  }
}

/** Processes on this host whose command line matches: containers' processes are the host's, seen from
 *  here, whatever network namespace their Pod has. */
export function processesMatching(command: RegExp): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number)
    .filter((pid) => command.test(commandLine(pid)) && isAlive(pid));
}
