// The webhook's certificates, owned by the controller: a CA and a serving certificate kept in a Secret (so
// every controller replica serves the same one), renewed when a third of the serving certificate's life
// is left, and the CAs kept in the ValidatingWebhookConfiguration's caBundle, which `kubectl apply` of the
// manifest would otherwise wipe. Runs on the leader only; every replica serves from the Secret
// (webhook-serving.ts).
//
// Rotation has no gap because the API server always trusts the CA of whatever certificate any replica
// serves. One step per reconcile, decided by `nextRotationStep` from plain facts:
//   stage-next      mint a new CA and serving certificate, kept beside the current ones in the Secret;
//   publish-bundle  caBundle := current CA + next CA (+ a retiring CA): trusted before it is served;
//   promote         after settleMs: the next pair becomes current (replicas swap their certificate), the
//                   old CA stays in caBundle as "retiring", for replicas that have not swapped yet;
//   drop-retired    after settleMs more: the old CA leaves the Secret, then (publish-bundle) the caBundle.
// Only when there is no usable certificate at all (first start, or one destroyed) is a pair minted and
// served at once: there is nothing valid to overlap with. A current pair that expires while the next one
// settles (a life shorter than the settle time, or a leader away that long) gives way to the next at
// once if the API server trusts it already: waiting out the settle would refuse every admission.

import { X509Certificate } from 'node:crypto';
import type { Reconciler, Result } from '../operator/kit/controller.js';
import { isStatus, type KubeClient } from '../operator/kit/kube-client.js';
import type { Logger } from '../operator/kit/log.js';
import { Secrets, ValidatingWebhookConfigurations, type KubeObject } from '../operator/kit/resources.js';
import { BACKDATE_MS, generateWebhookCertificates, type WebhookCertificates } from '../operator/webhook-certs.js';

export const WEBHOOK_CERT_LABELS = { 'app.kubernetes.io/part-of': 'l2lb', 'l2lb.dev/role': 'webhook-certificate' } as const;
export const WEBHOOK_CERT_SECRET = 'metallb-webhook-cert';
/** The informer options that keep only the certificate Secret in the cache (and let RBAC name it). */
export const webhookCertSecretSelector = { fieldSelector: `metadata.name=${WEBHOOK_CERT_SECRET}` } as const;

export interface WebhookCertificateConfig {
  readonly namespace: string;
  readonly secretName: string;
  readonly serviceName: string;
  readonly configurationName: string;
  readonly validityMs: number;
  /** Extra subject alternative names (the lab calls the webhook at 127.0.0.1). */
  readonly ipAddresses: readonly string[];
  /** How long each rotation phase waits for the API server and every replica to catch up (default 60 s). */
  readonly settleMs?: number;
}

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

const MAX_RECHECK_MS = 60 * 60_000;
const STEP_RECHECK_MS = 1000;
export const DEFAULT_SETTLE_MS = 60_000;

/** What the Secret holds: the pair being served, a pair waiting for the caBundle, a CA being retired. */
export interface StoredCertificates {
  readonly current?: WebhookCertificates;
  readonly next?: WebhookCertificates & { readonly since: number };
  readonly retired?: { readonly caCert: string; readonly since: number };
}

const decode = (data: Record<string, string>, key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');

function pairFrom(data: Record<string, string>, prefix: string): WebhookCertificates | undefined {
  const pair = { caCert: decode(data, `${prefix}ca.crt`), caKey: decode(data, `${prefix}ca.key`), cert: decode(data, `${prefix}tls.crt`), key: decode(data, `${prefix}tls.key`) };
  return Object.values(pair).every((value) => value !== '') ? pair : undefined;
}

/** The pair being served, when all four parts are present. */
export function certificatesFromSecret(secret: Secret | undefined): WebhookCertificates | undefined {
  return secret?.data === undefined ? undefined : pairFrom(secret.data, '');
}

export function storedFromSecret(secret: Secret | undefined): StoredCertificates {
  const data = secret?.data;
  if (data === undefined) return {};
  const current = pairFrom(data, '');
  const next = pairFrom(data, 'next-');
  const nextSince = Date.parse(decode(data, 'next-since'));
  const retiredCa = decode(data, 'retired-ca.crt');
  const retiredSince = Date.parse(decode(data, 'retired-since'));
  return {
    ...(current === undefined ? {} : { current }),
    ...(next === undefined || Number.isNaN(nextSince) ? {} : { next: { ...next, since: nextSince } }),
    ...(retiredCa === '' || Number.isNaN(retiredSince) ? {} : { retired: { caCert: retiredCa, since: retiredSince } }),
  };
}

/** The Secret's data for `stored` (base64, as the API wants it). */
export function secretData(stored: StoredCertificates): Record<string, string> {
  const text: Record<string, string> = {};
  const put = (prefix: string, pair: WebhookCertificates): void => {
    Object.assign(text, { [`${prefix}ca.crt`]: pair.caCert, [`${prefix}ca.key`]: pair.caKey, [`${prefix}tls.crt`]: pair.cert, [`${prefix}tls.key`]: pair.key });
  };
  if (stored.current !== undefined) put('', stored.current);
  if (stored.next !== undefined) {
    put('next-', stored.next);
    text['next-since'] = new Date(stored.next.since).toISOString();
  }
  if (stored.retired !== undefined) {
    text['retired-ca.crt'] = stored.retired.caCert;
    text['retired-since'] = new Date(stored.retired.since).toISOString();
  }
  return Object.fromEntries(Object.entries(text).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

/** The PEM certificates in a caBundle (base64 of concatenated PEM). */
export function bundleCertificates(caBundle: string | undefined): string[] {
  const text = Buffer.from(caBundle ?? '', 'base64').toString('utf8');
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => pem.trim());
}

/** The CAs the API server must trust for `stored`: every one whose certificate a replica may serve. */
export function desiredBundle(stored: StoredCertificates): string[] {
  const cas = [stored.current?.caCert, stored.next?.caCert, stored.retired?.caCert].filter((ca): ca is string => ca !== undefined);
  return [...new Set(cas.map((ca) => ca.trim()))];
}

export function bundleText(cas: readonly string[]): string {
  return Buffer.from(cas.map((ca) => `${ca.trim()}\n`).join('')).toString('base64');
}

export interface RotationFacts {
  readonly now: number;
  readonly stored: StoredCertificates;
  /** Whether the current pair can be served at all (readable, unexpired, with every required name). */
  readonly currentUsable: boolean;
  /** When the current serving certificate expires: no wait outlasts it. */
  readonly expiresAt: number;
  /** Whether the staged next pair, if there is one, can be served. */
  readonly nextUsable: boolean;
  /** When the current serving certificate is due for renewal. */
  readonly renewAt: number;
  /** The CAs each webhook of the configuration trusts; undefined when there is no configuration. */
  readonly bundles: ReadonlyArray<readonly string[]> | undefined;
  readonly settleMs: number;
}

export type RotationStep =
  | { readonly step: 'mint-first' }
  | { readonly step: 'stage-next' }
  | { readonly step: 'publish-bundle'; readonly bundle: readonly string[] }
  | { readonly step: 'promote' }
  | { readonly step: 'drop-retired' }
  | { readonly step: 'wait'; readonly untilMs: number };

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item) => b.includes(item));

/** The one thing to do next; see the top of this file for the phases. */
export function nextRotationStep(facts: RotationFacts): RotationStep {
  const { stored, now, settleMs } = facts;
  if (stored.current === undefined) return { step: 'mint-first' };
  const bundle = desiredBundle(stored);
  const trusted = facts.bundles === undefined || facts.bundles.every((cas) => sameSet(cas.map((ca) => ca.trim()), bundle));
  if (!facts.currentUsable) return stored.next !== undefined && facts.nextUsable && trusted ? { step: 'promote' } : { step: 'mint-first' };
  // The bundle first, always: nothing is promoted, and no CA dropped, until the API server's trust
  // matches what the Secret says may be served.
  if (!trusted) return { step: 'publish-bundle', bundle };
  if (stored.next !== undefined) {
    const ready = stored.next.since + settleMs;
    return now >= ready ? { step: 'promote' } : { step: 'wait', untilMs: Math.min(ready, facts.expiresAt) };
  }
  if (stored.retired !== undefined) {
    const ready = stored.retired.since + settleMs;
    return now >= ready ? { step: 'drop-retired' } : { step: 'wait', untilMs: Math.min(ready, facts.expiresAt) };
  }
  return facts.renewAt <= now ? { step: 'stage-next' } : { step: 'wait', untilMs: facts.renewAt };
}

/** The Secret's contents after `step` (for the steps that change it). */
export function applyStep(stored: StoredCertificates, step: 'promote' | 'drop-retired', now: number): StoredCertificates {
  if (step === 'drop-retired') return stored.current === undefined ? {} : { current: stored.current };
  if (stored.next === undefined || stored.current === undefined) return stored;
  const { since: _since, ...next } = stored.next;
  return { current: next, retired: { caCert: stored.current.caCert, since: now } };
}

/** When the serving certificate should be replaced: a third of its life before it expires, or now if it
 *  cannot be read or lacks a name the API server may use. Its life counts from when it was minted, not
 *  from its backdated notBefore (which would make a certificate of minutes due at once). */
export function renewalTime(certificates: WebhookCertificates | undefined, requiredNames: readonly string[]): Date {
  if (certificates === undefined) return new Date(0);
  try {
    const cert = new X509Certificate(certificates.cert);
    const names = cert.subjectAltName ?? '';
    if (!requiredNames.every((name) => names.includes(name))) return new Date(0);
    const to = Date.parse(cert.validTo);
    const minted = Math.min(Date.parse(cert.validFrom) + BACKDATE_MS, to);
    return new Date(to - (to - minted) / 3);
  } catch {
    return new Date(0);
  }
}

/** When a pair's serving certificate expires; 0 when it cannot be read. */
export function expiryTime(certificates: WebhookCertificates | undefined): number {
  if (certificates === undefined) return 0;
  try {
    return Date.parse(new X509Certificate(certificates.cert).validTo);
  } catch {
    return 0;
  }
}

/** Whether a pair can be served at `now`: readable, with every required name, not expired. */
export function usable(certificates: WebhookCertificates | undefined, requiredNames: readonly string[], now: number): boolean {
  if (certificates === undefined) return false;
  try {
    const cert = new X509Certificate(certificates.cert);
    const names = cert.subjectAltName ?? '';
    return requiredNames.every((name) => names.includes(name)) && Date.parse(cert.validTo) > now;
  } catch {
    return false;
  }
}

export class WebhookCertificateReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly config: WebhookCertificateConfig,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async reconcile(): Promise<Result> {
    const { namespace, secretName, configurationName } = this.config;
    const secret = await this.read<Secret>(Secrets, namespace, secretName);
    const configuration = await this.read<WebhookConfiguration>(ValidatingWebhookConfigurations, undefined, configurationName);
    const stored = storedFromSecret(secret);
    const now = this.now();
    const names = this.requiredNames();
    const step = nextRotationStep({
      now,
      stored,
      currentUsable: usable(stored.current, names, now),
      expiresAt: expiryTime(stored.current),
      nextUsable: usable(stored.next, names, now),
      renewAt: renewalTime(stored.current, names).getTime(),
      bundles: configuration?.webhooks?.map((webhook) => bundleCertificates(webhook.clientConfig?.caBundle)),
      settleMs: this.config.settleMs ?? DEFAULT_SETTLE_MS,
    });
    switch (step.step) {
      case 'wait':
        if (configuration === undefined) this.logger.warn('no ValidatingWebhookConfiguration to keep the CA in', { name: configurationName });
        return { requeueAfterMs: Math.max(STEP_RECHECK_MS, Math.min(MAX_RECHECK_MS, step.untilMs - now)) };
      case 'mint-first':
        await this.writeSecret(secret, { current: await this.mint() }, 'minted the webhook certificate');
        break;
      case 'stage-next':
        await this.writeSecret(secret, { ...stored, next: { ...(await this.mint()), since: now } }, 'staged the next webhook certificate');
        break;
      case 'publish-bundle':
        if (configuration !== undefined) await this.publishBundle(configuration, step.bundle);
        break;
      case 'promote':
        await this.writeSecret(secret, applyStep(stored, 'promote', now), 'serving the next webhook certificate; the old CA is retiring');
        break;
      case 'drop-retired':
        await this.writeSecret(secret, applyStep(stored, 'drop-retired', now), 'dropped the retired webhook CA');
        break;
    }
    return { requeueAfterMs: STEP_RECHECK_MS };
  }

  private requiredNames(): string[] {
    const { serviceName, namespace, ipAddresses } = this.config;
    return [`DNS:${serviceName}.${namespace}.svc`, ...ipAddresses.map((ip) => `IP Address:${ip}`)];
  }

  private async read<T>(type: typeof Secrets, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(type, namespace, name);
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  private async mint(): Promise<WebhookCertificates> {
    const generated = await generateWebhookCertificates({
      service: this.config.serviceName, namespace: this.config.namespace, validityMs: this.config.validityMs, ipAddresses: this.config.ipAddresses,
    });
    if (!generated.ok) throw new Error(`webhook certificate: ${generated.reason}`);
    const { ok: _ok, ...pair } = generated;
    return pair;
  }

  private async writeSecret(existing: Secret | undefined, stored: StoredCertificates, message: string): Promise<void> {
    const { namespace, secretName } = this.config;
    const body: Secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: secretName, namespace, labels: { ...WEBHOOK_CERT_LABELS } },
      data: secretData(stored),
    };
    // The resourceVersion makes each step a compare-and-swap: a step decided on stale facts fails (409)
    // and is decided again.
    if (existing === undefined) await this.client.create(Secrets, body);
    else await this.client.update(Secrets, { ...body, type: existing.type ?? body.type, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } });
    this.logger.info(message, { secret: `${namespace}/${secretName}` });
  }

  private async publishBundle(configuration: WebhookConfiguration, bundle: readonly string[]): Promise<void> {
    const caBundle = bundleText(bundle);
    const patch = (configuration.webhooks ?? []).flatMap((webhook, i) =>
      webhook.clientConfig?.caBundle === caBundle ? [] : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }]);
    if (patch.length === 0) return;
    await this.client.patch(ValidatingWebhookConfigurations, undefined, this.config.configurationName,
      [{ op: 'test', path: '/metadata/resourceVersion', value: configuration.metadata.resourceVersion }, ...patch], 'json');
    this.logger.info('updated the webhook caBundle', { webhooks: patch.length, cas: bundle.length });
  }
}
