// `node dist/e2e/lab/cli.js up [--nodes N] [--cluster] | down`, behind `make lab-up [NODES=N] [CLUSTER=1]`
// and `make lab-down`. --cluster (CLUSTER=1): kubelets on the nodes run l2lb from its image (cluster.ts).

import { parseArgs } from 'node:util';
import { labDown, labUp } from './lab.js';

const progress = (message: string): void => console.log(`lab: ${message}`);

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: {
    nodes: { type: 'string', default: process.env.NODES ?? '3' },
    cluster: { type: 'boolean', default: (process.env.CLUSTER ?? '') !== '' && process.env.CLUSTER !== '0' },
  } });
  const command = positionals[0];
  if (command === 'up') {
    const started = Date.now();
    const lab = await labUp(Number(values.nodes), progress, undefined, values.cluster ? 'cluster' : 'processes');
    progress(`up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${lab.nodes.length} nodes; \`. .lab/env\` to use it`);
  } else if (command === 'down') {
    await labDown(progress);
  } else {
    throw new Error(`usage: lab up [--nodes N] [--cluster] | lab down (got "${command ?? ''}")`);
  }
}

main().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
