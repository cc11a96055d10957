// The lab's Layer 2 segments, built with iproute2 entirely inside namespaces the lab owns: both ends of
// every veth are created in lab namespaces, so the host's own interfaces and routes are never touched,
// and no namespace has a default route, so nothing can leave the lab.

import { execFileSync } from 'node:child_process';
import { client, controlPlaneHost, KUBERNETES_SERVICE_IP, LAB_CLIENT_NS, LAB_CONTROL_PLANE_NS, LAB_NET_NS, podCidr, SEGMENT1_BRIDGE, SEGMENT2_BRIDGE, type LabNode } from './topology.js';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, command: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function listLabNamespaces(): string[] {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name.startsWith('lab-'));
}

function hasLink(ns: string, link: string): boolean {
  try {
    ip('-n', ns, 'link', 'show', link);
    return true;
  } catch {
    return false;
  }
}

function sysctl(ns: string, key: string, value: string): void {
  inNs(ns, 'sysctl', '-qw', `${key}=${value}`);
}

/** A fresh namespace with loopback up and IPv6 duplicate address detection off (lab addresses are unique
 *  by construction, and DAD would hold each one back for a second). */
function freshNamespace(ns: string): void {
  if (listLabNamespaces().includes(ns)) ip('netns', 'del', ns);
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0');
  sysctl(ns, 'net.ipv6.conf.default.accept_dad', '0');
  sysctl(ns, 'net.ipv6.conf.default.accept_ra', '0');
  // A link flap must not cost a node its IPv6 address (the kernel flushes them on admin down by default;
  // a real host's network manager puts them back): the fault tests flap links, later tests use the address.
  sysctl(ns, 'net.ipv6.conf.all.keep_addr_on_down', '1');
  sysctl(ns, 'net.ipv6.conf.default.keep_addr_on_down', '1');
}

export function ensureSegments(): boolean {
  if (listLabNamespaces().includes(LAB_NET_NS) && hasLink(LAB_NET_NS, SEGMENT1_BRIDGE) && hasLink(LAB_NET_NS, SEGMENT2_BRIDGE)) return false;
  freshNamespace(LAB_NET_NS);
  for (const bridge of [SEGMENT1_BRIDGE, SEGMENT2_BRIDGE]) {
    // Multicast snooping off: the bridge floods solicited-node multicast like a plain switch, so NDP
    // never depends on the bridge having seen an MLD report. No STP: ports forward at once.
    ip('-n', LAB_NET_NS, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0', 'forward_delay', '0');
    ip('-n', LAB_NET_NS, 'link', 'set', bridge, 'up');
  }
  return true;
}

/** A veth from `ns` (named `inside`) to a port `peer` of `bridge` in the segment namespace. */
function plug(ns: string, inside: string, mac: string, peer: string, bridge: string): void {
  ip('-n', LAB_NET_NS, 'link', 'add', peer, 'type', 'veth', 'peer', 'name', inside, 'netns', ns);
  ip('-n', ns, 'link', 'set', inside, 'address', mac);
  ip('-n', LAB_NET_NS, 'link', 'set', peer, 'master', bridge);
  ip('-n', LAB_NET_NS, 'link', 'set', peer, 'up');
  ip('-n', ns, 'link', 'set', inside, 'up');
}

function nodeIsComplete(node: LabNode): boolean {
  return listLabNamespaces().includes(node.name) && hasLink(node.name, 'eth0') && hasLink(node.name, 'eth1')
    && hasLink(node.name, 'kube-ipvs0') && hasLink(LAB_NET_NS, node.eth0.peer);
}

export function ensureNode(node: LabNode): boolean {
  if (nodeIsComplete(node)) return false;
  for (const peer of [node.eth0.peer, node.eth1.peer]) {
    if (hasLink(LAB_NET_NS, peer)) ip('-n', LAB_NET_NS, 'link', 'del', peer);
  }
  freshNamespace(node.name);
  plug(node.name, 'eth0', node.eth0.mac, node.eth0.peer, SEGMENT1_BRIDGE);
  plug(node.name, 'eth1', node.eth1.mac, node.eth1.peer, SEGMENT2_BRIDGE);
  ip('-n', node.name, 'addr', 'add', `${node.eth0.ipv4}/24`, 'dev', 'eth0');
  ip('-n', node.name, 'addr', 'add', `${node.eth0.ipv6}/64`, 'dev', 'eth0', 'nodad');
  ip('-n', node.name, 'addr', 'add', `${node.eth1.ipv4}/24`, 'dev', 'eth1');
  // kube-proxy's IPVS mode puts every LoadBalancer IP on this dummy interface. The kernel must never
  // answer ARP for those addresses itself (arp_ignore=1: only for addresses on the asking interface;
  // arp_announce=2: never use them as ARP source), or every node would claim every address.
  // A portless bridge stands in for the dummy device: it holds local addresses the same way, and some
  // kernels (this lab's VMs among them) are built without the dummy driver.
  ip('-n', node.name, 'link', 'add', 'kube-ipvs0', 'type', 'bridge');
  ip('-n', node.name, 'link', 'set', 'kube-ipvs0', 'up');
  for (const scope of ['all', 'default', 'eth0', 'eth1']) {
    sysctl(node.name, `net.ipv4.conf.${scope}.arp_ignore`, '1');
    sysctl(node.name, `net.ipv4.conf.${scope}.arp_announce`, '2');
  }
  return true;
}

export function ensureClient(): boolean {
  if (listLabNamespaces().includes(LAB_CLIENT_NS) && hasLink(LAB_CLIENT_NS, 'eth0') && hasLink(LAB_CLIENT_NS, 'eth1')
    && hasLink(LAB_NET_NS, client.eth0.peer)) return false;
  for (const peer of [client.eth0.peer, client.eth1.peer]) {
    if (hasLink(LAB_NET_NS, peer)) ip('-n', LAB_NET_NS, 'link', 'del', peer);
  }
  freshNamespace(LAB_CLIENT_NS);
  plug(LAB_CLIENT_NS, 'eth0', client.eth0.mac, client.eth0.peer, SEGMENT1_BRIDGE);
  plug(LAB_CLIENT_NS, 'eth1', client.eth1.mac, client.eth1.peer, SEGMENT2_BRIDGE);
  ip('-n', LAB_CLIENT_NS, 'addr', 'add', `${client.eth0.ipv4}/24`, 'dev', 'eth0');
  ip('-n', LAB_CLIENT_NS, 'addr', 'add', `${client.eth0.ipv6}/64`, 'dev', 'eth0', 'nodad');
  ip('-n', LAB_CLIENT_NS, 'addr', 'add', `${client.eth1.ipv4}/24`, 'dev', 'eth1');
  return true;
}

/** The cluster lab's control-plane namespace on segment 1 (see topology.ts), routing each node's Pod
 *  subnet via that node. Routes are replaced every time: NODES may have changed. */
export function ensureControlPlaneHost(nodes: readonly LabNode[]): boolean {
  const fresh = !(listLabNamespaces().includes(LAB_CONTROL_PLANE_NS) && hasLink(LAB_CONTROL_PLANE_NS, 'eth0') && hasLink(LAB_NET_NS, controlPlaneHost.eth0.peer));
  if (fresh) {
    if (hasLink(LAB_NET_NS, controlPlaneHost.eth0.peer)) ip('-n', LAB_NET_NS, 'link', 'del', controlPlaneHost.eth0.peer);
    freshNamespace(LAB_CONTROL_PLANE_NS);
    plug(LAB_CONTROL_PLANE_NS, 'eth0', controlPlaneHost.eth0.mac, controlPlaneHost.eth0.peer, SEGMENT1_BRIDGE);
    ip('-n', LAB_CONTROL_PLANE_NS, 'addr', 'add', `${controlPlaneHost.eth0.ipv4}/24`, 'dev', 'eth0');
  }
  for (const node of nodes) ip('-n', LAB_CONTROL_PLANE_NS, 'route', 'replace', podCidr(node), 'via', node.eth0.ipv4);
  return fresh;
}

/** A cluster node's part of the Pod network: it forwards between its Pods' bridge (made by the CNI
 *  bridge plugin) and eth0, routes the other nodes' Pod subnets via them, and holds the `kubernetes`
 *  Service's ClusterIP on lo (arp_ignore keeps eth0 from ever answering for it). */
export function ensurePodNetwork(node: LabNode, nodes: readonly LabNode[]): void {
  sysctl(node.name, 'net.ipv4.ip_forward', '1');
  const onLo = inNs(node.name, 'ip', '-o', 'addr', 'show', 'dev', 'lo');
  if (!onLo.includes(` ${KUBERNETES_SERVICE_IP}/32 `)) ip('-n', node.name, 'addr', 'add', `${KUBERNETES_SERVICE_IP}/32`, 'dev', 'lo');
  for (const other of nodes) {
    if (other.index !== node.index) ip('-n', node.name, 'route', 'replace', podCidr(other), 'via', other.eth0.ipv4);
  }
}

/** Removes a node namespace and its bridge ports (for NODES shrinking). */
export function removeNode(node: LabNode): void {
  for (const peer of [node.eth0.peer, node.eth1.peer]) {
    if (hasLink(LAB_NET_NS, peer)) ip('-n', LAB_NET_NS, 'link', 'del', peer);
  }
  if (listLabNamespaces().includes(node.name)) ip('netns', 'del', node.name);
}

/** Deleting a namespace deletes every link in it, and with a veth's one end its other end. */
export function removeAllLabNamespaces(): string[] {
  const namespaces = listLabNamespaces();
  for (const ns of namespaces) ip('netns', 'del', ns);
  return namespaces;
}
