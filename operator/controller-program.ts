// The controller program (Deployment, leader-elected), started by controller-main.ts.

import { KubeClient } from './kit/kube-client.js';
import { loadKubeConfig } from './kit/kubeconfig.js';
import { createLogger } from './kit/log.js';
import { Manager } from './kit/manager.js';
import { collectProcessMetrics, kitMetrics, METRICS_PATH, metricsRoute, registry } from './kit/metrics.js';
import { parseControllerOptions } from './options.js';
import { Services } from './kit/resources.js';
import { IPAddressPools } from '../schemas/resources.js';
import { startTracing } from './kit/tracing.js';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { configStale, poolGauges, registerAllocatorMetrics, registerK8sClientMetrics } from '../reconcilers/observability/metrics.js';
import { registerControllerReconcilers } from '../reconcilers/register.js';
import type { Service } from '../reconcilers/services.js';

export async function main(): Promise<void> {
  const options = parseControllerOptions(process.argv.slice(2));
  const logger = createLogger({ fields: { component: 'controller', identity: options.identity } });
  const tracing = await startTracing('l2lb-controller');
  logger.info('tracing', tracing.config.enabled ? { exporter: 'otlp', service: tracing.config.serviceName } : { disabled: tracing.config.reason });
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
  // The same shared informers the reconcilers read (the manager hands out one per type and namespace).
  const pools = manager.informer<IPAddressPool>(IPAddressPools, { namespace: options.namespace });
  const services = manager.informer<Service>(Services);
  collectProcessMetrics();
  // The leader's figures only: a standby's warm cache would export the same gauges under its own
  // instance label, and every alert on them (the guide's MetalLBPoolExhausted) would fire once per replica.
  registerAllocatorMetrics(registry, () => (!options.leaderElect || manager.isLeader() ? poolGauges(pools.list(), services.list()) : []));
  registerK8sClientMetrics(registry, kitMetrics, () => ({ loaded: pools.hasSynced(), stale: configStale(pools.list()) }));
  if (options.leaderElect) kitMetrics.trackLeader('l2lb-controller', () => manager.isLeader());
  manager.http.route(METRICS_PATH, metricsRoute());
  manager.onShutdown(() => tracing.shutdown());
  manager.stopOnSignals();
  await manager.start();
  await manager.done;
  process.exit(0);
}

