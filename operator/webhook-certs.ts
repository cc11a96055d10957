// A CA and a serving certificate for the webhook's Service, minted in-process: keys from Node's WebCrypto
// (ECDSA P-256), certificates built by @peculiar/x509 (docs/decisions.md says why that library). Nothing
// touches the filesystem and no process is spawned, so it works under the shipped securityContext
// (read-only root, no /tmp). The result or the reason it failed is a value.

// @peculiar/x509 resolves its ASN.1 serializers through tsyringe, which needs the Reflect metadata API;
// this import must stay ahead of the library's.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface WebhookCertificateRequest {
  readonly service: string;
  readonly namespace: string;
  /** Validity of both certificates from now (default 365 days). */
  readonly validityMs?: number;
  /** Extra subject alternative names, e.g. 127.0.0.1 when the API server calls the webhook by URL. */
  readonly ipAddresses?: readonly string[];
  readonly dnsNames?: readonly string[];
  /** When the certificates start to be valid (default: now). */
  readonly now?: Date;
}

export interface WebhookCertificates {
  /** PEM of the CA: what the ValidatingWebhookConfiguration's caBundle carries. */
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

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
// Another machine's clock may run a little behind ours; a certificate valid from "now" would be refused
// there for the difference.
export const BACKDATE_MS = 5 * 60_000;
const crypto = webcrypto;

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive INTEGER
  return bytes.toString('hex');
}

export async function generateWebhookCertificates(request: WebhookCertificateRequest): Promise<CertificateResult> {
  const now = request.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + (request.validityMs ?? 365 * 86_400_000));
  try {
    const caKeys = await keyPair();
    // A distinct name per CA, so that the old and the new one can sit side by side in a caBundle and in logs.
    const caName = `CN=l2lb-webhook-ca-${randomBytes(4).toString('hex')}`;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(), name: caName, notBefore, notAfter, keys: caKeys, signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    }, crypto);
    const servingKeys = await keyPair();
    const names = [
      ...serviceDnsNames(request.service, request.namespace).map((value) => ({ type: 'dns' as const, value })),
      ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const serving = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${request.service}.${request.namespace}.svc`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: servingKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    }, crypto);
    return {
      ok: true,
      caCert: ca.toString('pem'),
      caKey: await privateKeyPem(caKeys.privateKey),
      cert: serving.toString('pem'),
      key: await privateKeyPem(servingKeys.privateKey),
    };
  } catch (error) {
    return { ok: false, reason: `minting the webhook certificates failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
