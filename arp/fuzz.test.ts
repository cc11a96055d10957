// A million random and mutated frames through both decision functions: nothing throws, and every frame
// answered passes an independent, deliberately simple re-check of what a valid request is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FUZZ_DEFAULT_TARGETS, fuzzFrame, isAnswerableArpRequest, isAnswerableSolicitation, randomSource, seedFrames } from './fuzz-frames.js';
import type { Decision, ResponderView } from './replies.js';
import { answerArp, answerNeighborSolicitation } from './replies.js';

const FRAMES = 1_000_000;
const view: ResponderView = { mac: FUZZ_DEFAULT_TARGETS.responderMac, announced: new Set([FUZZ_DEFAULT_TARGETS.announced, FUZZ_DEFAULT_TARGETS.announced6]) };

const vip6 = Buffer.from('fd000077000000000000000000000100', 'hex');
const isAnswerableArp = (frame: Buffer): boolean => isAnswerableArpRequest(frame, view.mac, view.announced);
const isAnswerableNs = (frame: Buffer): boolean => isAnswerableSolicitation(frame, vip6);

describe('fuzzing the parsers and decisions', () => {
  it(`${FRAMES.toLocaleString('en')} random and mutated frames: no throw, answered exactly when an independent check says valid`, () => {
    const random = randomSource(0x12a2b);
    const seeds = seedFrames(FUZZ_DEFAULT_TARGETS);
    const tally: Record<string, number> = {};
    const count = (decision: Decision, family: string): void => {
      const key = `${family}:${decision.kind}`;
      tally[key] = (tally[key] ?? 0) + 1;
    };
    for (let i = 0; i < FRAMES; i++) {
      const frame = fuzzFrame(random, seeds);
      const arp = answerArp(frame, view);
      const ndp = answerNeighborSolicitation(frame, view);
      count(arp, 'arp');
      count(ndp, 'ndp');
      // Both directions: every answer is deserved, and every deserved answer is given.
      if ((arp.kind === 'answer') !== isAnswerableArp(frame)) assert.fail(`frame ${i} (ARP ${arp.kind}): ${frame.toString('hex')}`);
      if ((ndp.kind === 'answer') !== isAnswerableNs(frame)) assert.fail(`frame ${i} (NS ${ndp.kind}): ${frame.toString('hex')}`);
    }
    console.log(JSON.stringify(tally));
    // The generator must reach every outcome, or the fuzzing proves little.
    for (const key of ['arp:answer', 'arp:ignore', 'arp:malformed', 'ndp:answer', 'ndp:ignore', 'ndp:malformed']) assert.ok((tally[key] ?? 0) > 100, `${key}: ${tally[key]}`);
  });
});
