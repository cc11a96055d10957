// The webhook's certificate, owned by the controller: a CA and a serving certificate kept in a Secret
// (so every controller replica serves the same one), renewed when a third of its life is left, and the
// CA kept in the ValidatingWebhookConfiguration's caBundle, which `kubectl apply` of the manifest would
// otherwise wipe. Runs on the leader only; every replica serves from the Secret (see webhook-serving.ts).

import { X509Certificate } from 'node:crypto';
import type { Reconciler, Result } from '../operator/controller.js';
import { isStatus, type KubeClient } from '../operator/kube-client.js';
import type { Logger } from '../operator/log.js';
import { Secrets, ValidatingWebhookConfigurations, type KubeObject } from '../operator/resources.js';
import { generateWebhookCertificates, type WebhookCertificates } from '../operator/webhook-certs.js';

export const WEBHOOK_CERT_LABELS = { 'app.kubernetes.io/part-of': 'l2lb', 'l2lb.dev/role': 'webhook-certificate' } as const;
export const webhookCertSelector = Object.entries(WEBHOOK_CERT_LABELS).map(([k, v]) => `${k}=${v}`).join(',');

export interface WebhookCertificateConfig {
  readonly namespace: string;
  readonly secretName: string;
  readonly serviceName: string;
  readonly configurationName: string;
  readonly validityDays: number;
  /** Extra subject alternative names (the lab calls the webhook at 127.0.0.1). */
  readonly ipAddresses: readonly string[];
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

const MAX_RECHECK_MS = 60 * 60_000;

export function certificatesFromSecret(secret: Secret | undefined): WebhookCertificates | undefined {
  const data = secret?.data;
  if (data === undefined) return undefined;
  const text = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
  const certificates = { caCert: text('ca.crt'), caKey: text('ca.key'), cert: text('tls.crt'), key: text('tls.key') };
  return Object.values(certificates).every((value) => value !== '') ? certificates : undefined;
}

/** When the serving certificate should be replaced: a third of its life before it expires, or now if it
 *  cannot be read or lacks a name the API server may use. */
export function renewalTime(certificates: WebhookCertificates | undefined, requiredNames: readonly string[]): Date {
  if (certificates === undefined) return new Date(0);
  try {
    const cert = new X509Certificate(certificates.cert);
    const names = cert.subjectAltName ?? '';
    if (!requiredNames.every((name) => names.includes(name))) return new Date(0);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    return new Date(to - (to - from) / 3);
  } catch {
    return new Date(0);
  }
}

export class WebhookCertificateReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly config: WebhookCertificateConfig,
    private readonly logger: Logger,
  ) {}

  async reconcile(): Promise<Result> {
    const certificates = await this.ensureSecret();
    await this.ensureCaBundle(certificates.caCert);
    const renewAt = renewalTime(certificates, this.requiredNames()).getTime();
    return { requeueAfterMs: Math.max(1000, Math.min(MAX_RECHECK_MS, renewAt - Date.now())) };
  }

  private requiredNames(): string[] {
    const { serviceName, namespace, ipAddresses } = this.config;
    return [`DNS:${serviceName}.${namespace}.svc`, ...ipAddresses.map((ip) => `IP Address:${ip}`)];
  }

  private async ensureSecret(): Promise<WebhookCertificates> {
    const { namespace, secretName } = this.config;
    let secret: Secret | undefined;
    try {
      secret = await this.client.get<Secret>(Secrets, namespace, secretName);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    const current = certificatesFromSecret(secret);
    if (current !== undefined && renewalTime(current, this.requiredNames()).getTime() > Date.now()) return current;
    const generated = await generateWebhookCertificates({
      service: this.config.serviceName, namespace, days: this.config.validityDays, ipAddresses: this.config.ipAddresses,
    });
    if (!generated.ok) throw new Error(`webhook certificate: ${generated.reason}`);
    const data = Object.fromEntries(Object.entries({
      'ca.crt': generated.caCert, 'ca.key': generated.caKey, 'tls.crt': generated.cert, 'tls.key': generated.key,
    }).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    const body: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace, labels: { ...WEBHOOK_CERT_LABELS } }, data };
    if (secret === undefined) await this.client.create(Secrets, { ...body, ...{ type: 'kubernetes.io/tls' } });
    else await this.client.update(Secrets, { ...body, metadata: { ...body.metadata, resourceVersion: secret.metadata.resourceVersion } });
    this.logger.info(secret === undefined ? 'created the webhook certificate' : 'renewed the webhook certificate', { secret: `${namespace}/${secretName}` });
    return generated;
  }

  private async ensureCaBundle(caCert: string): Promise<void> {
    let configuration: WebhookConfiguration;
    try {
      configuration = await this.client.get<WebhookConfiguration>(ValidatingWebhookConfigurations, undefined, this.config.configurationName);
    } catch (error) {
      if (isStatus(error, 404)) {
        this.logger.warn('no ValidatingWebhookConfiguration to keep the CA in', { name: this.config.configurationName });
        return;
      }
      throw error;
    }
    const caBundle = Buffer.from(caCert).toString('base64');
    const patch = (configuration.webhooks ?? []).flatMap((webhook, i) =>
      webhook.clientConfig?.caBundle === caBundle ? [] : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }]);
    if (patch.length === 0) return;
    await this.client.patch(ValidatingWebhookConfigurations, undefined, this.config.configurationName,
      [{ op: 'test', path: '/metadata/resourceVersion', value: configuration.metadata.resourceVersion }, ...patch], 'json');
    this.logger.info('updated the webhook caBundle', { webhooks: patch.length });
  }
}
