// The run structures under the allocator, checked against the obvious model (a set of numbers) through
// long seeded random sequences, with tiny blocks so that block splits and removals happen constantly.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RangeTracker, isBuggyAddress } from './ranges.js';
import { RunList } from './runs.js';
import { parseAddressRange, parseIP } from '../../arp/ipaddr.js';

/** A deterministic generator (LCG) so a failure replays exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function runsOf(model: ReadonlySet<number>): string[] {
  const sorted = [...model].sort((a, b) => a - b);
  const runs: string[] = [];
  let start: number | undefined;
  sorted.forEach((n, i) => {
    start ??= n;
    if (sorted[i + 1] !== n + 1) {
      runs.push(`${start}-${n}`);
      start = undefined;
    }
  });
  return runs;
}

describe('RunList', () => {
  for (const [name, maxBlock, span, seed] of [
    ['dense churn in a small space, blocks of 2', 2, 40, 1],
    ['sparse churn, blocks of 4', 4, 400, 2],
    ['default blocks', 256, 2000, 3],
  ] as const) {
    it(`matches a set model: ${name}`, () => {
      const list = new RunList(maxBlock);
      const model = new Set<number>();
      const next = random(seed);
      for (let step = 0; step < 4000; step++) {
        const n = Math.floor(next() * span);
        if (next() < 0.6) {
          list.add(BigInt(n));
          model.add(n);
        } else {
          list.delete(BigInt(n));
          model.delete(n);
        }
        const probe = Math.floor(next() * span);
        assert.equal(list.has(BigInt(probe)), model.has(probe), `step ${step}: has(${probe})`);
        if (step % 50 === 0 || step > 3900) {
          assert.deepEqual([...list.runs()].map((r) => `${r.start}-${r.end}`), runsOf(model), `step ${step}`);
        }
      }
    });
  }
});

describe('RangeTracker', () => {
  const range = (text: string) => {
    const parsed = parseAddressRange(text);
    assert.ok(parsed.ok);
    return parsed.value;
  };
  const ip = (text: string) => parseIP(text)?.value ?? assert.fail(text);

  it('isBuggyAddress is MetalLB\'s rule: IPv4 ending in .0 or .255, never IPv6', () => {
    assert.deepEqual(
      ['10.0.0.0', '10.0.0.255', '10.0.1.0', '10.0.0.1', '10.0.0.254'].map((t) => isBuggyAddress(4, ip(t))),
      [true, true, true, false, false],
    );
    assert.equal(isBuggyAddress(6, ip('fd00::ff')), false);
    assert.equal(isBuggyAddress(6, ip('fd00::100')), false);
  });

  it('with avoidBuggyIPs the lowest free address skips the holes, and freeing one makes it lowest again', () => {
    const tracker = new RangeTracker(range('10.0.0.250-10.0.1.3'), true);
    const taken: string[] = [];
    for (let free = tracker.lowestFree(); free !== undefined; free = tracker.lowestFree()) {
      taken.push(String(free & 0xffn));
      tracker.use(free);
    }
    assert.deepEqual(taken, ['250', '251', '252', '253', '254', '1', '2', '3']);
    tracker.free(ip('10.0.1.1'));
    assert.equal(tracker.lowestFree(), ip('10.0.1.1'));
    assert.equal(tracker.allows(4, ip('10.0.1.0')), false);
    assert.equal(tracker.allows(4, ip('10.0.1.2')), true);
  });

  it('a range of only buggy addresses hands out nothing', () => {
    assert.equal(new RangeTracker(range('10.0.0.255-10.0.1.0'), true).lowestFree(), undefined);
    assert.equal(new RangeTracker(range('10.0.0.255-10.0.1.0'), false).lowestFree(), ip('10.0.0.255'));
  });
});
