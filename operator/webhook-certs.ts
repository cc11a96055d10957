// A self-signed CA and a serving certificate for the webhook's Service, made with the openssl CLI:
// Node 20's crypto can sign but cannot build X.509 certificates, and a CLI call keeps the dependency
// list as it is. I/O (temporary files, a child process); the result or the reason it failed is a value.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WebhookCertificateRequest {
  readonly service: string;
  readonly namespace: string;
  /** Validity of both certificates. */
  readonly days?: number;
  /** Extra subject alternative names, e.g. 127.0.0.1 when the API server calls the webhook by URL. */
  readonly ipAddresses?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly openssl?: string;
}

export interface WebhookCertificates {
  /** PEM of the CA: the ValidatingWebhookConfiguration's caBundle (base64 of this text). */
  readonly caCert: string;
  readonly caKey: string;
  /** PEM of the serving certificate and its key, for the HTTPS server. */
  readonly cert: string;
  readonly key: string;
}

export type CertificateResult = ({ readonly ok: true } & WebhookCertificates) | { readonly ok: false; readonly reason: string };

/** The names the API server may use for `<service>.<namespace>.svc`, shortest first. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export async function generateWebhookCertificates(request: WebhookCertificateRequest): Promise<CertificateResult> {
  const openssl = request.openssl ?? 'openssl';
  const days = String(request.days ?? 365);
  const dir = await mkdtemp(join(tmpdir(), 'l2lb-webhook-certs-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const sans = [
    ...serviceDnsNames(request.service, request.namespace).map((name) => `DNS:${name}`),
    ...(request.dnsNames ?? []).map((name) => `DNS:${name}`),
    ...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  try {
    await run(openssl, ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', days,
      '-subj', '/CN=l2lb-webhook-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    await run(openssl, ['req', ...ec, '-keyout', file('tls.key'), '-out', file('tls.csr'),
      '-subj', `/CN=${request.service}.${request.namespace}.svc`]);
    await writeFile(
      file('ext.cnf'),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`,
    );
    await run(openssl, ['x509', '-req', '-in', file('tls.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'),
      '-CAcreateserial', '-out', file('tls.crt'), '-days', days, '-extfile', file('ext.cnf')]);
    const [caCert, caKey, cert, key] = await Promise.all(['ca.crt', 'ca.key', 'tls.crt', 'tls.key'].map((n) => readFile(file(n), 'utf8')));
    return { ok: true, caCert: caCert ?? '', caKey: caKey ?? '', cert: cert ?? '', key: key ?? '' };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `openssl (${openssl}) failed: ${detail}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
