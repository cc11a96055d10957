// `node dist/e2e/lab/cli.js up [--nodes N] | down`, behind `make lab-up` and `make lab-down`.

import { parseArgs } from 'node:util';
import { labDown, labUp } from './lab.js';

const progress = (message: string): void => console.log(`lab: ${message}`);

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { nodes: { type: 'string', default: process.env.NODES ?? '3' } } });
  const command = positionals[0];
  if (command === 'up') {
    const started = Date.now();
    const lab = await labUp(Number(values.nodes), progress);
    progress(`up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${lab.nodes.length} nodes; \`. .lab/env\` to use it`);
  } else if (command === 'down') {
    await labDown(progress);
  } else {
    throw new Error(`usage: lab up [--nodes N] | lab down (got "${command ?? ''}")`);
  }
}

main().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
