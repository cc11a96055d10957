// `node dist/e2e/lab/cli.js up [--nodes N] [--cluster] [--peer metallb] | down`, behind
// `make lab-up [NODES=N] [CLUSTER=1] [PEER=metallb]` and `make lab-down`. --cluster (CLUSTER=1): kubelets
// on the nodes run l2lb from its image (cluster.ts); --peer metallb: that cluster runs MetalLB instead.

import { parseArgs } from 'node:util';
import { labDown, labUp } from './lab.js';

const progress = (message: string): void => console.log(`lab: ${message}`);

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: {
    nodes: { type: 'string', default: process.env.NODES ?? '3' },
    cluster: { type: 'boolean', default: (process.env.CLUSTER ?? '') !== '' && process.env.CLUSTER !== '0' },
    peer: { type: 'string', default: process.env.PEER ?? 'l2lb' },
  } });
  const command = positionals[0];
  if (command === 'up') {
    const started = Date.now();
    if (values.peer !== 'l2lb' && values.peer !== 'metallb') throw new Error(`PEER=${values.peer}: expected l2lb or metallb`);
    const mode = values.peer === 'metallb' ? 'metallb' : values.cluster ? 'cluster' : 'processes';
    const lab = await labUp(Number(values.nodes), progress, undefined, mode);
    progress(`up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${lab.nodes.length} nodes; \`. .lab/env\` to use it`);
  } else if (command === 'down') {
    await labDown(progress);
  } else {
    throw new Error(`usage: lab up [--nodes N] [--cluster] [--peer l2lb|metallb] | lab down (got "${command ?? ''}")`);
  }
}

main().catch((error: unknown) => {
  console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
