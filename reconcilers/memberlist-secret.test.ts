import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideMemberlistSecret, memberlistSecret, type Secret } from './memberlist-secret.js';

const key = new Uint8Array(32).fill(7);
const existing = (data: Record<string, string> | undefined, extra: Partial<Secret['metadata']> = {}): Secret =>
  ({ metadata: { name: 'memberlist', namespace: 'metallb-system', ...extra }, ...(data === undefined ? {} : { data }) });

describe('decideMemberlistSecret', () => {
  const rows: Array<{ name: string; secret: Secret | undefined; expected: string; problem?: RegExp }> = [
    { name: 'absent: create it', secret: undefined, expected: 'create' },
    { name: "MetalLB's own (128 base64 characters as the value): keep, no problem",
      secret: existing({ secretkey: Buffer.from('a'.repeat(172)).toString('base64') }), expected: 'keep' },
    { name: 'ours (32 bytes): keep', secret: existing({ secretkey: Buffer.from(key).toString('base64') }), expected: 'keep' },
    { name: 'no secretkey: keep, and say so', secret: existing({ other: 'eA==' }), expected: 'keep', problem: /no data key secretkey/ },
    { name: 'no data at all: keep, and say so', secret: existing(undefined), expected: 'keep', problem: /no data key secretkey/ },
    { name: 'an empty secretkey: keep, and say so', secret: existing({ secretkey: '' }), expected: 'keep', problem: /is empty/ },
    { name: 'being deleted: wait for it to go', secret: existing({ secretkey: 'eA==' }, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      expected: 'keep', problem: /being deleted/ },
  ];
  for (const row of rows) {
    it(row.name, () => {
      let asked = 0;
      const decision = decideMemberlistSecret(row.secret, 'metallb-system', () => { asked++; return key; });
      assert.equal(decision.action, row.expected);
      assert.equal(asked, row.expected === 'create' ? 1 : 0, 'random bytes only for a new Secret');
      if (decision.action === 'keep') {
        if (row.problem === undefined) assert.equal(decision.problem, undefined);
        else assert.match(decision.problem ?? '', row.problem);
      }
    });
  }

  it('the Secret it creates is MetalLB-shaped: metallb-system/memberlist, data key secretkey, the key bytes in base64', () => {
    const secret = memberlistSecret('metallb-system', key);
    assert.equal(secret.metadata.name, 'memberlist');
    assert.equal(secret.metadata.namespace, 'metallb-system');
    assert.deepEqual(Object.keys(secret.data ?? {}), ['secretkey']);
    assert.deepEqual(Buffer.from(secret.data?.secretkey ?? '', 'base64'), Buffer.from(key));
  });
});
