// The lab's addressing plan, as plain data: every address and name the lab uses is derived here, so the
// network code, the tests and the demo agree on them. See ../../../shared/design.md, "The lab".

export const LAB_NET_NS = 'lab-net';
export const LAB_CLIENT_NS = 'lab-client';
export const SEGMENT1_BRIDGE = 'br-seg1';
export const SEGMENT2_BRIDGE = 'br-seg2';
/** Each node namespace reaches the API server here (through the relay, see relay.ts). */
export const NODE_API_PORT = 6443;

export interface LabNode {
  readonly index: number;
  readonly name: string; // also its network namespace and its Node object
  readonly eth0: { readonly ipv4: string; readonly ipv6: string; readonly mac: string; readonly peer: string };
  readonly eth1: { readonly ipv4: string; readonly mac: string; readonly peer: string };
}

export const client = {
  eth0: { ipv4: '192.168.1.2', ipv6: 'fd00:1::2', mac: '02:00:c0:a8:01:02', peer: 'c-eth0' },
  eth1: { ipv4: '192.168.2.2', mac: '02:00:c0:a8:02:02', peer: 'c-eth1' },
} as const;

function macFor(ipv4: string): string {
  // 02 (locally administered) : 00 : the IPv4 address: a MAC in a capture tells which address owns it.
  return ['02', '00', ...ipv4.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'))].join(':');
}

export function labNode(index: number): LabNode {
  const host = 10 + index;
  const ipv4 = `192.168.1.${host}`;
  const ipv4b = `192.168.2.${host}`;
  return {
    index,
    name: `lab-node-${index}`,
    eth0: { ipv4, ipv6: `fd00:1::${host}`, mac: macFor(ipv4), peer: `n${index}-eth0` },
    eth1: { ipv4: ipv4b, mac: macFor(ipv4b), peer: `n${index}-eth1` },
  };
}

export function labNodes(count: number): LabNode[] {
  return Array.from({ length: count }, (_, i) => labNode(i + 1));
}

// The cluster lab (`make lab-up CLUSTER=1`, cluster.ts): kubelets on the nodes, Pods on a bridge per node.

/** Where the API server's egress proxy runs: a namespace on segment 1, as a control-plane node sits on
 *  the nodes' network, so the API server reaches Pods (the webhook) without touching the host's routes. */
export const LAB_CONTROL_PLANE_NS = 'lab-control-plane';
export const controlPlaneHost = {
  eth0: { ipv4: '192.168.1.5', mac: '02:00:c0:a8:01:05', peer: 'cp-eth0' },
} as const;

/** The `kubernetes` Service's ClusterIP (first of the API server's --service-cluster-ip-range). Each node
 *  holds it locally, as kube-proxy would route it, and a relay there forwards it to the API server. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** A node's Pod subnet; every other node and the control-plane namespace route it via the node's eth0. */
export function podCidr(node: LabNode): string {
  return `10.244.${node.index}.0/24`;
}
