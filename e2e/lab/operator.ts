// The operator in the lab: CRDs, the webhook configuration, and the controller process, running with the
// controller ServiceAccount's token. The controller runs in the host's namespace, next to the API
// server, which calls its webhook by URL at 127.0.0.1 (there is no Service routing in the lab).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll, dump } from 'js-yaml';
import { repoRoot } from '../fixtures.js';
import { otelEnv } from './observability.js';
import { freePort, runningPid, startDaemon, stopDaemon } from './processes.js';

export interface OperatorPorts {
  readonly controllerHttp: number;
  readonly webhook: number;
}

interface WebhookConfiguration {
  webhooks: Array<{ clientConfig: { service?: { path?: string }; url?: string } }>;
}

/** config/webhook's configuration, pointed at the controller's loopback port instead of its Service. */
export function labWebhookConfiguration(port: number): string {
  const source = readFileSync(join(repoRoot, 'config', 'webhook', 'validating-webhook.yaml'), 'utf8');
  const documents = loadAll(source) as WebhookConfiguration[];
  for (const document of documents) {
    for (const webhook of document.webhooks) {
      webhook.clientConfig = { url: `https://127.0.0.1:${port}${webhook.clientConfig.service?.path ?? '/'}` };
    }
  }
  return documents.map((d) => dump(d)).join('---\n');
}

interface Workload {
  spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } };
}

/** NODE_OPTIONS of a program's container in config/manager, so that the lab's processes run with the
 *  V8 limits the manifests ship (a memory test of anything else would judge another program). */
export function manifestNodeOptions(program: 'controller' | 'speaker'): Record<string, string> {
  const workload = loadAll(readFileSync(join(repoRoot, 'config', 'manager', `${program}.yaml`), 'utf8'))[0] as Workload;
  const container = workload.spec.template.spec.containers.find((c) => c.name === program);
  const value = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  if (value === undefined) throw new Error(`config/manager/${program}.yaml: container ${program} has no NODE_OPTIONS`);
  return { NODE_OPTIONS: value };
}

export async function operatorPorts(stateFile: string): Promise<OperatorPorts> {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as OperatorPorts;
  } catch {
    const ports = { controllerHttp: await freePort(), webhook: await freePort() };
    writeFileSync(stateFile, JSON.stringify(ports));
    return ports;
  }
}

export function ensureOperatorConfig(kubectl: (...args: string[]) => string, ports: OperatorPorts, scratchDir: string): void {
  kubectl('apply', '-k', join(repoRoot, 'config', 'crd'));
  kubectl('wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io',
    'crd/l2advertisements.metallb.io', 'crd/servicel2statuses.metallb.io');
  const webhookFile = join(scratchDir, 'webhook.yaml');
  writeFileSync(webhookFile, labWebhookConfiguration(ports.webhook));
  kubectl('apply', '-f', webhookFile);
}

/** The controller as its manifest runs it: a read-only root filesystem and no writable /tmp (its own
 *  mount namespace, / remounted read-only there alone), so nothing it does may write a file. */
export function ensureController(paths: { run: string; logs: string; credentials: string }, ports: OperatorPorts, extraArgs: readonly string[] = []): boolean {
  const pidFile = join(paths.run, 'controller.pid');
  if (runningPid(pidFile) !== undefined) return false;
  startDaemon({
    name: 'controller', command: 'unshare',
    // unshare and sh exec in place: the pid recorded is the controller's own.
    args: ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -o remount,bind,ro / && exec "$@"', 'controller',
      process.execPath, join(repoRoot, 'dist', 'operator', 'controller-main.js'),
      `--kubeconfig=${join(paths.credentials, 'controller.kubeconfig')}`, '--identity=lab-controller',
      `--http-port=${ports.controllerHttp}`, '--http-host=127.0.0.1',
      `--webhook-port=${ports.webhook}`, '--webhook-host=127.0.0.1', '--webhook-ip=127.0.0.1', ...extraArgs],
    logFile: join(paths.logs, 'controller.log'), pidFile, env: { ...otelEnv('l2lb-controller'), ...manifestNodeOptions('controller') },
  });
  return true;
}

/** Stops the lab's controller (SIGTERM: graceful; SIGKILL: a crash) and starts it again. */
export async function restartController(paths: { root: string; run: string; logs: string; credentials: string }, signal: NodeJS.Signals): Promise<void> {
  await stopDaemon(join(paths.run, 'controller.pid'), signal);
  ensureController(paths, await operatorPorts(join(paths.root, 'operator-ports.json')));
}

/** One announcer per node namespace, with the speaker ServiceAccount's token, reaching the API server
 *  through the node's relay. */
export function ensureAnnouncers(paths: { run: string; logs: string; credentials: string }, nodes: readonly string[]): string[] {
  const started: string[] = [];
  for (const node of nodes) {
    const pidFile = join(paths.run, `announcer-${node}.pid`);
    if (runningPid(pidFile) !== undefined) continue;
    startDaemon({
      name: `announcer-${node}`, command: process.execPath, netns: node,
      args: [join(repoRoot, 'dist', 'operator', 'speaker-main.js'), `--node=${node}`,
        `--kubeconfig=${join(paths.credentials, 'speaker.node.kubeconfig')}`, '--http-port=7472', '--http-host=127.0.0.1'],
      logFile: join(paths.logs, `announcer-${node}.log`), pidFile, env: { ...otelEnv('l2lb-speaker'), ...manifestNodeOptions('speaker') },
    });
    started.push(node);
  }
  return started;
}
