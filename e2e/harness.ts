// A private control plane for one e2e test file: its own etcd and kube-apiserver on free ports under a
// temporary directory, removed again by `stop`, so test files never share state with each other or the lab.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { ControlPlane } from './controlplane.js';
import { fixtureBin } from './fixtures.js';
import { run } from './lab/processes.js';

export interface TestCluster {
  readonly plane: ControlPlane;
  readonly root: string;
  readonly kubeconfig: string;
  readonly client: KubeClient;
  kubectl(...args: string[]): string;
  etcdctl(...args: string[]): string;
  stop(): Promise<void>;
}

export async function startTestCluster(name: string): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), `l2lb-${name}-`));
  const kubeBin = fixtureBin('kube');
  const etcdBin = fixtureBin('etcd');
  const plane = await ControlPlane.up({
    stateDir: join(root, 'state'), logDir: join(root, 'logs'), pidDir: join(root, 'run'), kubeBin, etcdBin,
  });
  const client = await KubeClient.create(loadKubeConfig(plane.kubeconfigPath), `l2lb-e2e-${name}`);
  return {
    plane,
    root,
    kubeconfig: plane.kubeconfigPath,
    client,
    kubectl: (...args) => run(join(kubeBin, 'kubectl'), [`--kubeconfig=${plane.kubeconfigPath}`, ...args]),
    etcdctl: (...args) => run(join(etcdBin, 'etcdctl'), [`--endpoints=http://127.0.0.1:${plane.ports.etcdClient}`, ...args]),
    async stop() {
      client.close();
      await plane.down();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Writes `text` to a file under the cluster's directory and returns its path (for `kubectl apply -f`). */
export function writeManifest(cluster: TestCluster, name: string, text: string): string {
  const path = join(cluster.root, name);
  writeFileSync(path, text);
  return path;
}
