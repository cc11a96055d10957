// Which node announces an address: every announcer runs this over the same inputs and reaches the same
// answer without talking to the others. It is MetalLB's layer 2 election (speaker/layer2_controller.go,
// ShouldAnnounce): order the eligible nodes by sha256(node + "#" + ip) and take the first. That is
// rendezvous (highest-random-weight) hashing, so ownership moves as little as it can: a node leaving
// moves only the addresses it owned, a node joining takes only the addresses it now wins. Election is per
// address, never per Service, so Services sharing an address are always announced from one node.

import { createHash } from 'node:crypto';
import { formatIP, parseIP } from '../../arp/ipaddr.js';

/** The address as Go's net.IP.String() writes it, so that `fd00:1:0::240` and `fd00:1::240` elect the same
 *  node as each other and as MetalLB does. Text that is no address is hashed as it is. */
export function canonicalIP(ip: string): string {
  let canonical = canonicalForms.get(ip);
  if (canonical === undefined) {
    const parsed = parseIP(ip.trim());
    canonical = parsed === undefined ? ip : formatIP(parsed.family, parsed.value);
    if (canonicalForms.size >= MAX_REMEMBERED_KEYS) canonicalForms.clear();
    canonicalForms.set(ip, canonical);
  }
  return canonical;
}
const canonicalForms = new Map<string, string>();

// A node's key for an address never changes, and a plan asks for every (node, address) pair on every
// recompute: remembered, up to a bound that 10,000 addresses × 20 nodes stays under.
const keys = new Map<string, Buffer>();
const MAX_REMEMBERED_KEYS = 200_000;

function electionKey(node: string, ip: string): Buffer {
  const text = `${node}#${ip}`;
  let key = keys.get(text);
  if (key === undefined) {
    if (keys.size >= MAX_REMEMBERED_KEYS) keys.clear();
    key = createHash('sha256').update(text).digest();
    keys.set(text, key);
  }
  return key;
}

/** The eligible nodes in election order: the owner first, then who would take over from it, and so on. */
export function electionOrder(ip: string, eligibleNodes: readonly string[]): string[] {
  const address = canonicalIP(ip);
  const keyed = [...new Set(eligibleNodes)].map((node) => ({ node, key: electionKey(node, address) }));
  // Ties need two distinct names with one sha256: never in practice, but the name breaks them so the
  // order cannot depend on the order of the input.
  keyed.sort((a, b) => Buffer.compare(a.key, b.key) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return keyed.map(({ node }) => node);
}

// A plan elects every address on every recompute, over the same few nodes: the election order of every
// node seen eligible for an address is remembered, and its owner is the first of them eligible now. At
// 5,000 addresses × 10 nodes, looking up and comparing 50,000 keys per plan was more than half of a
// plan's 25 ms of CPU (10 ms with the orders remembered, on an idle core).
const orders = new Map<string, string[]>();
const MAX_REMEMBERED_ORDERS = 50_000;

/** The node that announces `ip`, or undefined when no node is eligible. */
export function electOwner(ip: string, eligibleNodes: readonly string[]): string | undefined {
  if (eligibleNodes.length <= 1) return eligibleNodes[0];
  const address = canonicalIP(ip);
  let order = orders.get(address);
  if (order === undefined || eligibleNodes.some((node) => !order!.includes(node))) {
    order = electionOrder(address, [...(order ?? []), ...eligibleNodes]);
    if (orders.size >= MAX_REMEMBERED_ORDERS) orders.clear();
    orders.set(address, order);
  }
  return order.find((node) => eligibleNodes.includes(node));
}
