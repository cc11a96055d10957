// A standalone responder process, for tests, benchmarks and the lab until the announcer reconciler
// drives L2Announcer itself. Run it in a namespace: `ip netns exec <ns> node dist/arp/responder-main.js`.
//
//   --iface <name>      interface(s) announcements go to by default (repeatable; none: every usable one)
//   --announce <ip>     announce at start (repeatable)
//   --exclude <pattern> replaces the default exclusion list (repeatable; "--exclude none" excludes nothing)
//   --schedule <ms,...> gratuitous schedule (default GRATUITOUS_SCHEDULE_MS; "" sends none)
//   --js-only           decide every ARP request and solicitation in JavaScript (no native fast path)
//   --qdisc-bypass      PACKET_QDISC_BYPASS on the sockets (measured in bench/arp.ts)
//   --busy <ms,ms>      keep the main thread busy: spin/allocate for the first ms out of every second
//                       (a recompute storm, for the benchmark)
//
// Control on stdin, one JSON object a line; one JSON answer a line on stdout:
//   {"op":"announce","ip":"192.168.77.100","interfaces":["eth0"]}   {"op":"withdraw","ip":"..."}
//   {"op":"counters"}   {"op":"status"}   {"op":"health"}   {"op":"responders"}   {"op":"stats"}   {"op":"pid"}   {"op":"answerable","ip":"..."}
// The first stdout line is {"event":"ready"}. Closing stdin or SIGTERM stops it cleanly.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { L2Announcer } from './announcer.js';
import { createLogger } from '../operator/kit/log.js';

const { values } = parseArgs({
  options: {
    iface: { type: 'string', multiple: true, default: [] },
    announce: { type: 'string', multiple: true, default: [] },
    exclude: { type: 'string', multiple: true },
    schedule: { type: 'string' },
    'js-only': { type: 'boolean', default: false },
    'qdisc-bypass': { type: 'boolean', default: false },
    busy: { type: 'string' },
  },
});

const defaultInterfaces = values.iface ?? [];
const exclude = values.exclude?.filter((pattern) => pattern !== 'none');
// Every level, as this test and benchmark program always logged (L2LB_LOG_LEVEL does not apply).
const logger = createLogger({ level: 'debug' });
const announcer = new L2Announcer({
  logger,
  nativeFastPath: values['js-only'] !== true,
  qdiscBypass: values['qdisc-bypass'] === true,
  onHealthChange: (health) => answer({ event: 'health', ...health }),
  ...(exclude !== undefined ? { selection: { exclude } } : {}),
  ...(values.schedule !== undefined ? { schedule: values.schedule.split(',').filter((delay) => delay !== '').map(Number) } : {}),
});

function answer(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function control(line: string): void {
  let command: unknown;
  try {
    command = JSON.parse(line);
  } catch {
    answer({ ok: false, reason: 'not JSON' });
    return;
  }
  if (typeof command !== 'object' || command === null) { answer({ ok: false, reason: 'not an object' }); return; }
  const { op, ip, interfaces } = command as { op?: unknown; ip?: unknown; interfaces?: unknown };
  const names = Array.isArray(interfaces) ? interfaces.filter((name): name is string => typeof name === 'string') : defaultInterfaces;
  if (op === 'announce' && typeof ip === 'string') answer({ op, ...announcer.announce(ip, names) });
  else if (op === 'withdraw' && typeof ip === 'string') answer({ op, ...announcer.withdraw(ip) });
  else if (op === 'counters') answer({ op, ok: true, counters: announcer.counters.snapshot() });
  else if (op === 'status') answer({ op, ok: true, status: announcer.status() });
  else if (op === 'pid') answer({ op, ok: true, pid: process.pid });
  else if (op === 'stats') answer({ op, ok: true, stats: announcer.socketStats() });
  else if (op === 'health') answer({ op, ok: true, health: announcer.health() });
  else if (op === 'responders') answer({ op, ok: true, responders: announcer.responderStatus() });
  else if (op === 'answerable' && typeof ip === 'string') answer({ op, ok: true, answerable: announcer.answerable(ip) });
  else answer({ ok: false, reason: `unknown command ${JSON.stringify(command)}` });
}

function stop(): void {
  announcer.close();
  process.exit(0);
}

await announcer.start();
for (const ip of values.announce ?? []) {
  const result = announcer.announce(ip, defaultInterfaces);
  if (!result.ok) { logger.error('bad --announce', { reason: result.reason }); process.exit(2); }
}
for (const responder of announcer.responderStatus()) {
  logger.info('receive buffer', { interface: responder.interface, receiveBuffer: responder.receiveBuffer, forced: responder.receiveBufferForced });
}
if (values.busy !== undefined) startBusy(values.busy);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
createInterface({ input: process.stdin }).on('line', control).on('close', stop);
answer({ event: 'ready', pid: process.pid });

/**
 * A recompute storm, simulated: for `burst` ms out of every `period` ms the main thread spins while
 * allocating short-lived objects (what planning 5,000 Services does to the event loop and the GC).
 */
function startBusy(spec: string): void {
  const [burst = 200, period = 1000] = spec.split(',').map(Number);
  let sink = 0;
  setInterval(() => {
    const until = performance.now() + burst;
    while (performance.now() < until) {
      const garbage = Array.from({ length: 256 }, (_, index) => ({ index, text: `svc-${index}` }));
      sink += garbage.length;
    }
    if (sink < 0) process.stdout.write('');
  }, period).unref();
}
