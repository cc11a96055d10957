// The native threads' rule (arp/native/fast_path.c) against the JavaScript reference (arp/replies.ts),
// frame for frame on fuzzed input: wherever JS answers, the thread sends byte-identical replies, and
// wherever JS does not, the thread leaves the frame alone. The live version is fuzz.e2e.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIp } from './addresses.js';
import { FUZZ_DEFAULT_TARGETS, fuzzFrame, randomSource, seedFrames } from './fuzz-frames.js';
import { nativeDecision } from './packet-socket.js';
import type { Decision, ResponderView } from './replies.js';
import { answerArp, answerNeighborSolicitation } from './replies.js';

const FRAMES = 300_000;
const bytesOf = (text: string): Buffer => {
  const ip = parseIp(text);
  if (!ip.ok) throw new Error(ip.reason);
  return ip.value.bytes;
};
/** A table of several addresses, so the native binary search is exercised around the fuzz targets. */
const v4 = [FUZZ_DEFAULT_TARGETS.announced, '192.168.77.1', '192.168.77.99', '192.168.77.101', '10.0.0.1'];
const v6 = [FUZZ_DEFAULT_TARGETS.announced6, 'fd00:77::1', 'fd00:77::ff', 'fe80::1'];
const view: ResponderView = { mac: FUZZ_DEFAULT_TARGETS.responderMac, announced: new Set([...v4, ...v6].map((text) => { const ip = parseIp(text); if (!ip.ok) throw new Error(ip.reason); return ip.value.text; })) };

function agree(frame: Buffer, decision: Decision, native: Buffer | null, what: string): void {
  if (decision.kind === 'answer') {
    if (native === null || !native.equals(decision.frame)) assert.fail(`${what}: JS answers, native ${native === null ? 'does not' : 'differs'}: ${frame.toString('hex')}`);
  } else if (native !== null) {
    assert.fail(`${what}: JS says ${decision.kind} (${decision.reason}), native answers: ${frame.toString('hex')}`);
  }
}

describe('the native fast path decides exactly as the JavaScript reference', () => {
  it(`${FRAMES.toLocaleString('en')} fuzzed frames, ARP and NDP: same replies, byte for byte`, () => {
    const random = randomSource(0xfa57);
    const seeds = seedFrames(FUZZ_DEFAULT_TARGETS);
    const arpTable = v4.map(bytesOf);
    const ndpTable = v6.map(bytesOf);
    let answered = 0;
    for (let i = 0; i < FRAMES; i++) {
      const frame = fuzzFrame(random, seeds);
      const arp = answerArp(frame, view);
      const ndp = answerNeighborSolicitation(frame, view);
      agree(frame, arp, nativeDecision(view.mac, 4, arpTable, frame), `frame ${i} ARP`);
      agree(frame, ndp, nativeDecision(view.mac, 16, ndpTable, frame), `frame ${i} NDP`);
      if (arp.kind === 'answer' || ndp.kind === 'answer') answered++;
    }
    assert.ok(answered > 1000, `enough answered frames to mean something: ${answered}`);
  });

  it('an empty table answers nothing (the fast path off)', () => {
    const [request] = seedFrames(FUZZ_DEFAULT_TARGETS);
    assert.ok(request !== undefined);
    assert.equal(nativeDecision(view.mac, 4, [], request), null);
  });
});
