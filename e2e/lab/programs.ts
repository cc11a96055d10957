// l2lb's two programs in the lab, however the lab runs them: as the lab's own processes (processes mode:
// pid files, restarted by the lab) or installed from the image (cluster mode: containers found by their
// command line, restarted by their kubelet). A scenario that kills, freezes or restarts a speaker or the
// controller through these runs unchanged against either, which is how the process lab's scenarios run
// against the installed l2lb (`L2LB_LAB_MODE=cluster`).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl } from './kubectl.js';
import { labMode, labPaths, type LabMode } from './lab.js';
import { ensureAnnouncers, restartController as restartControllerProcess } from './operator.js';
import { commandLine, isAlive, pidsInNamespace, processesMatching, runningPid, stopDaemon, waitFor } from './processes.js';
import { labNode, podCidr } from './topology.js';

/** The mode an e2e file that runs on either lab asks for: `L2LB_LAB_MODE=cluster` (what `make e2e` sets
 *  for them) or the process lab. */
export function e2eLabMode(): LabMode {
  const mode = process.env.L2LB_LAB_MODE ?? 'processes';
  if (mode !== 'processes' && mode !== 'cluster') throw new Error(`L2LB_LAB_MODE=${mode}: expected processes or cluster`);
  return mode;
}

const installed = (): boolean => labMode() === 'cluster';

/** The host pid of `node`'s speaker, if it runs. */
export function speakerPid(node: string): number | undefined {
  if (!installed()) return runningPid(join(labPaths().run, `announcer-${node}.pid`));
  return pidsInNamespace(node, /speaker-main\.js/).find(isAlive);
}

/** Signals `node`'s speaker; returns the pid signalled (for `speakerBack`). */
export function signalSpeaker(node: string, signal: NodeJS.Signals): number {
  const pid = speakerPid(node);
  if (pid === undefined) throw new Error(`no speaker runs on ${node}`);
  process.kill(pid, signal);
  return pid;
}

/** After `pid` was killed or stopped: waits for it to exit and for a new speaker on `node`, started by the
 *  lab (processes) or by its kubelet (cluster, whose lab kubelets restart a crash within 1 s). */
export async function speakerBack(node: string, pid: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${node}'s speaker (pid ${pid}) to exit`, () => !isAlive(pid), 10_000, 20);
  if (!installed()) ensureAnnouncers(labPaths(), [node]);
  await waitFor(`a new speaker on ${node}, handling SIGTERM`, () => {
    const now = speakerPid(node);
    return now !== undefined && now !== pid && handlesSigterm(now);
  }, timeoutMs, 50);
}

/** What `node`'s speaker has logged: its log file (processes), or the log files the kubelet keeps of
 *  the node's speaker Pods (cluster: the running container's and the one before, per Pod; a deleted
 *  Pod's go with it, so count records by their time, not by taking a count twice). */
export function speakerLog(node: string): string {
  const paths = labPaths();
  if (!installed()) return readFileSync(join(paths.logs, `announcer-${node}.log`), 'utf8');
  const podLogs = join(paths.root, 'cluster', node, 'pod-logs');
  const pods = existsSync(podLogs) ? readdirSync(podLogs).filter((dir) => dir.startsWith('metallb-system_speaker-')) : [];
  return pods.flatMap((pod) => {
    const dir = join(podLogs, pod, 'speaker');
    return existsSync(dir) ? readdirSync(dir).sort().map((file) => readFileSync(join(dir, file), 'utf8')) : [];
  }).join('\n');
}

/** The records of a speaker's log (speakerLog(); a kubelet's log lines carry a prefix before the JSON)
 *  that name `ip`, with their time. */
export function recordsAbout(log: string, ip: string): Array<{ t: number; msg: string }> {
  return log.split('\n').flatMap((line) => {
    const json = line.indexOf('{');
    if (json < 0 || !line.includes(`"ip":"${ip}"`)) return [];
    try {
      const record = JSON.parse(line.slice(json)) as { ts?: unknown; msg?: unknown };
      const t = typeof record.ts === 'string' ? Date.parse(record.ts) : Number.NaN;
      return Number.isFinite(t) && typeof record.msg === 'string' ? [{ t, msg: record.msg }] : [];
    } catch {
      return [];
    }
  });
}

const PAUSED = 'l2lb-e2e/speakers-paused';

/** Stops every speaker gracefully and keeps them stopped: the lab's processes (SIGTERM), or the speaker
 *  DaemonSet's Pods (cluster: a nodeSelector no node matches, so the DaemonSet deletes them all). */
export async function stopSpeakers(nodes: readonly string[]): Promise<void> {
  if (!installed()) {
    await Promise.all(nodes.map((node) => stopDaemon(join(labPaths().run, `announcer-${node}.pid`), 'SIGTERM', 30_000)));
    return;
  }
  kubectl('patch', 'daemonset', 'speaker', '-n', 'metallb-system', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { nodeSelector: { [PAUSED]: 'true' } } } } }));
  await waitFor('every speaker Pod to go', () => nodes.every((node) => speakerPid(node) === undefined)
    && kubectl('get', 'pods', '-n', 'metallb-system', '-l', 'component=speaker', '-o', 'name').trim() === '', 60_000, 100);
}

/** Starts every speaker `stopSpeakers` stopped, all at once, and waits for each to run. */
export async function startSpeakers(nodes: readonly string[]): Promise<void> {
  if (!installed()) ensureAnnouncers(labPaths(), nodes);
  else kubectl('patch', 'daemonset', 'speaker', '-n', 'metallb-system', '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { nodeSelector: { [PAUSED]: null } } } } }));
  await waitFor('a speaker on every node', () => nodes.every((node) => speakerPid(node) !== undefined), 60_000, 50);
}

/** When `node`'s speaker opened its connections to the API server (epoch ms), as the relay it passes
 *  logs them: while the API server is down each attempt needs a connection of its own, which the server
 *  cannot count. Processes mode: the node's API relay, which only the speaker uses. Cluster mode: the
 *  `kubernetes` Service's relay on the node, less the connections from the node's Pod subnet (the
 *  controller's Pod may run there; the host-network speaker's come from a node address). */
export function speakerApiConnections(node: string): number[] {
  const paths = labPaths();
  const cluster = installed();
  const file = join(paths.logs, `${cluster ? 'service-relay' : 'api-relay'}-${node}.log`);
  if (!existsSync(file)) return [];
  const podPrefix = podCidr(labNode(Number(node.slice('lab-node-'.length)))).replace(/\.0\/24$/, '.');
  return readFileSync(file, 'utf8').split('\n').flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { connection?: number; from?: string };
      if (typeof parsed.connection !== 'number') return [];
      return cluster && (parsed.from ?? '').replace(/^::ffff:/, '').startsWith(podPrefix) ? [] : [parsed.connection];
    } catch {
      return [];
    }
  });
}

/** The pid file of the relay `speakerApiConnections` reads, to restart it with this lab's flags. */
export function speakerApiRelayPidFile(node: string): string {
  return join(labPaths().run, `${installed() ? 'service-relay' : 'api-relay'}-${node}.pid`);
}

/** Host pids of every controller process (one in processes mode, each replica's in cluster mode). */
export function controllerPids(): number[] {
  if (!installed()) {
    const pid = runningPid(join(labPaths().run, 'controller.pid'));
    return pid === undefined ? [] : [pid];
  }
  return processesMatching(/controller-main\.js/);
}

/** Stops every controller process with `signal` and waits for as many new ones (SIGTERM: graceful, the
 *  leader hands its Lease back; SIGKILL: a crash). */
export async function restartController(signal: NodeJS.Signals): Promise<void> {
  if (!installed()) {
    await restartControllerProcess(labPaths(), signal);
    return;
  }
  const before = controllerPids();
  if (before.length === 0) throw new Error('no controller process runs');
  for (const pid of before) process.kill(pid, signal);
  // As a kubelet stops a Pod (and as the process lab's stopDaemon does): SIGKILL for whatever is left
  // when the grace period is over (10 s, config/manager/controller.yaml), said aloud.
  const graceMs = signal === 'SIGKILL' ? 30_000 : 10_000;
  try {
    await waitFor('the controller processes to exit', () => before.every((pid) => !isAlive(pid)), graceMs, 20);
  } catch (error) {
    const left = before.filter(isAlive);
    if (signal === 'SIGKILL') throw new Error(`${(error as Error).message}; still running: ${left.map((pid) => `${pid}: ${commandLine(pid)}`).join('; ')}`);
    console.log(`controller ${left.join(', ')} still running ${graceMs} ms after ${signal}: SIGKILL, as its kubelet would`);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    await waitFor('the controller processes to exit', () => before.every((pid) => !isAlive(pid)), 30_000, 20);
  }
  await waitFor(`${before.length} new controller processes, handling SIGTERM`, () =>
    controllerPids().filter((pid) => !before.includes(pid) && handlesSigterm(pid)).length === before.length, 30_000, 50);
}

/** Whether `pid` has its SIGTERM handler installed. A container's process is its PID 1, for which the
 *  kernel drops a signal it does not handle: a SIGTERM sent while Node still loads its modules is lost,
 *  and the process runs on (the kubelet would SIGKILL it after the grace period). */
function handlesSigterm(pid: number): boolean {
  try {
    const caught = /^SigCgt:\s+([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
    return (BigInt(`0x${caught}`) & (1n << 14n)) !== 0n; // bit n-1 for signal n; SIGTERM is 15
  } catch {
    return false;
  }
}
