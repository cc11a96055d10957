// What an L2Advertisement resolves to: which existing pools it announces and from how many nodes. MetalLB
// silently ignores a pool name that does not exist; we say so in ResolvedRefs and Ready. Pure.

import { setConditions } from '../../operator/kit/conditions.js';
import type { Condition, L2Advertisement, L2AdvertisementStatus, LabelSelector } from '../../schemas/generated/types.js';
import { anySelectorMatches, selectorProblems, type Labels } from './labels.js';

/** A pool or a node as far as selection goes. */
export interface Labelled {
  readonly name: string;
  readonly labels?: Labels;
}

export interface AdvertisementResolution {
  /** Existing pools announced, sorted by name. */
  readonly pools: readonly string[];
  /** Names in spec.ipAddressPools that match no pool, in spec order. */
  readonly missingPools: readonly string[];
  /** Nodes the nodeSelectors select, sorted by name. */
  readonly nodes: readonly string[];
  /** Selector fields that break Kubernetes' rules; such a selector selects nothing. */
  readonly invalidSelectors: readonly string[];
}

function usable(field: string, selectors: readonly LabelSelector[] | undefined, invalid: string[]): LabelSelector[] {
  return (selectors ?? []).filter((selector, i) => {
    const broken = selectorProblems(selector).length > 0;
    if (broken) invalid.push(`${field}[${i}]`);
    return !broken;
  });
}

export function resolveAdvertisement(
  advertisement: L2Advertisement,
  pools: readonly Labelled[],
  nodes: readonly Labelled[],
): AdvertisementResolution {
  const spec = advertisement.spec ?? {};
  const invalid: string[] = [];
  const names = spec.ipAddressPools ?? [];
  const poolSelectors = usable('spec.ipAddressPoolSelectors', spec.ipAddressPoolSelectors, invalid);
  const nodeSelectors = usable('spec.nodeSelectors', spec.nodeSelectors, invalid);
  const known = new Set(pools.map((pool) => pool.name));
  // MetalLB: with neither names nor selectors, the advertisement covers every pool.
  const everyPool = names.length === 0 && (spec.ipAddressPoolSelectors ?? []).length === 0;
  const selected = pools.filter(
    (pool) =>
      everyPool ||
      names.includes(pool.name) ||
      poolSelectors.some((selector) => anySelectorMatches([selector], pool.labels ?? {})),
  );
  // An invalid node selector selects nothing; only when none was written do all nodes match.
  const allNodes = (spec.nodeSelectors ?? []).length === 0;
  const matchedNodes = nodes.filter((node) => allNodes || (nodeSelectors.length > 0 && anySelectorMatches(nodeSelectors, node.labels ?? {})));
  return {
    pools: [...new Set(selected.map((pool) => pool.name))].sort(),
    missingPools: [...new Set(names.filter((name) => !known.has(name)))],
    nodes: matchedNodes.map((node) => node.name).sort(),
    invalidSelectors: invalid,
  };
}

type NewCondition = Omit<Condition, 'lastTransitionTime'>;

function conditionsFor(resolution: AdvertisementResolution, generation: number | undefined): NewCondition[] {
  const observed = generation === undefined ? {} : { observedGeneration: generation };
  const missing = resolution.missingPools.map((name) => JSON.stringify(name)).join(', ');
  const resolvedRefs: NewCondition =
    resolution.missingPools.length === 0
      ? { type: 'ResolvedRefs', status: 'True', reason: 'PoolsResolved', message: 'every pool named in spec.ipAddressPools exists', ...observed }
      : { type: 'ResolvedRefs', status: 'False', reason: 'PoolNotFound', message: `ipAddressPools ${missing} not found in the namespace`, ...observed };
  const notReady = (reason: string, message: string): NewCondition => ({ type: 'Ready', status: 'False', reason, message, ...observed });
  let ready: NewCondition;
  if (resolution.invalidSelectors.length > 0) {
    ready = notReady('InvalidSelector', `invalid selectors select nothing: ${resolution.invalidSelectors.join(', ')}`);
  } else if (resolution.missingPools.length > 0) {
    ready = notReady('PoolNotFound', `ipAddressPools ${missing} not found in the namespace`);
  } else if (resolution.pools.length === 0) {
    ready = notReady('NoPools', 'no IPAddressPool is selected: nothing to announce');
  } else if (resolution.nodes.length === 0) {
    ready = notReady('NoMatchingNodes', 'no node matches spec.nodeSelectors: nothing would announce');
  } else {
    const pools = resolution.pools.length === 1 ? '1 pool' : `${resolution.pools.length} pools`;
    const nodes = resolution.nodes.length === 1 ? '1 node' : `${resolution.nodes.length} nodes`;
    ready = { type: 'Ready', status: 'True', reason: 'Advertising', message: `announcing ${pools} from ${nodes}`, ...observed };
  }
  return [ready, resolvedRefs];
}

export interface AdvertisementStatusInput {
  readonly advertisement: L2Advertisement;
  readonly pools: readonly Labelled[];
  readonly nodes: readonly Labelled[];
  /** The conditions last written; defaults to the advertisement's own `status.conditions`. */
  readonly previousConditions?: readonly Condition[];
  readonly now: Date;
}

export function computeAdvertisementStatus(input: AdvertisementStatusInput): L2AdvertisementStatus {
  const { advertisement, pools, nodes, previousConditions, now } = input;
  const resolution = resolveAdvertisement(advertisement, pools, nodes);
  const generation = advertisement.metadata.generation;
  return {
    resolvedPools: resolution.pools,
    matchedNodes: resolution.nodes.length,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    conditions: setConditions(previousConditions ?? advertisement.status?.conditions ?? [], conditionsFor(resolution, generation), now),
  };
}
