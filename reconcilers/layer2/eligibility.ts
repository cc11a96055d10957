// May this node announce this address? The rules of MetalLB's layer 2 ShouldAnnounce and speakersForPool,
// plus the ones its users keep asking for (cordoned and out-of-service nodes hand their addresses over
// before they go). Pure: the announcer gathers the facts, this decides, and every "no" says why, for
// ServiceL2Status, Events and logs. The election (election.ts) then runs over the eligible nodes.

import type { LabelSelector } from '../../schemas/generated/types.js';
import { anySelectorMatches, type Labels } from './labels.js';

export const EXCLUDE_FROM_LB_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';
export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';
/** The node lifecycle controller's mirror of spec.unschedulable: either one means cordoned. */
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect?: string;
}

export interface NodeCondition {
  readonly type: string;
  readonly status: string;
}

/** Whether the node's announcer is alive: known outright, or judged from its last heartbeat. */
export type Liveness = boolean | { readonly heartbeatAgeMs: number; readonly thresholdMs: number };

export interface NodeFacts {
  readonly name: string;
  readonly labels: Labels;
  readonly unschedulable?: boolean;
  readonly taints?: readonly NodeTaint[];
  readonly conditions?: readonly NodeCondition[];
  readonly live: Liveness;
  /** The node's interfaces that can carry announcements (up, not loopback), in the node's own order. */
  readonly interfaces: readonly string[];
}

export interface AdvertisementFacts {
  readonly name: string;
  /** The pools it announces, resolved from ipAddressPools and ipAddressPoolSelectors. */
  readonly pools: readonly string[];
  /** ORed; none means every node. */
  readonly nodeSelectors?: readonly LabelSelector[];
  /** None means every usable interface. */
  readonly interfaces?: readonly string[];
}

export interface EndpointFacts {
  readonly nodeName?: string;
  readonly serving: boolean;
}

export interface ServiceFacts {
  readonly externalTrafficPolicy?: string;
  /** Every endpoint of every EndpointSlice of the Service. */
  readonly endpoints: readonly EndpointFacts[];
}

export interface AddressFacts {
  readonly ip: string;
  /** The pool the address was allocated from. */
  readonly pool: string;
}

export interface EligibilityOptions {
  /** Keep announcing from a cordoned node (MetalLB does; the default hands over before a drain). */
  readonly announceFromCordoned: boolean;
  /** Keep announcing from a node tainted node.kubernetes.io/out-of-service. */
  readonly announceFromOutOfService: boolean;
  /** Ignore the exclude-from-external-load-balancers label (MetalLB's --ignore-exclude-lb). */
  readonly ignoreExcludeFromLoadBalancers: boolean;
}

export const defaultEligibilityOptions: EligibilityOptions = {
  announceFromCordoned: false,
  announceFromOutOfService: false,
  ignoreExcludeFromLoadBalancers: false,
};

/** Everything about one address of one Service except the node being judged. */
export interface AnnouncementFacts {
  readonly address: AddressFacts;
  readonly service: ServiceFacts;
  readonly advertisements: readonly AdvertisementFacts[];
  readonly options?: Partial<EligibilityOptions>;
}

export interface EligibilityInput extends AnnouncementFacts {
  readonly node: NodeFacts;
}

export type Eligibility =
  | { readonly eligible: true; readonly interfaces: string[] }
  | { readonly eligible: false; readonly reason: string };

/** EndpointSlice conditions as the API gives them. `serving` wins when present: a terminating endpoint
 *  is not ready but still serves, and counting it keeps the address up while a node drains. A missing
 *  condition means "unknown", which Kubernetes says to treat as serving. */
export function endpointServes(conditions: { readonly ready?: boolean | null; readonly serving?: boolean | null } | undefined): boolean {
  return (conditions?.serving ?? conditions?.ready ?? true) !== false;
}

const not = (reason: string): Eligibility => ({ eligible: false, reason });
const list = (names: readonly string[]): string => names.join(', ');

function livenessProblem(node: NodeFacts): string | undefined {
  const live = node.live;
  if (live === true) return undefined;
  if (live === false) return `the announcer on node ${node.name} is not live`;
  if (live.heartbeatAgeMs <= live.thresholdMs) return undefined;
  return `the announcer on node ${node.name} last reported ${Math.round(live.heartbeatAgeMs)} ms ago, over the ${live.thresholdMs} ms limit`;
}

function healthProblem(node: NodeFacts, options: EligibilityOptions): string | undefined {
  const liveness = livenessProblem(node);
  if (liveness !== undefined) return liveness;
  if (node.conditions?.some((c) => c.type === 'NetworkUnavailable' && c.status === 'True')) {
    return `node ${node.name} has condition NetworkUnavailable=True`;
  }
  if (!options.ignoreExcludeFromLoadBalancers && Object.hasOwn(node.labels, EXCLUDE_FROM_LB_LABEL)) {
    return `node ${node.name} is labeled ${EXCLUDE_FROM_LB_LABEL}`;
  }
  const taints = node.taints ?? [];
  if (!options.announceFromCordoned && (node.unschedulable === true || taints.some((t) => t.key === UNSCHEDULABLE_TAINT))) {
    return `node ${node.name} is cordoned (unschedulable)`;
  }
  if (!options.announceFromOutOfService && taints.some((t) => t.key === OUT_OF_SERVICE_TAINT)) {
    return `node ${node.name} is tainted ${OUT_OF_SERVICE_TAINT}`;
  }
  return undefined;
}

/** The node's interfaces the selecting advertisements allow, in the node's order, or why there are none. */
function announceInterfaces(node: NodeFacts, selecting: readonly AdvertisementFacts[]): Eligibility {
  if (node.interfaces.length === 0) return not(`node ${node.name} has no usable interface`);
  const anyInterface = selecting.some((ad) => (ad.interfaces ?? []).length === 0);
  const named = new Set(selecting.flatMap((ad) => ad.interfaces ?? []));
  const interfaces = node.interfaces.filter((name) => anyInterface || named.has(name));
  if (interfaces.length > 0) return { eligible: true, interfaces: [...new Set(interfaces)] };
  return not(`node ${node.name} has none of the interfaces ${list([...named].sort())} ` +
    `named by L2Advertisement ${list(selecting.map((ad) => ad.name))}`);
}

/** The interfaces the advertisements selecting this node ask it to answer on, whether or not it owns an
 *  address now: named ones, or `every` usable interface when one of them names none. */
export function wantedInterfaces(labels: Labels, advertisements: readonly AdvertisementFacts[]): { interfaces: string[]; every: boolean } {
  const selecting = advertisements.filter((ad) => ad.pools.length > 0 && anySelectorMatches(ad.nodeSelectors, labels));
  return {
    interfaces: [...new Set(selecting.flatMap((ad) => ad.interfaces ?? []))].sort(),
    every: selecting.some((ad) => (ad.interfaces ?? []).length === 0),
  };
}

export function nodeEligibility(input: EligibilityInput): Eligibility {
  const { node, address, service } = input;
  const options = { ...defaultEligibilityOptions, ...input.options };
  const serving = service.endpoints.filter((ep) => ep.serving);
  if (serving.length === 0) return not('the service has no serving endpoints');

  const covering = input.advertisements.filter((ad) => ad.pools.includes(address.pool));
  if (covering.length === 0) return not(`no L2Advertisement announces pool ${address.pool}`);
  const selecting = covering.filter((ad) => anySelectorMatches(ad.nodeSelectors, node.labels));
  if (selecting.length === 0) {
    return not(`the nodeSelectors of L2Advertisement ${list(covering.map((ad) => ad.name))} (pool ${address.pool}) do not select node ${node.name}`);
  }

  const health = healthProblem(node, options);
  if (health !== undefined) return not(health);

  if (service.externalTrafficPolicy === 'Local' && !serving.some((ep) => ep.nodeName === node.name)) {
    return not(`externalTrafficPolicy is Local and node ${node.name} has no serving endpoint`);
  }
  return announceInterfaces(node, selecting);
}

export interface EligibleNodes {
  /** Eligible node names, sorted: the input of electOwner. */
  readonly eligible: readonly string[];
  /** Per eligible node, the interfaces to announce from. */
  readonly interfaces: ReadonlyMap<string, readonly string[]>;
  /** Per ineligible node, why. */
  readonly reasons: ReadonlyMap<string, string>;
}

export function eligibleNodes(facts: AnnouncementFacts, nodes: readonly NodeFacts[]): EligibleNodes {
  const interfaces = new Map<string, readonly string[]>();
  const reasons = new Map<string, string>();
  for (const node of nodes) {
    const verdict = nodeEligibility({ ...facts, node });
    if (verdict.eligible) interfaces.set(node.name, verdict.interfaces);
    else reasons.set(node.name, verdict.reason);
  }
  return { eligible: [...interfaces.keys()].sort(), interfaces, reasons };
}
