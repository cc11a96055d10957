import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failedRequests } from './failover.js';
import type { ProbeSample } from './wire.js';

describe('failedRequests', () => {
  const first: ProbeSample = { t: 160, node: 'lab-node-1' };
  const cases: Array<[string, ProbeSample[], number, number]> = [
    ['none failed', [{ t: 100, node: 'lab-node-3' }, { t: 140, node: 'lab-node-3' }, first], 0, 0],
    ['the last request before the switch reset: it straddled the switch', [{ t: 120, node: 'lab-node-3' }, { t: 140, error: 'read ECONNRESET' }, first], 0, 1],
    ['the last request before the switch timed out: lost', [{ t: 120, node: 'lab-node-3' }, { t: 140, error: 'timeout' }, first], 1, 0],
    ['an earlier reset: lost', [{ t: 100, error: 'read ECONNRESET' }, { t: 140, node: 'lab-node-3' }, first], 1, 0],
    ['a request after the first answer does not count', [{ t: 140, node: 'lab-node-3' }, first, { t: 180, error: 'timeout' }], 0, 0],
  ];
  for (const [name, window, lost, reset] of cases) {
    it(name, () => {
      const split = failedRequests(window, first);
      assert.deepEqual([split.lost.length, split.resetAtSwitch.length], [lost, reset]);
    });
  }
});
