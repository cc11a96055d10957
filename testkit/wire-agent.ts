// A client on the wire for tests and benchmarks, run inside a namespace (`ip netns exec <ns> node
// dist/testkit/wire-agent.js --iface eth0`): sends the frames it is given, records what comes back, and
// runs the timed loops (ARP latency, floods, fuzz) where a round trip through a parent process would
// distort the figures. Control: JSON lines on stdin, one JSON answer a line on stdout.
//
//   {"op":"send","frames":["<hex>",...]}            → {"ok":true,"sent":n}
//   {"op":"collect"}                                → {"ok":true,"frames":[{"at":<ms>,"hex":...}]} (and clears)
//   {"op":"latency","senderIp":...,"targets":[...],"rounds":n}  → µs per target, targets interleaved
//   {"op":"flood","senderIp":...,"target":...,"rate":r,"seconds":s} → sent, replies
//   {"op":"fuzz","count":n,"seed":s,"responderMac":...,"announced":...,"announced6":...,"rate":r}
//                                                   → sent, expected and received replies
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseIPv4, parseIPv6, parseMac } from '../arp/addresses.js';
import { ARP_REPLY, encodeArpRequest } from '../arp/arp-codec.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6 } from '../arp/ethernet.js';
import { fuzzFrame, isAnswerableArpRequest, isAnswerableSolicitation, randomSource, seedFrames } from '../arp/fuzz-frames.js';
import { PacketSocket } from '../arp/packet-socket.js';

const { values } = parseArgs({ options: { iface: { type: 'string', default: 'eth0' } } });
const iface = values.iface ?? 'eth0';
const index = Number(readFileSync(`/sys/class/net/${iface}/ifindex`, 'utf8').trim());
const macText = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
const mac = must(parseMac(macText));
const arpSocket = PacketSocket.open(index, ETHERTYPE_ARP);
const ipv6Socket = PacketSocket.open(index, ETHERTYPE_IPV6);
const started = process.hrtime.bigint();

function must<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) throw new Error(result.reason);
  return result.value;
}

type Listener = (frame: Buffer, at: bigint) => void;
let recorded: { at: number; hex: string }[] = [];
let listener: Listener | null = null;
const onFrames = (frames: Buffer[]): void => {
  const at = process.hrtime.bigint();
  for (const frame of frames) {
    if (listener !== null) listener(frame, at);
    else if (recorded.length < 100_000) recorded.push({ at: Number(at - started) / 1e6, hex: frame.toString('hex') });
  }
};
arpSocket.receive(onFrames);
ipv6Socket.receive(onFrames);

function send(frame: Buffer): void {
  (frame.readUInt16BE(12) === ETHERTYPE_IPV6 ? ipv6Socket : arpSocket).send(frame);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isArpReplyFrom(frame: Buffer, sender: Buffer | null, from: Buffer | null): boolean {
  return frame.length >= 42 && frame.readUInt16BE(12) === ETHERTYPE_ARP && frame.readUInt16BE(20) === ARP_REPLY &&
    (sender === null || frame.subarray(28, 32).equals(sender)) && (from === null || frame.subarray(6, 12).equals(from));
}

async function latency(senderIp: string, targets: readonly string[], rounds: number): Promise<Record<string, { samples: number[]; lost: number }>> {
  const result: Record<string, { samples: number[]; lost: number }> = {};
  for (const target of targets) result[target] = { samples: [], lost: 0 };
  const sender = must(parseIPv4(senderIp));
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const targetIp = must(parseIPv4(target));
      const entry = result[target];
      if (entry === undefined) continue;
      const request = encodeArpRequest(mac, sender, targetIp);
      const answered = new Promise<bigint | null>((resolve) => {
        const timer = setTimeout(() => { listener = null; resolve(null); }, 200);
        listener = (frame, at) => {
          if (!isArpReplyFrom(frame, targetIp, null)) return;
          clearTimeout(timer);
          listener = null;
          resolve(at);
        };
      });
      const sentAt = process.hrtime.bigint();
      send(request);
      const at = await answered;
      if (at === null) entry.lost++;
      else entry.samples.push(Number(at - sentAt) / 1000);
      await sleep(1); // let the responders' event loops settle between probes
    }
  }
  return result;
}

/** Sends `rate` requests a second for `seconds`, in 1 ms ticks, counting replies from the target. */
async function flood(senderIp: string, target: string, rate: number, seconds: number): Promise<{ sent: number; replies: number; elapsedSeconds: number; sendErrors: number }> {
  const sender = must(parseIPv4(senderIp));
  const targetIp = must(parseIPv4(target));
  const request = encodeArpRequest(mac, sender, targetIp);
  let replies = 0;
  listener = (frame) => { if (isArpReplyFrom(frame, targetIp, null)) replies++; };
  const total = Math.round(rate * seconds);
  let sent = 0;
  let sendErrors = 0;
  const begin = process.hrtime.bigint();
  while (sent < total) {
    const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - begin) / 1e9) * rate));
    for (; sent < due; sent++) {
      try { send(request); } catch { sendErrors++; }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const elapsedSeconds = Number(process.hrtime.bigint() - begin) / 1e9;
  await sleep(500); // replies still in flight
  listener = null;
  return { sent, replies, elapsedSeconds, sendErrors };
}

interface FuzzCommand { count: number; seed: number; responderMac: string; announced: string; announced6: string; clientIp: string; clientIp6: string; rate: number }

async function fuzz(command: FuzzCommand): Promise<Record<string, number>> {
  const responderMac = must(parseMac(command.responderMac));
  const announced = new Set([command.announced]);
  const announced6 = must(parseIPv6(command.announced6));
  const seeds = seedFrames({ responderMac, clientMac: mac, clientIp: command.clientIp, clientIp6: command.clientIp6, announced: command.announced, announced6: command.announced6 });
  const random = randomSource(command.seed);
  let arpReplies = 0;
  let advertisements = 0;
  let otherFromResponder = 0;
  listener = (frame) => {
    if (frame.length < 14 || !frame.subarray(6, 12).equals(responderMac)) return;
    if (isArpReplyFrom(frame, null, null)) arpReplies++;
    else if (frame.length > 54 && frame.readUInt16BE(12) === ETHERTYPE_IPV6 && frame[54] === 136) advertisements++;
    else otherFromResponder++;
  };
  let expectedArp = 0;
  let expectedNdp = 0;
  let sent = 0;
  let sendErrors = 0;
  const begin = process.hrtime.bigint();
  while (sent < command.count) {
    const due = Math.min(command.count, Math.floor((Number(process.hrtime.bigint() - begin) / 1e9) * command.rate));
    for (; sent < due; sent++) {
      const frame = fuzzFrame(random, seeds);
      if (frame.length < 14) continue; // the kernel refuses to send a frame shorter than its header
      if (isAnswerableArpRequest(frame, responderMac, announced)) expectedArp++;
      if (isAnswerableSolicitation(frame, announced6)) expectedNdp++;
      try { send(frame); } catch { sendErrors++; }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sleep(500);
  listener = null;
  return { sent, sendErrors, expectedArp, expectedNdp, arpReplies, advertisements, otherFromResponder, seconds: Number(process.hrtime.bigint() - begin) / 1e9 };
}

function answer(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function control(line: string): Promise<void> {
  const command = JSON.parse(line) as Record<string, unknown>;
  try {
    switch (command.op) {
      case 'send': {
        const frames = (command.frames as string[]).map((hex) => Buffer.from(hex, 'hex'));
        frames.forEach(send);
        answer({ ok: true, sent: frames.length });
        break;
      }
      case 'collect':
        answer({ ok: true, frames: recorded });
        recorded = [];
        break;
      case 'latency':
        answer({ ok: true, result: await latency(command.senderIp as string, command.targets as string[], command.rounds as number) });
        break;
      case 'flood':
        answer({ ok: true, result: await flood(command.senderIp as string, command.target as string, command.rate as number, command.seconds as number) });
        break;
      case 'fuzz':
        answer({ ok: true, result: await fuzz(command as unknown as FuzzCommand) });
        break;
      default:
        answer({ ok: false, reason: `unknown op ${String(command.op)}` });
    }
  } catch (error) {
    answer({ ok: false, reason: (error as Error).message });
  }
}

// Commands run one at a time, in order, so timed loops never overlap.
let queue: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin })
  .on('line', (line) => { queue = queue.then(() => control(line)); })
  .on('close', () => { void queue.then(() => { arpSocket.close(); ipv6Socket.close(); process.exit(0); }); });
answer({ event: 'ready', mac: macText });
