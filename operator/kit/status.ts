// Status is written to the /status subresource by server-side apply under one fixed field manager per
// component (the caller names it), and only when it differs from what the cache holds: a resync that finds
// nothing new writes nothing, which keeps steady-state API writes at zero.

import { isStatus, type KubeClient } from './kube-client.js';
import type { KubeObject, ResourceType } from './resources.js';

export async function applyStatus<S>(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
  status: S,
  fieldManager: string,
): Promise<void> {
  const { namespace, name } = object.metadata;
  try {
    await client.apply(type, { metadata: { namespace, name }, ...{ status } }, fieldManager, 'status');
  } catch (error) {
    // Deleted since the cache showed it: its delete event is on the way, and there is nothing to write.
    if (!isStatus(error, 404)) throw error;
  }
}

/** Deep equality of JSON-like values, blind to key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const aKeys = Object.keys(aRecord).filter((key) => aRecord[key] !== undefined);
  const bKeys = Object.keys(bRecord).filter((key) => bRecord[key] !== undefined);
  return aKeys.length === bKeys.length && aKeys.every((key) => sameJson(aRecord[key], bRecord[key]));
}
