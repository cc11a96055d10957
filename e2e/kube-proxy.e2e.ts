// The lab's kube-proxy stand-in: a LoadBalancer IP written to a Service's status lands on kube-ipvs0 in
// every node namespace, the kernel stays silent about it (no ARP, no NDP: announcing is l2lb's job), traffic
// steered to a node by a static neighbor entry reaches that node's HTTP responder, and clearing the status
// takes the addresses away again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { KubeClient } from '../operator/kit/kube-client.js';
import { loadKubeConfig } from '../operator/kit/kubeconfig.js';
import { Services, type KubeObject } from '../operator/kit/resources.js';
import { labPaths, labUp } from './lab/lab.js';
import { e2eLabMode } from './lab/programs.js';
import { runningPid, waitFor } from './lab/processes.js';
import { LAB_CLIENT_NS, labNode } from './lab/topology.js';

const vip4 = '192.168.1.240';
const vip6 = 'fd00:1::240';
const stale = '192.168.1.249';
const namespace = 'default';
const name = 'kube-proxy-e2e';
const nodes = [labNode(1), labNode(2)];

const sh = (command: string, ...args: string[]): string => execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inClient = (command: string, ...args: string[]): string => sh('ip', 'netns', 'exec', LAB_CLIENT_NS, command, ...args);

/** Exit status and output of a command that is expected to fail. */
function attempt(command: string, ...args: string[]): { status: number; output: string } {
  try {
    return { status: 0, output: inClient(command, ...args) };
  } catch (error) {
    const failed = error as { status?: number; stdout?: string };
    return { status: failed.status ?? -1, output: failed.stdout ?? '' };
  }
}

function ipvsAddresses(node: string): string[] {
  const links = JSON.parse(sh('ip', '-n', node, '-j', 'addr', 'show', 'dev', 'kube-ipvs0')) as Array<{ addr_info?: Array<{ local?: string; scope?: string }> }>;
  return links.flatMap((link) => link.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => a.local ?? '').sort();
}

function steer(vip: string, mac: string): void {
  sh('ip', '-n', LAB_CLIENT_NS, 'neigh', 'replace', vip, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
}

function curl(url: string): string {
  return inClient('curl', '-s', '-g', '--max-time', '3', url).trim();
}

let client: KubeClient;

before(async () => {
  await labUp(3, (message) => process.stderr.write(`lab: ${message}\n`), undefined, e2eLabMode());
  client = await KubeClient.create(loadKubeConfig(labPaths().kubeconfig), 'l2lb-e2e-kube-proxy');
});

after(async () => {
  for (const vip of [vip4, vip6]) attempt('ip', 'neigh', 'del', vip, 'dev', 'eth0');
  try {
    await client?.delete(Services, namespace, name);
  } catch {
    // never created, or already gone
  }
  client?.close();
});

test('LoadBalancer IPs from Service status are on every node\'s kube-ipvs0, silent to ARP/NDP, and reach the node steered to', async () => {
  for (const node of nodes) assert.ok(runningPid(join(labPaths().run, `kube-proxy-${node.name}.pid`)) !== undefined, `kube-proxy on ${node.name}`);
  // Left behind by nobody knows what: the next sync, whatever triggers it, takes it away.
  sh('ip', '-n', nodes[1]!.name, 'addr', 'replace', `${stale}/32`, 'dev', 'kube-ipvs0');

  const service: KubeObject & Record<string, unknown> = {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
    // A class of its own: l2lb's controller (if running in the lab) leaves the Service and its status alone.
    spec: { type: 'LoadBalancer', loadBalancerClass: 'lab.l2lb.test/none', ports: [{ port: 80 }] },
  };
  await client.create(Services, service);
  await client.patch(Services, namespace, name, { status: { loadBalancer: { ingress: [{ ip: vip4 }, { ip: vip6 }] } } }, 'merge', 'status');

  for (const node of nodes) {
    await waitFor(`${vip4} and ${vip6} on ${node.name}'s kube-ipvs0, and only them`, () => {
      const present = ipvsAddresses(node.name);
      return present.includes(vip4) && present.includes(vip6) && !present.includes(stale);
    }, 5000);
  }

  // Nobody announces yet, and the kernel of neither node may answer for an address on kube-ipvs0.
  const arp = attempt('arping', '-c', '2', '-w', '2', '-I', 'eth0', vip4);
  assert.notEqual(arp.status, 0, `an ARP reply for ${vip4}: ${arp.output}`);
  assert.match(arp.output, /Received 0 response/);
  const ndp = attempt('ndisc6', '-r', '2', '-w', '500', vip6, 'eth0');
  assert.notEqual(ndp.status, 0, `an NDP advertisement for ${vip6}: ${ndp.output}`);
  assert.doesNotMatch(ndp.output, /Target link-layer address/);

  for (const node of nodes) {
    steer(vip4, node.eth0.mac);
    steer(vip6, node.eth0.mac);
    assert.equal(curl(`http://${vip4}/`), node.name, `IPv4 traffic steered to ${node.name}`);
    assert.equal(curl(`http://[${vip6}]/`), node.name, `IPv6 traffic steered to ${node.name}`);
  }

  await client.patch(Services, namespace, name, { status: { loadBalancer: { ingress: [] } } }, 'merge', 'status');
  for (const node of nodes) {
    await waitFor(`kube-ipvs0 of ${node.name} empty again`, () => ipvsAddresses(node.name).length === 0, 5000);
  }
});
