// The lab as its users meet it: `lab up` with two nodes, then from lab-client `arping -I eth0
// 192.168.1.11` is answered by lab-node-1's eth0; `lab up` again changes nothing; `lab down` leaves no
// namespace, link, process or file behind and the host's own interfaces as they were.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';
import { labPaths } from './lab/lab.js';
import { labNode } from './lab/topology.js';

const cli = join(repoRoot, 'dist', 'e2e', 'lab', 'cli.js');
const lab = (...args: string[]): string => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const sh = (command: string, ...args: string[]): string => execFileSync(command, args, { encoding: 'utf8' });

function hostLinks(): string {
  // Names and flags only: counters and the order of attributes may change on their own.
  return sh('ip', '-o', 'link', 'show').split('\n').map((line) => line.split(':').slice(0, 3).join(':')).sort().join('\n');
}

function labNamespaces(): string[] {
  return sh('ip', 'netns', 'list').split('\n').map((line) => line.split(' ')[0] ?? '').filter((ns) => ns.startsWith('lab-'));
}

function pidsOf(runDir: string): number[] {
  return readdirSync(runDir).filter((f) => f.endsWith('.pid')).map((f) => Number(readFileSync(join(runDir, f), 'utf8').trim()));
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test('lab up with two nodes answers ARP from lab-node-1, and lab down leaves nothing behind', async () => {
  lab('down'); // from a clean slate, whatever an earlier run left
  const linksBefore = hostLinks();
  const paths = labPaths();
  let pids: number[] = [];
  try {
    lab('up', '--nodes', '2');
    assert.deepEqual(labNamespaces().sort(), ['lab-client', 'lab-net', 'lab-node-1', 'lab-node-2']);
    for (const name of ['etcd', 'kube-apiserver', 'api-relay', 'api-relay-lab-node-1', 'api-relay-lab-node-2']) {
      assert.ok(existsSync(join(paths.run, `${name}.pid`)), `${name}.pid`);
    }
    const env = readFileSync(paths.env, 'utf8');
    for (const variable of ['KUBECONFIG', 'LAB_NODES=2', 'LAB_CLIENT_NS', 'LAB_NODE_NAMESPACES']) assert.match(env, new RegExp(variable));

    const reply = sh('ip', 'netns', 'exec', 'lab-client', 'arping', '-c', '1', '-w', '3', '-I', 'eth0', '192.168.1.11');
    assert.match(reply, new RegExp(`reply from 192\\.168\\.1\\.11 \\[${labNode(1).eth0.mac}\\]`, 'i'));
    assert.match(reply, /Received 1 response/);
    const ndp = sh('ip', 'netns', 'exec', 'lab-client', 'ndisc6', '-1', '-r', '2', 'fd00:1::12', 'eth0');
    assert.match(ndp, new RegExp(labNode(2).eth0.mac, 'i'));

    const kubectl = join(env.match(/export PATH=([^:]+):/)![1]!, 'kubectl');
    const nodes = sh(kubectl, `--kubeconfig=${paths.kubeconfig}`, 'get', 'nodes', '-o', 'wide');
    assert.match(nodes, /lab-node-1\s+Ready.*192\.168\.1\.11/);
    assert.match(nodes, /lab-node-2\s+Ready.*192\.168\.1\.12/);
    // The announcers' credentials work from inside a node namespace, through the relay.
    const fromNode = sh('ip', 'netns', 'exec', 'lab-node-1', kubectl,
      `--kubeconfig=${join(paths.credentials, 'speaker.node.kubeconfig')}`, 'get', 'nodes', '-o', 'name');
    assert.match(fromNode, /node\/lab-node-1/);

    pids = pidsOf(paths.run);
    const again = lab('up', '--nodes', '2');
    assert.doesNotMatch(again, /starting|node lab-node|segments:/, 'a second lab up rebuilds nothing');
    assert.deepEqual(pidsOf(paths.run).sort(), [...pids].sort(), 'and restarts nothing');
  } finally {
    lab('down');
  }
  assert.deepEqual(labNamespaces(), []);
  assert.equal(existsSync(paths.root), false, '.lab is gone');
  assert.deepEqual(pids.filter(alive), [], 'no lab process survives');
  assert.equal(hostLinks(), linksBefore, "the host's links are as they were");
});
