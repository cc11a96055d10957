import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerTimeline, judgeFault, type FaultRecord } from './chaos.js';
import type { WatchRound } from './lab/census.js';

const IP = '192.168.1.200';
const fault: FaultRecord = { kind: 'speaker SIGKILL', node: 'lab-node-3', startMs: 0, endMs: 1_000 };

/** Rounds every 20 ms from 0 to 4 s: `who(t)` answers. */
function rounds(who: (t: number) => string[]): WatchRound[] {
  return Array.from({ length: 200 }, (_, i) => ({ t: i * 20, answers: new Map([[IP, who(i * 20)]]) }));
}

describe('judgeFault', () => {
  const cases: Array<[string, (t: number) => string[], number]> = [
    ['one node throughout', () => ['lab-node-1'], 0],
    ['unanswered until 1.5 s after the fault ended: fails', (t) => (t < 2_500 ? [] : ['lab-node-1']), 1],
    ['silent 60 ms once settled: a late reply, passes', (t) => (t >= 3_000 && t < 3_060 ? [] : ['lab-node-1']), 0],
    ['silent 120 ms once settled: fails', (t) => (t >= 3_000 && t < 3_120 ? [] : ['lab-node-1']), 1],
    ['two MACs for one round once settled: fails', (t) => (t === 3_000 ? ['lab-node-1', 'lab-node-2'] : ['lab-node-1']), 1],
    ['two MACs before the settle deadline: passes', (t) => (t < 1_800 ? ['lab-node-1', 'lab-node-2'] : ['lab-node-1']), 0],
  ];
  for (const [name, who, failures] of cases) {
    it(name, () => assert.equal(judgeFault(rounds(who), [IP], fault, 4_000).failures.length, failures));
  }
  it('a control-plane fault allows no silence over 100 ms even before it ends', () => {
    const restart: FaultRecord = { kind: 'etcd restart', startMs: 0, endMs: 1_000 };
    assert.equal(judgeFault(rounds((t) => (t >= 500 && t < 640 ? [] : ['lab-node-1'])), [IP], restart, 4_000).failures.length, 1);
    assert.equal(judgeFault(rounds((t) => (t >= 500 && t < 560 ? [] : ['lab-node-1'])), [IP], restart, 4_000).failures.length, 0);
  });
});

describe('answerTimeline', () => {
  it('lists the rounds at which the answering nodes changed, inside the window only', () => {
    const who = (t: number): string[] => (t < 1_000 ? ['lab-node-3'] : t < 1_100 ? [] : t < 1_200 ? ['lab-node-1', 'lab-node-3'] : ['lab-node-1']);
    assert.deepEqual(answerTimeline(rounds(who), IP, 500, 3_000).map(({ t, nodes }) => `${t}:${nodes.join('+')}`),
      ['500:lab-node-3', '1000:', '1100:lab-node-1+lab-node-3', '1200:lab-node-1']);
  });
});
