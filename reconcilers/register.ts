// Every reconciler the controller runs, and what triggers it: the one place to read to know what the
// controller reacts to.

import { controllerFor, specChanged } from '../operator/kit/controller.js';
import type { Manager } from '../operator/kit/manager.js';
import type { ControllerOptions } from '../operator/options.js';
import { EventRecorder } from '../operator/kit/events.js';
import { HEARTBEAT_LABEL, publishedInterfacesChanged } from './layer2/node-heartbeat.js';
import { DaemonSets, Leases, Namespaces, Nodes, objectKey, Secrets, Services, ValidatingWebhookConfigurations, type KubeObject } from '../operator/kit/resources.js';
import { IPAddressPools, L2Advertisements, MetalLBs } from '../schemas/resources.js';
import { speakerDaemonSet } from '../schemas/generated/speaker-daemonset.js';
import type { IPAddressPool, L2Advertisement, MetalLB } from '../schemas/generated/types.js';
import { AdvertisementsReconciler } from './advertisements.js';
import { MemberlistSecretReconciler, memberlistSecretSelector, type Secret } from './memberlist-secret.js';
import type { DaemonSet } from './install/desired.js';
import { InstallReconciler, speakerSelector } from './install.js';
import { Allocator } from './allocator/allocator.js';
import { PoolsReconciler } from './pools.js';
import { ServicesReconciler, type Service } from './services.js';
import { WEBHOOK_CERT_SECRET, WebhookCertificateReconciler, webhookCertSecretSelector, type Secret as CertificateSecret } from './webhook-certificates.js';
import { WebhookServing } from './webhook-serving.js';

export function registerControllerReconcilers(manager: Manager, options: ControllerOptions): void {
  const { logger, client } = manager;
  const inConfigNamespace = { namespace: options.namespace };
  const pools = manager.informer<IPAddressPool>(IPAddressPools, inConfigNamespace);
  const advertisements = manager.informer<L2Advertisement>(L2Advertisements, inConfigNamespace);
  const nodes = manager.informer<KubeObject>(Nodes);

  const services = manager.informer<Service>(Services);
  const namespaces = manager.informer<KubeObject>(Namespaces);
  const allocator = new Allocator();
  const servicesReconciler = new ServicesReconciler({
    client, services, pools, namespaces, allocator, logger: logger.child({ controller: 'services' }),
    events: new EventRecorder(client, 'metallb.io/controller', options.identity, logger),
    loadBalancerClass: options.loadBalancerClass,
  });
  const servicesController = controllerFor('services', servicesReconciler)
    .owns(services)
    .watches(pools, () => services.keys(), specChanged) // a status write changes no Service's address
    .watches(namespaces, (namespace) => services.list().filter((s) => s.metadata.namespace === namespace.metadata.name).map(objectKey))
    .workers(4)
    .build(logger);
  servicesReconciler.enqueue = (keys) => {
    for (const key of keys) servicesController.queue.add(key);
  };
  manager.add(servicesController);

  const usage = { usage: () => { servicesReconciler.prepare(); return allocator.usage(); } };
  const poolsController = controllerFor('pools', new PoolsReconciler(client, pools, usage))
    .owns(pools)
    .watches(pools, () => pools.keys(), specChanged) // a pool's overlap with another shows in both
    .build(logger);
  allocator.onUsageChange((changed) => {
    for (const pool of changed) poolsController.queue.add(`${options.namespace}/${pool}`);
  });
  manager.add(poolsController);

  const heartbeats = manager.informer<KubeObject>(Leases, { ...inConfigNamespace, labelSelector: `${HEARTBEAT_LABEL}=true` });
  manager.add(controllerFor('advertisements', new AdvertisementsReconciler(client, advertisements, pools, nodes, heartbeats, options.namespace))
    .owns(advertisements)
    .watches(pools, () => advertisements.keys(), specChanged)
    .watches(nodes, () => advertisements.keys())
    .watches(heartbeats, () => advertisements.keys(), publishedInterfacesChanged) // not every renewal
    .build(logger));

  // The heartbeat key announcers authenticate each other with: made once when absent, never changed.
  const memberlist = manager.informer<Secret>(Secrets, { ...inConfigNamespace, ...memberlistSecretSelector });
  const memberlistKey = (): string[] => ['memberlist'];
  manager.add(controllerFor('memberlist-secret', new MemberlistSecretReconciler(client, memberlist, options.namespace, logger))
    .watches(memberlist, memberlistKey)
    .build(logger, memberlistKey));

  if (options.webhookPort !== 0) {
    const secrets = manager.informer<CertificateSecret>(Secrets, { ...inConfigNamespace, ...webhookCertSecretSelector });
    const configurations = manager.informer<KubeObject>(ValidatingWebhookConfigurations);
    const certificates = new WebhookCertificateReconciler(client, {
      namespace: options.namespace,
      secretName: WEBHOOK_CERT_SECRET,
      serviceName: 'metallb-webhook-service',
      configurationName: 'metallb-webhook-configuration',
      validityMs: options.webhookCertValidityMs,
      settleMs: options.webhookRotationSettleMs,
      ipAddresses: options.webhookIPs,
    }, logger);
    const webhookKey = (): string[] => ['webhook'];
    manager.add(controllerFor('webhook-certificates', certificates)
      .watches(secrets, webhookKey)
      .watches(configurations, (c) => (c.metadata.name === 'metallb-webhook-configuration' ? webhookKey() : []))
      .build(logger, webhookKey));
    // Every replica serves admission, leader or not: the webhook Service routes to any of them.
    const storedPools = async (signal: AbortSignal): Promise<IPAddressPool[]> => (await client.list<IPAddressPool>(IPAddressPools, options.namespace, undefined, signal)).items;
    const serving = new WebhookServing(secrets, storedPools, { port: options.webhookPort, host: options.webhookHost }, logger);
    manager.onShutdown(() => serving.stop());
  }

  // Always on: every install (kustomize, install.yaml, OLM) ships the MetalLB CRD and the rights, and with
  // no MetalLB resource it writes nothing. The speaker DaemonSet maps back to the one MetalLB it serves.
  const metallbs = manager.informer<MetalLB>(MetalLBs, inConfigNamespace);
  const speakers = manager.informer<DaemonSet & KubeObject>(DaemonSets, { ...inConfigNamespace, labelSelector: speakerSelector });
  manager.add(controllerFor('install', new InstallReconciler(client, metallbs, speakers, {
    namespace: options.namespace, template: speakerDaemonSet, ...(options.speakerImage === undefined ? {} : { image: options.speakerImage }),
  }, logger.child({ controller: 'install' })))
    .owns(metallbs)
    .watches(speakers, () => metallbs.keys())
    .build(logger));
}
