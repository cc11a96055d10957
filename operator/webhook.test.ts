import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { IPAddressPool } from '../schemas/generated/types.js';
import { admissionResponse, needsExistingPools } from './webhook-admission.js';
import { generateWebhookCertificates, type WebhookCertificates } from './webhook-certs.js';
import { WebhookServer } from './webhook-server.js';

const production: IPAddressPool = {
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name: 'production-pool', namespace: 'metallb-system' },
  spec: { addresses: ['192.168.1.240/28'] },
};

function reviewOf(kind: string, object: unknown, operation = 'CREATE', namespace = 'metallb-system'): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'uid-1', kind: { group: 'metallb.io', version: 'v1beta1', kind }, operation, namespace, object },
  };
}

describe('admissionResponse', () => {
  it('admits a valid pool, echoing the uid', () => {
    const staging = { ...production, metadata: { name: 'staging-pool', namespace: 'metallb-system' }, spec: { addresses: ['192.168.1.200-192.168.1.204'] } };
    assert.deepEqual(admissionResponse(reviewOf('IPAddressPool', staging), [production]), {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-1', allowed: true },
    });
  });
  it('refuses an overlapping pool with the validator message', () => {
    const staging = { ...production, metadata: { name: 'staging-pool', namespace: 'metallb-system' }, spec: { addresses: ['192.168.1.250'] } };
    const { response } = admissionResponse(reviewOf('IPAddressPool', staging), [production]);
    assert.equal(response.allowed, false);
    assert.equal(response.status?.code, 403);
    assert.match(response.status?.message ?? '', /^ipaddresspool "staging-pool": spec\.addresses\[0\] "192\.168\.1\.250": overlaps ipaddresspool "production-pool"/);
  });
  it('admits an update of a pool (its old self is not an overlap)', () => {
    assert.equal(admissionResponse(reviewOf('IPAddressPool', production, 'UPDATE'), [production]).response.allowed, true);
  });
  it('uses the request namespace for an object that names none', () => {
    const { namespace: _ns, ...metadata } = production.metadata;
    assert.equal(admissionResponse(reviewOf('IPAddressPool', { ...production, metadata }), []).response.allowed, true);
  });
  it('admits an advertisement naming a missing pool (status reports it, the cache may lag)', () => {
    const advertisement = { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'a', namespace: 'metallb-system' }, spec: { ipAddressPools: ['ghost-pool'] } };
    assert.deepEqual(admissionResponse(reviewOf('L2Advertisement', advertisement), [production]).response, { uid: 'uid-1', allowed: true });
  });
  it('admits DELETE without looking', () => {
    assert.equal(admissionResponse(reviewOf('IPAddressPool', null, 'DELETE'), []).response.allowed, true);
  });
  it('needs the stored pools only to decide a pool created or updated', () => {
    const cases: Array<[string, unknown, boolean]> = [
      ['pool CREATE', reviewOf('IPAddressPool', production), true],
      ['pool UPDATE', reviewOf('IPAddressPool', production, 'UPDATE'), true],
      ['pool DELETE', reviewOf('IPAddressPool', null, 'DELETE'), false],
      ['advertisement CREATE', reviewOf('L2Advertisement', {}), false],
      ['not a review', { hello: 1 }, false],
    ];
    for (const [name, body, expected] of cases) assert.equal(needsExistingPools(body), expected, name);
  });
  it('refuses a body that is not an AdmissionReview', () => {
    assert.equal(admissionResponse({ hello: 1 }, []).response.status?.code, 400);
  });
  it('refuses a kind sent to the wrong endpoint', () => {
    const { response } = admissionResponse(reviewOf('IPAddressPool', production), [], 'L2Advertisement');
    assert.equal(response.allowed, false);
    assert.match(response.status?.message ?? '', /validates L2Advertisement, not IPAddressPool/);
  });
});

describe('WebhookServer over TLS with generated certificates', () => {
  let certs: WebhookCertificates;
  let server: WebhookServer;
  let port = 0;
  // What the server reads per request: the stored pools, or a failure to list them.
  let listing: 'ok' | 'failing' = 'ok';
  let lists = 0;

  before(async () => {
    const result = await generateWebhookCertificates({ service: 'metallb-webhook-service', namespace: 'metallb-system', validityMs: 86_400_000, ipAddresses: ['127.0.0.1'] });
    assert.ok(result.ok, result.ok ? '' : result.reason);
    certs = result;
    server = new WebhookServer({ cert: certs.cert, key: certs.key, pools: async () => {
      lists++;
      if (listing === 'failing') throw new Error('GET /apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools: no answer in 5000 ms');
      return [production];
    }, port: 0, host: '127.0.0.1' });
    port = await server.start();
  });
  after(async () => server.stop());

  const post = (path: string, body: unknown, servername = 'metallb-webhook-service.metallb-system.svc') =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, method: 'POST', ca: certs.caCert, servername, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });

  it('the serving certificate is trusted through the CA for <service>.<namespace>.svc', async () => {
    const reply = await post('/validate-metallb-io-v1beta1-ipaddresspool', reviewOf('IPAddressPool', { ...production, metadata: { name: 'p', namespace: 'metallb-system' }, spec: { addresses: ['192.168.1.241'] } }));
    assert.equal(reply.status, 200);
    const review = JSON.parse(reply.body) as { response: { allowed: boolean; status?: { message: string } } };
    assert.equal(review.response.allowed, false);
    assert.match(review.response.status?.message ?? '', /overlaps ipaddresspool "production-pool"/);
  });
  it('serves the advertisement path', async () => {
    const reply = await post('/validate-metallb-io-v1beta1-l2advertisement', reviewOf('L2Advertisement', { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'a', namespace: 'metallb-system' } }));
    assert.equal((JSON.parse(reply.body) as { response: { allowed: boolean } }).response.allowed, true);
  });
  it('a pool whose peers cannot be listed is refused with the reason; an advertisement does not need them', async () => {
    listing = 'failing';
    try {
      const before = lists;
      const reply = await post('/validate-metallb-io-v1beta1-ipaddresspool', reviewOf('IPAddressPool', { ...production, metadata: { name: 'p', namespace: 'metallb-system' }, spec: { addresses: ['10.9.0.0/24'] } }));
      const review = JSON.parse(reply.body) as { response: { uid: string; allowed: boolean; status?: { code: number; message: string } } };
      assert.equal(review.response.uid, 'uid-1');
      assert.equal(review.response.allowed, false);
      assert.equal(review.response.status?.code, 503);
      assert.match(review.response.status?.message ?? '', /^cannot check this IPAddressPool against the others: listing IPAddressPools failed: GET .*no answer in 5000 ms; nothing was stored, try again$/);
      assert.equal(lists, before + 1);
      const advertisement = await post('/validate-metallb-io-v1beta1-l2advertisement', reviewOf('L2Advertisement', { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'a', namespace: 'metallb-system' } }));
      assert.equal((JSON.parse(advertisement.body) as { response: { allowed: boolean } }).response.allowed, true);
      assert.equal(lists, before + 1, 'the advertisement was decided without listing pools');
    } finally {
      listing = 'ok';
    }
  });
  it('answers 404 elsewhere', async () => {
    assert.equal((await post('/mutate', {})).status, 404);
  });
  it('the certificate is refused for another name', async () => {
    await assert.rejects(post('/validate-metallb-io-v1beta1-ipaddresspool', {}, 'other.example.com'));
  });
});
