import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstRecords, longestSilence, movedAway, recovery, table } from './peer.js';

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
  it('a round missed while the old speaker still answers is no restart', () =>
    assert.equal(recovery([round(0, ['lab-node-1']), round(5, []), round(10, ['lab-node-1'])], '10.0.0.1', 'lab-node-1', 100), undefined));
  it('the owner after a silence as long as a restart is its restarted speaker', () =>
    assert.deepEqual(recovery([round(0, []), round(5, ['lab-node-1']), round(10, []), round(600, ['lab-node-1'])], '10.0.0.1', 'lab-node-1', 100), { t: 600, by: 'lab-node-1' }));
});

describe('the move after a drain', () => {
  const cases: Array<[string, Array<{ t: number; answers: Map<string, string[]> }>, { t: number; by: string } | undefined]> = [
    ['the owner again after a missed round is no move', [round(1, []), round(2, ['lab-node-1'])], undefined],
    ['another node, after the owner', [round(1, ['lab-node-1']), round(2, []), round(3, ['lab-node-2'])], { t: 3, by: 'lab-node-2' }],
    ['both answering: moved', [round(1, ['lab-node-1', 'lab-node-2'])], { t: 1, by: 'lab-node-2' }],
  ];
  for (const [name, rounds, expected] of cases) it(name, () => assert.deepEqual(movedAway(rounds, '10.0.0.1', 'lab-node-1'), expected));
});

describe('the longest silence at an address', () => {
  const cases: Array<[string, Array<{ t: number; answers: Map<string, string[]> }>, number]> = [
    ['always answered', [round(0, ['lab-node-1']), round(5, ['lab-node-2'])], 0],
    ['one gap', [round(0, ['lab-node-1']), round(5, []), round(10, []), round(40, ['lab-node-2'])], 35],
    ['the longer of two gaps', [round(0, []), round(5, ['lab-node-2']), round(10, []), round(100, ['lab-node-1'])], 90],
    ['a gap still open at the end counts to the last round', [round(0, ['lab-node-1']), round(5, []), round(25, [])], 20],
    ['no rounds', [], 0],
  ];
  for (const [name, rounds, expected] of cases) it(name, () => assert.equal(longestSilence(rounds, '10.0.0.1'), expected));
});

describe('the side-by-side table', () => {
  const measured = { errors: {}, crash: { answeredMs: { samples: 2, p50: 50, p99: 100, values: [50, 100] }, silenceMs: { samples: 2, p50: 0, p99: 0, values: [0, 0] }, moved: 2, restarted: 0, stayed: 0, silent: 0, requests: 40, lost: [0, 3] },
    drain: { answeredMs: { samples: 1, p50: 180, p99: 180, values: [180] }, answeredAfterCordonMs: { samples: 1, p50: 80, p99: 80, values: [80] },
      silenceMs: { samples: 1, p50: 0, p99: 0, values: [0] }, moved: 1, restarted: 0, stayed: 0, silent: 0, requests: 30, lost: [0] },
    drain6: { answeredMs: { samples: 1, p50: 150, p99: 150, values: [150] }, answeredAfterCordonMs: { samples: 1, p50: 60, p99: 60, values: [60] },
      silenceMs: { samples: 1, p50: 0, p99: 0, values: [0] }, moved: 1, restarted: 0, stayed: 0, silent: 0, requests: 30, lost: [0] },
    speakerRssMB: 90 };
  const failed = { errors: { crash: 'no metallb speaker process in lab-node-2' }, speakerRssMB: 60,
    // MetalLB keeps announcing from a drained node: trials that never moved, with their silence and losses.
    drain: { answeredMs: undefined, silenceMs: { samples: 2, p50: 0, p99: 40, values: [0, 40] }, moved: 0, restarted: 0, stayed: 2, silent: 0, requests: 60, lost: [0, 4] } };
  const rows = table(measured, failed);
  it('prints a failed scenario as not measured, with its reason, and no ratio', () => {
    const crash = rows.find(([name]) => name.startsWith('speaker SIGKILL → answered again, ARP'))!;
    assert.deepEqual(crash, ['speaker SIGKILL → answered again, ARP', '50 / 100 ms (n=2); moved 2, restarted 0', 'not measured: no metallb speaker process in lab-node-2', '–']);
  });
  it('sums the requests lost over the trials, and names the worst trial', () => {
    const lost = rows.find(([name]) => name.startsWith('speaker SIGKILL → HTTP requests lost'))!;
    assert.deepEqual(lost.slice(1), ['3 of 40 (most in one trial: 3)', 'not measured: no metallb speaker process in lab-node-2', '–']);
  });
  it('says how trials that never resolved ended, and still counts their silences and lost requests', () => {
    assert.deepEqual(rows.find(([name]) => name.startsWith('kubectl drain → answered by another node, ARP'))!.slice(1),
      ['180 / 180 ms (n=1); moved 1, restarted 0', 'no trial; moved 0, restarted 0; after 30 s: 2 still with the owner', '–']);
    assert.deepEqual(rows.find(([name]) => name.startsWith('kubectl drain → longest silence'))!.slice(1), ['0 / 0 ms (n=2)', '0 / 40 ms (n=2)', '0.00×']);
    assert.deepEqual(rows.find(([name]) => name.startsWith('kubectl drain → HTTP requests lost'))!.slice(1), ['0 of 60 (most in one trial: 0)', '4 of 60 (most in one trial: 4)', '0.00×']);
  });
  it('times a drain from the cordon stored too, ARP and NDP together; a drain that never moved has no such time', () => {
    assert.deepEqual(rows.find(([name]) => name.startsWith('kubectl drain: cordon stored → answered'))!.slice(1), ['60 / 80 ms (n=2); moved 2, restarted 0',
      'no trial; moved 0, restarted 0; after 30 s: 2 still with the owner', '–']);
  });
  it('gives the ratio of l2lb to MetalLB', () => {
    assert.deepEqual(rows.find(([name]) => name.startsWith('speaker RSS')), ['speaker RSS (largest)', '90 MB', '60 MB', '1.50×']);
  });
  it('says not measured for a figure nobody took', () => {
    assert.equal(rows.find(([name]) => name.startsWith('node loss → all'))![1], 'not measured');
  });
});

describe('firstRecords', () => {
  it('gives the first record of each message about the address from a moment on, in ms after it', () => {
    const since = Date.parse('2026-12-02T03:00:00.000Z');
    const line = (ts: string, msg: string, ip: string): string => `${ts} stdout F {"ts":"${ts}","level":"info","msg":"${msg}","ip":"${ip}"}`;
    const log = [
      line('2026-12-02T02:59:59.000Z', 'announcing', '10.0.0.1'),
      line('2026-12-02T03:00:01.250Z', 'handing over', '10.0.0.1'),
      line('2026-12-02T03:00:01.200Z', 'announcing', '10.0.0.2'),
      line('2026-12-02T03:00:01.750Z', 'withdrew', '10.0.0.1'),
      line('2026-12-02T03:00:02.000Z', 'handing over', '10.0.0.1'),
    ].join('\n');
    assert.deepEqual(firstRecords(log, '10.0.0.1', since), ['handing over +1250', 'withdrew +1750']);
  });
});
