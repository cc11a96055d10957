import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseValidateArgs, validateFiles } from './cli.js';

const pool = (name: string, addresses: string, namespace = 'metallb-system') => `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  addresses:
    - ${addresses}
`;

describe('l2lb validate', () => {
  it('exits 0 and prints nothing on stdout for valid files', () => {
    const result = validateFiles([{ path: 'a.yaml', text: pool('a', '10.0.0.0/30') }]);
    assert.deepEqual([result.exitCode, result.out], [0, []]);
  });
  it('finds an overlap across two files, one line per error', () => {
    const result = validateFiles([
      { path: 'a.yaml', text: pool('a', '10.0.0.0/30') },
      { path: 'b.yaml', text: pool('b', '10.0.0.2-10.0.0.9') },
    ]);
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.out, [
      'ipaddresspool "a": spec.addresses[0] "10.0.0.0/30": overlaps ipaddresspool "b" spec.addresses[0] "10.0.0.2-10.0.0.9"',
      'ipaddresspool "b": spec.addresses[0] "10.0.0.2-10.0.0.9": overlaps ipaddresspool "a" spec.addresses[0] "10.0.0.0/30" (10.0.0.0-10.0.0.3)',
    ]);
  });
  it('reads multi-document YAML and notes the kinds it ignores', () => {
    const result = validateFiles([{ path: 'all.yaml', text: `${pool('a', '10.0.0.0/30')}---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n` }]);
    assert.equal(result.exitCode, 0);
    assert.match(result.err.join('\n'), /note: all\.yaml#2: v1\/Service not checked/);
  });
  it('reports unparseable YAML and unreadable files as errors', () => {
    const result = validateFiles([{ path: 'bad.yaml', text: 'a: [1,\n' }, { path: 'gone.yaml', error: 'ENOENT' }]);
    assert.equal(result.exitCode, 1);
    assert.match(result.out[0] ?? '', /^bad\.yaml: not valid YAML/);
    assert.equal(result.out[1], 'gone.yaml: cannot read: ENOENT');
  });
  it('applies -n to objects without a namespace', () => {
    const text = pool('a', '10.0.0.0/30').replace('  namespace: metallb-system\n', '');
    assert.equal(validateFiles([{ path: 'a.yaml', text }]).exitCode, 1);
    assert.equal(validateFiles([{ path: 'a.yaml', text }], 'metallb-system').exitCode, 0);
  });
  const args: ReadonlyArray<[string[], unknown]> = [
    [['-f', 'a.yaml', 'b.yaml'], { ok: true, files: ['a.yaml', 'b.yaml'] }],
    [['-f', 'a.yaml', '-f', 'b.yaml', '-n', 'metallb-system'], { ok: true, files: ['a.yaml', 'b.yaml'], namespace: 'metallb-system' }],
    [['--filename=a.yaml'], { ok: true, files: ['a.yaml'] }],
    [[], { ok: false, reason: 'no file given' }],
    [['a.yaml'], { ok: false, reason: 'unexpected argument a.yaml' }],
    [['-f', 'a.yaml', '--strict'], { ok: false, reason: 'unknown flag --strict' }],
  ];
  for (const [argv, expected] of args) {
    it(`parses ${JSON.stringify(argv)}`, () => assert.deepEqual(parseValidateArgs(argv), expected));
  }
});
