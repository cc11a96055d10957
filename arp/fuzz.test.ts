// A million random and mutated frames through both decision functions: nothing throws, and every frame
// answered passes an independent, deliberately simple re-check of what a valid request is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIPv4, formatIPv6 } from './addresses.js';
import { FUZZ_DEFAULT_TARGETS, fuzzFrame, randomSource, seedFrames } from './fuzz-frames.js';
import type { Decision, ResponderView } from './replies.js';
import { answerArp, answerNeighborSolicitation } from './replies.js';

const FRAMES = 1_000_000;
const view: ResponderView = { mac: FUZZ_DEFAULT_TARGETS.responderMac, announced: new Set([FUZZ_DEFAULT_TARGETS.announced, FUZZ_DEFAULT_TARGETS.announced6]) };

/** Written apart from the codecs on purpose: two readings of RFC 826 must agree. */
function isAnswerableArpRequest(frame: Buffer): boolean {
  if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0806) return false;
  const toUs = frame.subarray(0, 6).equals(view.mac) || frame.subarray(0, 6).equals(Buffer.alloc(6, 0xff));
  return toUs && frame.readUInt16BE(14) === 1 && frame.readUInt16BE(16) === 0x0800 && frame[18] === 6 && frame[19] === 4 &&
    frame.readUInt16BE(20) === 1 && view.announced.has(formatIPv4(frame.subarray(38, 42))) && ((frame[6] ?? 1) & 1) === 0 && ((frame[22] ?? 1) & 1) === 0;
}

function simpleSum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += i % 2 === 0 ? (bytes[i] ?? 0) << 8 : (bytes[i] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Written apart from the codecs on purpose: the RFC 4861 §7.1.1 checks that matter most. */
function isAnswerableSolicitation(frame: Buffer): boolean {
  if (frame.length < 14 + 40 + 24 || frame.readUInt16BE(12) !== 0x86dd || (frame[14] ?? 0) >> 4 !== 6) return false;
  const length = frame.readUInt16BE(18);
  if (frame[20] !== 58 || frame[21] !== 255 || length < 24 || 54 + length > frame.length) return false;
  const message = frame.subarray(54, 54 + length);
  if (message[0] !== 135 || message[1] !== 0 || message[8] === 0xff) return false;
  const pseudo = Buffer.alloc(40);
  frame.copy(pseudo, 0, 22, 54);
  pseudo.writeUInt32BE(length, 32);
  pseudo[39] = 58;
  if (simpleSum(Buffer.concat([pseudo, message])) !== 0xffff) return false;
  return view.announced.has(formatIPv6(message.subarray(8, 24)));
}

describe('fuzzing the parsers and decisions', () => {
  it(`${FRAMES.toLocaleString('en')} random and mutated frames: no throw, answers only to valid requests`, () => {
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
      if (arp.kind === 'answer') assert.ok(isAnswerableArpRequest(frame), `frame ${i} answered as ARP: ${frame.toString('hex')}`);
      if (ndp.kind === 'answer') assert.ok(isAnswerableSolicitation(frame), `frame ${i} answered as NS: ${frame.toString('hex')}`);
    }
    console.log(JSON.stringify(tally));
    // The generator must reach every outcome, or the fuzzing proves little.
    for (const key of ['arp:answer', 'arp:ignore', 'arp:malformed', 'ndp:answer', 'ndp:ignore', 'ndp:malformed']) assert.ok((tally[key] ?? 0) > 100, `${key}: ${tally[key]}`);
  });
});
