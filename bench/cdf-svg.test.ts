import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { axisEnd, cdfSteps, cdfSvg } from './cdf-svg.js';

describe('axisEnd', () => {
  const cases: Array<[number, number]> = [[0, 1], [0.7, 1], [1, 1], [1.2, 2], [430, 500], [517, 1000], [2000, 2000]];
  for (const [max, end] of cases) it(`${max} → ${end}`, () => assert.equal(axisEnd(max), end));
});

describe('cdfSteps', () => {
  it('rises by 1/n at each sorted value', () => {
    assert.deepEqual(cdfSteps([30, 10]), [[10, 0], [10, 0.5], [30, 0.5], [30, 1]]);
  });
  it('is empty for no values', () => assert.deepEqual(cdfSteps([]), []));
});

describe('cdfSvg', () => {
  it('draws one line and one legend entry per series, escaping names', () => {
    const svg = cdfSvg('a <title>', 'ms', [{ name: 'l2lb', values: [10, 20] }, { name: 'MetalLB & co', values: [400] }]);
    assert.equal(svg.match(/<polyline /g)?.length, 2);
    assert.ok(svg.includes('a &lt;title&gt;'));
    assert.ok(svg.includes('MetalLB &amp; co (n=1)'));
    // The last corner of each line is at 100 % (the top of the plot, y = 36).
    for (const line of svg.match(/points="[^"]+"/g)!) assert.match(line, /,36\.0"$/);
  });
});
