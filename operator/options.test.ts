import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseControllerOptions, parseDuration } from './options.js';

describe('parseDuration', () => {
  const cases: Array<[string, number]> = [['500ms', 500], ['15', 15_000], ['15s', 15_000], ['2m', 120_000], ['1.5h', 5_400_000], ['365d', 31_536_000_000]];
  for (const [text, ms] of cases) it(`${text} is ${ms} ms`, () => assert.equal(parseDuration('x', text), ms));
  it('refuses what is not a duration, naming the flag and the value', () => {
    assert.throws(() => parseDuration('webhook-cert-validity', '1y'), /--webhook-cert-validity "1y": not a duration/);
  });
});

describe('parseControllerOptions', () => {
  it('the webhook certificate lives a year and each rotation phase settles for a minute unless told otherwise', () => {
    const options = parseControllerOptions([], {});
    assert.equal(options.webhookCertValidityMs, 365 * 86_400_000);
    assert.equal(options.webhookRotationSettleMs, 60_000);
    const short = parseControllerOptions(['--webhook-cert-validity=20s', '--webhook-rotation-settle=2s'], {});
    assert.deepEqual([short.webhookCertValidityMs, short.webhookRotationSettleMs], [20_000, 2_000]);
  });
});
