import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const MODULE = fileURLToPath(new URL('./early-signals.js', import.meta.url));

/** Runs `body` in a child after the early handler is installed, sends SIGTERM once it says "ready",
 *  and returns how it ended. */
async function endOf(body: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e',
    `import * as early from ${JSON.stringify(MODULE)}; early.exitOnSignalsWhileStarting(); ${body}; process.stdout.write('ready\\n'); setTimeout(() => {}, 20000);`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (output.includes('ready')) child.kill('SIGTERM');
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

it('a SIGTERM while the program is still starting ends it at once, cleanly', async () => {
  assert.deepEqual(await endOf(''), { code: 0, signal: null });
});

it('once the graceful handlers are installed, they alone handle SIGTERM', async () => {
  assert.deepEqual(await endOf("process.on('SIGTERM', () => process.exit(3)); early.gracefulSignalsInstalled()"), { code: 3, signal: null });
});
