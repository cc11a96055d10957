import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aroundRequest, failedRequests, LATE_ANSWER_MS, lostRequests } from './failover.js';
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
    ['served by the heir two rounds before the prober saw it answer (its answers came late): not lost', [{ t: 15, node: 'lab-node-2' }], 0],
    ['after the last round, by the node it showed answering: not lost', [{ t: 45, node: 'lab-node-2' }], 0],
    ['no rounds: every request is lost', [{ t: 1, node: 'lab-node-1' }], 1],
  ];
  for (const [name, samples, expected] of cases) {
    it(name, () => assert.equal(lostRequests(samples, name.startsWith('no rounds') ? [] : rounds, ip).length, expected));
  }

  // A handover: lab-node-1 lingers while lab-node-2 takes the clients, so both answer from round 30.
  // Rounds 10 and 20 miss lab-node-1: its reply thread waited for a CPU, and the replies land in 30.
  const starved = [round(0, ['lab-node-1']), round(10, []), round(20, []), round(30, ['lab-node-1', 'lab-node-2'])];
  // Here lab-node-1 withdrew at 5 and answers again only when it owns the address once more.
  const withdrew = [round(0, ['lab-node-1']), round(10, []), round(20, ['lab-node-2']), round(30, ['lab-node-2']), round(40 + LATE_ANSWER_MS, ['lab-node-1'])];
  it('served by the old owner while its answers came late: not lost', () => assert.equal(lostRequests([{ t: 12, node: 'lab-node-1' }], starved, ip).length, 0));
  it('served by the old owner after it withdrew: lost, however late it answers again', () =>
    assert.equal(lostRequests([{ t: 12, node: 'lab-node-1' }], withdrew, ip).length, 1));
  it('served by a node no round saw answering for LATE_ANSWER_MS after: lost', () => {
    const silent = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110].map((t) => round(t, [])).concat(round(120, ['lab-node-2']));
    assert.equal(lostRequests([{ t: 5, node: 'lab-node-2' }], silent, ip).length, 1);
  });
  it('the round after counts however far off it is (a census of thousands of addresses is slow)', () =>
    assert.equal(lostRequests([{ t: 12, node: 'lab-node-1' }], [round(0, []), round(10 + 10 * LATE_ANSWER_MS, ['lab-node-1'])], ip).length, 0));
});

describe('aroundRequest', () => {
  it('shows the rounds near a request and what the node logged about the address, as ms after the action', () => {
    const started = Date.parse('2026-12-02T02:00:00.000Z');
    const rounds = [round(started + 50, ['lab-node-1']), round(started + 100, []), round(started + 110, ['lab-node-2']), round(started + 300, ['lab-node-2'])];
    const log = [
      '2026-12-02T02:00:00.105Z stdout F {"ts":"2026-12-02T02:00:00.104Z","level":"info","msg":"withdrew","ip":"10.0.0.1","owner":"lab-node-2"}',
      '2026-12-02T02:00:00.106Z stdout F {"ts":"2026-12-02T02:00:00.105Z","level":"info","msg":"announcing","ip":"10.0.0.9"}',
      'not a record',
    ].join('\n');
    assert.equal(aroundRequest({ t: started + 103, node: 'lab-node-1' }, rounds, '10.0.0.1', started, log),
      'rounds +100 [], +110 [lab-node-2]; lab-node-1 logged +104 withdrew');
  });
});
