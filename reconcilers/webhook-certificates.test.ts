import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeApi } from '../operator/kit/testkit/fake-api.js';
import { Informer } from '../operator/kit/informer.js';
import { silentLogger } from '../operator/kit/log.js';
import { Secrets } from '../operator/kit/resources.js';
import { generateWebhookCertificates, type WebhookCertificates } from '../operator/webhook-certs.js';
import {
  applyStep, bundleCertificates, bundleText, certificatesFromSecret, desiredBundle, nextRotationStep, renewalTime, secretData,
  storedFromSecret, usable, WEBHOOK_CERT_SECRET, type RotationFacts, type RotationStep, type Secret, type StoredCertificates,
} from './webhook-certificates.js';
import { WebhookServing } from './webhook-serving.js';

const encode = (text: string): string => Buffer.from(text).toString('base64');
const pem = (name: string): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(name).toString('base64')}\n-----END CERTIFICATE-----`;
const pair = (n: number): WebhookCertificates => ({ caCert: pem(`CA-${n}`), caKey: `CAKEY-${n}`, cert: `CERT-${n}`, key: `KEY-${n}` });
const SETTLE = 60_000;
const NOW = 1_800_000_000_000;

test('a certificate is renewed with a third of its life left, and at once when it lacks a required name', async () => {
  const generated = await generateWebhookCertificates({ service: 'metallb-webhook-service', namespace: 'metallb-system', validityMs: 30 * 86_400_000, ipAddresses: ['127.0.0.1'] });
  assert.ok(generated.ok);
  const names = ['DNS:metallb-webhook-service.metallb-system.svc', 'IP Address:127.0.0.1'];
  const renewAt = renewalTime(generated, names).getTime();
  const twentyDays = 20 * 24 * 3600_000;
  assert.ok(Math.abs(renewAt - Date.now() - twentyDays) < 24 * 3600_000, `renews ~20 days from now, got ${new Date(renewAt).toISOString()}`);
  assert.equal(renewalTime(generated, ['IP Address:10.0.0.1']).getTime(), 0, 'a missing SAN renews now');
  assert.equal(renewalTime(undefined, []).getTime(), 0, 'no certificate renews now');
  assert.equal(renewalTime({ ...generated, cert: 'garbage' }, []).getTime(), 0, 'an unreadable certificate renews now');
  assert.equal(usable(generated, names, Date.now()), true);
  assert.equal(usable(generated, names, Date.now() + 31 * 24 * 3600_000), false, 'expired');
  const short = await generateWebhookCertificates({ service: 'metallb-webhook-service', namespace: 'metallb-system', validityMs: 30_000 });
  assert.ok(short.ok);
  const shortRenewAt = renewalTime(short, []).getTime() - Date.now();
  assert.ok(shortRenewAt > 15_000 && shortRenewAt <= 20_000, `a 30 s certificate renews ~20 s after it was minted (its backdated notBefore aside), got ${shortRenewAt} ms`);
  assert.equal(usable(generated, ['IP Address:10.0.0.1'], Date.now()), false, 'a name missing');
  assert.equal(usable({ ...generated, cert: 'garbage' }, [], Date.now()), false);
});

test('certificates are read from a Secret only when all four parts are present', () => {
  const data = { 'ca.crt': encode('CA'), 'ca.key': encode('CAKEY'), 'tls.crt': encode('CERT'), 'tls.key': encode('KEY') };
  assert.deepEqual(certificatesFromSecret({ metadata: {}, data }), { caCert: 'CA', caKey: 'CAKEY', cert: 'CERT', key: 'KEY' });
  assert.equal(certificatesFromSecret({ metadata: {}, data: { ...data, 'tls.key': '' } }), undefined);
  assert.equal(certificatesFromSecret(undefined), undefined);
});

test('the Secret and the caBundle round-trip what they hold', () => {
  const stored: StoredCertificates = { current: pair(2), next: { ...pair(3), since: NOW }, retired: { caCert: pair(1).caCert, since: NOW - 5 } };
  assert.deepEqual(storedFromSecret({ metadata: {}, data: secretData(stored) }), stored);
  assert.deepEqual(storedFromSecret({ metadata: {}, data: secretData({ current: pair(1) }) }), { current: pair(1) });
  assert.deepEqual(storedFromSecret(undefined), {});
  assert.deepEqual(bundleCertificates(bundleText([pem('A'), pem('B')])), [pem('A'), pem('B')]);
  assert.deepEqual(bundleCertificates(undefined), []);
  assert.deepEqual(desiredBundle(stored), [pair(2).caCert, pair(3).caCert, pair(1).caCert]);
});

describe('nextRotationStep: one decision', () => {
  const facts = (overrides: Partial<RotationFacts>): RotationFacts => ({
    now: NOW, stored: { current: pair(1) }, currentUsable: true, expiresAt: NOW + 10 * SETTLE, nextUsable: true, renewAt: NOW + 1000,
    bundles: [[pair(1).caCert]], settleMs: SETTLE, ...overrides,
  });
  const rows: Array<{ name: string; facts: Partial<RotationFacts>; expected: RotationStep }> = [
    { name: 'nothing stored: mint and serve at once (nothing to overlap with)', facts: { stored: {} }, expected: { step: 'mint-first' } },
    { name: 'the current pair is unusable (expired, unreadable): mint at once', facts: { currentUsable: false }, expected: { step: 'mint-first' } },
    { name: 'all in order: wait for the renewal time', facts: {}, expected: { step: 'wait', untilMs: NOW + 1000 } },
    { name: 'caBundle wiped (kubectl apply of the manifest): publish it again', facts: { bundles: [[]] },
      expected: { step: 'publish-bundle', bundle: [pair(1).caCert] } },
    { name: 'one webhook of two lacks the CA: publish', facts: { bundles: [[pair(1).caCert], []] },
      expected: { step: 'publish-bundle', bundle: [pair(1).caCert] } },
    { name: 'renewal due: stage the next pair, serve nothing new yet', facts: { renewAt: NOW }, expected: { step: 'stage-next' } },
    { name: 'next staged: its CA joins the bundle before anything else',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - 2 * SETTLE } } },
      expected: { step: 'publish-bundle', bundle: [pair(1).caCert, pair(2).caCert] } },
    { name: 'next staged and trusted, settling: wait',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - 10 } }, bundles: [[pair(2).caCert, pair(1).caCert]] },
      expected: { step: 'wait', untilMs: NOW - 10 + SETTLE } },
    { name: 'next staged and trusted, the current pair expiring before the settle ends: wake at its expiry',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - 10 } }, bundles: [[pair(2).caCert, pair(1).caCert]], expiresAt: NOW + 5 },
      expected: { step: 'wait', untilMs: NOW + 5 } },
    { name: 'the current pair expired while the next, already trusted, settled: promote at once (waiting refuses every admission)',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - 10 } }, bundles: [[pair(1).caCert, pair(2).caCert]], currentUsable: false },
      expected: { step: 'promote' } },
    { name: 'the current pair expired and the next is not trusted yet: mint at once',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - 10 } }, bundles: [[pair(1).caCert]], currentUsable: false },
      expected: { step: 'mint-first' } },
    { name: 'the current pair and the staged one both expired: mint at once',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - 10 } }, bundles: [[pair(1).caCert, pair(2).caCert]], currentUsable: false, nextUsable: false },
      expected: { step: 'mint-first' } },
    { name: 'next staged, trusted and settled: promote',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - SETTLE } }, bundles: [[pair(1).caCert, pair(2).caCert]] },
      expected: { step: 'promote' } },
    { name: 'no webhook configuration to keep: nothing to wait for but the settle time',
      facts: { stored: { current: pair(1), next: { ...pair(2), since: NOW - SETTLE } }, bundles: undefined }, expected: { step: 'promote' } },
    { name: 'promoted: the old CA stays trusted while replicas swap',
      facts: { stored: { current: pair(2), retired: { caCert: pair(1).caCert, since: NOW - 10 } }, bundles: [[pair(1).caCert, pair(2).caCert]] },
      expected: { step: 'wait', untilMs: NOW - 10 + SETTLE } },
    { name: 'retired CA settled: drop it from the Secret',
      facts: { stored: { current: pair(2), retired: { caCert: pair(1).caCert, since: NOW - SETTLE } }, bundles: [[pair(1).caCert, pair(2).caCert]] },
      expected: { step: 'drop-retired' } },
    { name: 'dropped from the Secret: then from the bundle', facts: { stored: { current: pair(2) }, bundles: [[pair(1).caCert, pair(2).caCert]] },
      expected: { step: 'publish-bundle', bundle: [pair(2).caCert] } },
    { name: 'due again while a CA is still retiring: finish that rotation first (never three CAs)',
      facts: { stored: { current: pair(2), retired: { caCert: pair(1).caCert, since: NOW - 10 } }, bundles: [[pair(1).caCert, pair(2).caCert]], renewAt: 0 },
      expected: { step: 'wait', untilMs: NOW - 10 + SETTLE } },
  ];
  for (const row of rows) it(row.name, () => assert.deepEqual(nextRotationStep(facts(row.facts)), row.expected));

  it('promote makes next current and retires the old CA; drop-retired keeps only current', () => {
    const promoted = applyStep({ current: pair(1), next: { ...pair(2), since: NOW - SETTLE } }, 'promote', NOW);
    assert.deepEqual(promoted, { current: pair(2), retired: { caCert: pair(1).caCert, since: NOW } });
    assert.deepEqual(applyStep(promoted, 'drop-retired', NOW), { current: pair(2) });
  });
});

test('three rotations end to end: the API server trusts every certificate any replica may serve, at every step', () => {
  const lifeMs = 24 * 3600_000;
  let minted = 0;
  const mintedAt = new Map<string, number>();
  const mint = (now: number): WebhookCertificates => {
    const made = pair(++minted);
    mintedAt.set(made.cert, now);
    return made;
  };
  let now = NOW;
  let stored: StoredCertificates = {};
  let bundle: readonly string[] = [];
  // Replicas swap to a new current certificate within settleMs; until then they may serve the old one.
  const servedSince: Array<{ ca: string; until: number }> = [];
  const steps: string[] = [];
  while (minted < 4) {
    const step = nextRotationStep({
      now, stored, currentUsable: stored.current !== undefined, bundles: [bundle], settleMs: SETTLE,
      expiresAt: stored.current === undefined ? 0 : (mintedAt.get(stored.current.cert) ?? 0) + lifeMs, nextUsable: stored.next !== undefined,
      renewAt: stored.current === undefined ? 0 : (mintedAt.get(stored.current.cert) ?? 0) + (2 * lifeMs) / 3,
    });
    steps.push(step.step);
    switch (step.step) {
      case 'mint-first': stored = { current: mint(now) }; break;
      case 'stage-next': stored = { ...stored, next: { ...mint(now), since: now } }; break;
      case 'publish-bundle': bundle = step.bundle; break;
      case 'promote':
      case 'drop-retired': {
        const before = stored.current;
        stored = applyStep(stored, step.step, now);
        if (step.step === 'promote' && before !== undefined) servedSince.push({ ca: before.caCert, until: now + SETTLE });
        break;
      }
      case 'wait': now = step.untilMs; break;
    }
    if (minted === 1 && steps.length <= 2) continue; // the first mint has nothing to overlap with
    const mayBeServed = [stored.current?.caCert, ...servedSince.filter((s) => s.until > now).map((s) => s.ca)];
    for (const ca of mayBeServed) assert.ok(ca === undefined || bundle.includes(ca), `after ${steps.join(' → ')}: ${ca} not trusted`);
    assert.ok(bundle.length <= 2, 'at most the old and the new CA');
    assert.ok(steps.length < 100, 'converges');
  }
  const rotation = ['stage-next', 'publish-bundle', 'wait', 'promote', 'wait', 'drop-retired', 'publish-bundle', 'wait'];
  assert.deepEqual(steps, ['mint-first', 'publish-bundle', 'wait', ...rotation, ...rotation, ...rotation.slice(0, 1)]);
});

test('a webhook port that cannot be bound is logged and retried, never an unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason); };
  process.on('unhandledRejection', onUnhandled);
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  const generated = await generateWebhookCertificates({ service: 'metallb-webhook-service', namespace: 'metallb-system', validityMs: 86_400_000 });
  assert.ok(generated.ok);
  const api = new FakeApi(Secrets);
  const data = secretData({ current: generated });
  api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'metallb-system', name: WEBHOOK_CERT_SECRET }, data } as Secret);
  api.put({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: 'metallb-system', name: 'impostor' }, data } as Secret);
  const secrets = new Informer<Secret>(api, Secrets, { namespace: 'metallb-system' });
  const serving = new WebhookServing(secrets, async () => [], { port, host: '127.0.0.1' }, silentLogger, { initialMs: 10, maxMs: 20, jitter: 0 });
  secrets.start();
  try {
    await secrets.waitForSync();
    for (let i = 0; i < 200 && serving.listenFailures < 2; i++) await sleep(5);
    assert.ok(serving.listenFailures >= 2, 'failed and tried again');
    assert.equal(serving.isServing(), false);
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    for (let i = 0; i < 200 && !serving.isServing(); i++) await sleep(5);
    assert.equal(serving.isServing(), true, 'serving once the port is free');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await serving.stop();
    await secrets.stop();
  }
});
