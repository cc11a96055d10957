// Validates a set of manifests together, as `kubectl apply` of all of them would land: pools are checked
// against each other (an overlap across two files counts) and against any pools already known.

import type { IPAddressPool } from '../../schemas/generated/types.js';
import { validateIPAddressPool } from '../../schemas/validators.js';
import { validateAdvertisement, validatePool, type ValidationContext } from './rules.js';

export interface ManifestSource {
  /** Where the object came from, for notes: `pools.yaml#2`. */
  readonly origin: string;
  readonly object: unknown;
}

export interface ManifestReport {
  readonly errors: readonly string[];
  /** Objects that were not checked, and why. */
  readonly notes: readonly string[];
  readonly checked: number;
}

function kindOf(object: unknown): string | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const { kind, apiVersion } = object as { kind?: unknown; apiVersion?: unknown };
  if (typeof kind !== 'string') return undefined;
  return apiVersion === 'metallb.io/v1beta1' ? kind : `${String(apiVersion)}/${kind}`;
}

export function validateManifests(sources: readonly ManifestSource[], context: ValidationContext = {}): ManifestReport {
  const errors: string[] = [];
  const notes: string[] = [];
  let checked = 0;
  // Each pool is judged against every other schema-valid pool in the set, whichever came first.
  const pools = sources.map((s) => s.object).filter((o): o is IPAddressPool => kindOf(o) === 'IPAddressPool' && validateIPAddressPool(o));
  for (const { origin, object } of sources) {
    const kind = kindOf(object);
    if (kind === 'IPAddressPool') {
      checked++;
      const result = validatePool(object, pools.filter((p) => p !== object), context);
      if (!result.ok) errors.push(...result.errors);
    } else if (kind === 'L2Advertisement') {
      checked++;
      const result = validateAdvertisement(object, context);
      if (!result.ok) errors.push(...result.errors);
    } else if (object === null || object === undefined) {
      continue; // an empty YAML document, e.g. after a trailing `---`
    } else {
      notes.push(`${origin}: ${kind ?? 'object without kind'} not checked: l2lb validates metallb.io/v1beta1 IPAddressPool and L2Advertisement`);
    }
  }
  return { errors, notes, checked };
}
