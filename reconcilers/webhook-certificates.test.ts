import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWebhookCertificates } from '../operator/webhook-certs.js';
import { certificatesFromSecret, renewalTime } from './webhook-certificates.js';

const encode = (text: string): string => Buffer.from(text).toString('base64');

test('a certificate is renewed with a third of its life left, and at once when it lacks a required name', async () => {
  const generated = await generateWebhookCertificates({ service: 'metallb-webhook-service', namespace: 'metallb-system', days: 30, ipAddresses: ['127.0.0.1'] });
  assert.ok(generated.ok);
  const renewAt = renewalTime(generated, ['DNS:metallb-webhook-service.metallb-system.svc', 'IP Address:127.0.0.1']).getTime();
  const twentyDays = 20 * 24 * 3600_000;
  assert.ok(Math.abs(renewAt - Date.now() - twentyDays) < 24 * 3600_000, `renews ~20 days from now, got ${new Date(renewAt).toISOString()}`);
  assert.equal(renewalTime(generated, ['IP Address:10.0.0.1']).getTime(), 0, 'a missing SAN renews now');
  assert.equal(renewalTime(undefined, []).getTime(), 0, 'no certificate renews now');
  assert.equal(renewalTime({ ...generated, cert: 'garbage' }, []).getTime(), 0, 'an unreadable certificate renews now');
});

test('certificates are read from a Secret only when all four parts are present', () => {
  const data = { 'ca.crt': encode('CA'), 'ca.key': encode('CAKEY'), 'tls.crt': encode('CERT'), 'tls.key': encode('KEY') };
  assert.deepEqual(certificatesFromSecret({ metadata: {}, data }), { caCert: 'CA', caKey: 'CAKEY', cert: 'CERT', key: 'KEY' });
  assert.equal(certificatesFromSecret({ metadata: {}, data: { ...data, 'tls.key': '' } }), undefined);
  assert.equal(certificatesFromSecret(undefined), undefined);
});
