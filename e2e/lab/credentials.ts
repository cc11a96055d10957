// Kubeconfigs for the operator's own ServiceAccounts (config/rbac), with tokens from the TokenRequest API:
// in the lab the controller and announcers run with exactly the rights a cluster would give their pods.

import { writeFileSync } from 'node:fs';
import { kubeconfigYaml } from '../controlplane.js';

export function writeServiceAccountKubeconfig(options: {
  kubectl: (...args: string[]) => string;
  server: string;
  caFile: string;
  namespace: string;
  serviceAccount: string;
  path: string;
}): void {
  const token = options.kubectl('create', 'token', options.serviceAccount, '-n', options.namespace, '--duration=48h').trim();
  writeFileSync(options.path, kubeconfigYaml({
    server: options.server, caFile: options.caFile, user: `${options.namespace}:${options.serviceAccount}`,
    token, namespace: options.namespace,
  }), { mode: 0o600 });
}
