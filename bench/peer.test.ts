import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recovery } from './peer.js';

const round = (t: number, nodes: string[]): { t: number; answers: Map<string, string[]> } => ({ t, answers: new Map(nodes.length === 0 ? [] : [['10.0.0.1', nodes]]) });

describe('recovery after a speaker is killed', () => {
  const cases: Array<[string, Array<{ t: number; answers: Map<string, string[]> }>, { t: number; by: string } | undefined]> = [
    ['another node answers at once', [round(1, ['lab-node-2'])], { t: 1, by: 'lab-node-2' }],
    ['silence, then another node', [round(1, []), round(2, []), round(3, ['lab-node-2'])], { t: 3, by: 'lab-node-2' }],
    ['silence, then the restarted owner', [round(1, []), round(2, ['lab-node-1'])], { t: 2, by: 'lab-node-1' }],
    ['the dying owner still answering is no recovery', [round(1, ['lab-node-1']), round(2, ['lab-node-1'])], undefined],
    ['the owner, silence, then the owner again', [round(1, ['lab-node-1']), round(2, []), round(3, ['lab-node-1'])], { t: 3, by: 'lab-node-1' }],
    ['two answering, one new: moved', [round(1, ['lab-node-1', 'lab-node-3'])], { t: 1, by: 'lab-node-3' }],
    ['nothing yet', [round(1, []), round(2, [])], undefined],
  ];
  for (const [name, rounds, expected] of cases) it(name, () => assert.deepEqual(recovery(rounds, '10.0.0.1', 'lab-node-1'), expected));
});
