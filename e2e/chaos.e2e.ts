// Two minutes of `make chaos` with a fixed seed: faults drawn at random (speaker and controller crashes,
// freezes, link flaps, an interface re-created, API server and etcd restarts) while the independent
// prober asks for 20 addresses every 20 ms. After every fault each address is answered by exactly one
// node within 1 s, none changes, and no program's memory grows by more than 20 %.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runChaos } from './chaos.js';
import { e2eLabMode } from './lab/programs.js';

test('two minutes of seeded chaos: one MAC per address within 1 s of every fault, no address changed, memory flat', { timeout: 900_000 }, async () => {
  const report = await runChaos({ minutes: Number(process.env.L2LB_CHAOS_MINUTES ?? '2'), seed: Number(process.env.L2LB_CHAOS_SEED ?? '1'), mode: e2eLabMode(), progress: () => undefined });
  console.log(formatReport(report));
  assert.ok(report.faults.length >= 5, `only ${report.faults.length} faults ran`);
  assert.deepEqual(report.failures, []);
});
