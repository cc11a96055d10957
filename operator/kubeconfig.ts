// Where the operator's credentials come from: $KUBECONFIG (or --kubeconfig) when set, otherwise the
// in-cluster ServiceAccount, as every Kubernetes client does.

import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path: string | undefined = process.env.KUBECONFIG): KubeConfig {
  const config = new KubeConfig();
  if (path !== undefined && path !== '') config.loadFromFile(path);
  else config.loadFromCluster();
  return config;
}
