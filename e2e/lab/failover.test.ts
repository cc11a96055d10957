import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failedRequests, lostRequests } from './failover.js';
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

const round = (t: number, nodes: string[]): { t: number; answers: Map<string, string[]> } => ({ t, answers: new Map(nodes.length === 0 ? [] : [['10.0.0.1', nodes]]) });

describe('requests lost in a failover', () => {
  const ip = '10.0.0.1';
  const rounds = [round(0, ['lab-node-1']), round(10, []), round(20, []), round(30, ['lab-node-2']), round(40, ['lab-node-2'])];
  const cases: Array<[string, Array<{ t: number; node?: string; error?: string }>, number]> = [
    ['served by the announcing owner, then by the heir: none lost', [{ t: 5, node: 'lab-node-1' }, { t: 35, node: 'lab-node-2' }], 0],
    ['a request that failed is lost', [{ t: 15, error: 'timeout' }], 1],
    ['served by the old owner after it stopped announcing: lost', [{ t: 12, node: 'lab-node-1' }, { t: 25, node: 'lab-node-1' }], 2],
    ['served by the heir a round before the prober saw it answer: not lost', [{ t: 25, node: 'lab-node-2' }], 0],
    ['served by the heir two rounds early: lost', [{ t: 15, node: 'lab-node-2' }], 1],
    ['after the last round, by the node it showed answering: not lost', [{ t: 45, node: 'lab-node-2' }], 0],
    ['no rounds: every request is lost', [{ t: 1, node: 'lab-node-1' }], 1],
  ];
  for (const [name, samples, expected] of cases) {
    it(name, () => assert.equal(lostRequests(samples, name.startsWith('no rounds') ? [] : rounds, ip).length, expected));
  }
});
