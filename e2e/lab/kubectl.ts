// kubectl against the lab, as its users run it: the lab's own kubectl (same version as the API server)
// with the admin kubeconfig. `kubectlResult` keeps a failure's message instead of throwing.

import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { labPaths, type LabPaths } from './lab.js';

function kubectlPath(paths: LabPaths): string {
  const env = readFileSync(paths.env, 'utf8');
  const bin = /export PATH=([^:\n]+):/.exec(env)?.[1];
  if (bin === undefined) throw new Error(`${paths.env}: no PATH line; is the lab up?`);
  return `${bin}/kubectl`;
}

export interface KubectlResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export function kubectlResult(args: readonly string[], input?: string, paths = labPaths()): KubectlResult {
  const result = spawnSync(kubectlPath(paths), [`--kubeconfig=${paths.kubeconfig}`, ...args], { encoding: 'utf8', input });
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

export function kubectl(...args: string[]): string {
  const result = kubectlResult(args);
  if (!result.ok) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** kubectl without blocking the event loop (a long `drain` while a prober's output is being read). */
export async function kubectlAsync(...args: string[]): Promise<string> {
  const paths = labPaths();
  return new Promise((resolve, reject) => {
    execFile(kubectlPath(paths), [`--kubeconfig=${paths.kubeconfig}`, ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
    });
  });
}

/** `kubectl apply -f -` of `yaml`; throws with kubectl's message when it is refused. */
export function kubectlApply(yaml: string): void {
  const result = kubectlResult(['apply', '-f', '-'], yaml);
  if (!result.ok) throw new Error(`kubectl apply: ${result.stderr.trim()}`);
}

/** A refusal that is no judgement of the object: the webhook not reachable yet, or unable to list the
 *  pools to check against. Worth the same request again. */
export const ADMISSION_NOT_DECIDED = /failed calling webhook|nothing was stored, try again/;

/** kubectlApply, retried for up to `timeoutMs` while the admission webhook cannot be reached or cannot
 *  list the pools to check against: right after an API outage a controller replica that lost its lease
 *  exits and its kubelet restarts it, and until its Pod reads not Ready the API server may still send it
 *  admissions (502 from the egress proxy). Any other refusal throws at once. */
export async function kubectlApplyAdmitted(yaml: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = kubectlResult(['apply', '-f', '-'], yaml);
    if (result.ok) return;
    if (!ADMISSION_NOT_DECIDED.test(result.stderr) || Date.now() > deadline) throw new Error(`kubectl apply: ${result.stderr.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
