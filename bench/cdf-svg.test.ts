import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { axisEnd, cdfSteps, cdfSvg, stackedSvg } from './cdf-svg.js';

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

describe('stackedSvg', () => {
  it('places each chart below the one before, in one document', () => {
    const chart = cdfSvg('t', 'ms', [{ name: 'a', values: [1] }]);
    const svg = stackedSvg([chart, chart, chart]);
    assert.equal(svg.match(/xmlns=/g)?.length, 1);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="1080"/);
    assert.deepEqual(svg.match(/<svg y="\d+"/g), ['<svg y="0"', '<svg y="360"', '<svg y="720"']);
  });
});
