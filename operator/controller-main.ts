// The controller's entry point (Deployment, leader-elected): `node dist/operator/controller-main.js`.

import { KubeClient } from './kube-client.js';
import { loadKubeConfig } from './kubeconfig.js';
import { createLogger, errorText } from './log.js';
import { Manager } from './manager.js';
import { parseControllerOptions } from './options.js';
import { registerControllerReconcilers } from '../reconcilers/register.js';

async function main(): Promise<void> {
  const options = parseControllerOptions(process.argv.slice(2));
  const logger = createLogger({ fields: { component: 'controller', identity: options.identity } });
  const client = await KubeClient.create(loadKubeConfig(options.kubeconfig), 'l2lb-controller');
  const manager = new Manager({
    client,
    logger,
    httpPort: options.httpPort,
    httpHost: options.httpHost,
    leaderElection: options.leaderElect
      ? {
          namespace: options.namespace,
          name: 'l2lb-controller',
          identity: options.identity,
          leaseDurationMs: options.leaseDurationMs,
          renewDeadlineMs: options.renewDeadlineMs,
          retryPeriodMs: options.retryPeriodMs,
        }
      : undefined,
  });
  registerControllerReconcilers(manager, options);
  manager.stopOnSignals();
  await manager.start();
  await manager.done;
  process.exit(0);
}

main().catch((error: unknown) => {
  createLogger().error('controller failed', { error: errorText(error) });
  process.exit(1);
});
