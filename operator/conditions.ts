// metav1.Condition bookkeeping: `lastTransitionTime` moves only when a condition's status changes, so
// "since when has this pool been not Ready" stays true across reconciles that rewrite the message.

import type { Condition } from '../schemas/generated/types.js';

export type { Condition };

/** metav1.Time serialises to whole seconds (RFC 3339); writing milliseconds would differ on every read-back. */
export function conditionTime(now: Date): string {
  return now.toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/**
 * Sets the condition of `next.type`, keeping the others in place. The transition time is kept when the
 * status is unchanged and is `now` otherwise; reason, message and observedGeneration always follow `next`.
 */
export function setCondition(existing: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const previous = findCondition(existing, next.type);
  const lastTransitionTime =
    previous !== undefined && previous.status === next.status ? previous.lastTransitionTime : conditionTime(now);
  const condition: Condition = { ...next, lastTransitionTime };
  return previous === undefined
    ? [...existing, condition]
    : existing.map((c) => (c.type === next.type ? condition : c));
}

/** Applies several conditions in order: the usual case of a reconcile that computes all of its conditions. */
export function setConditions(
  existing: readonly Condition[],
  next: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>,
  now: Date,
): Condition[] {
  return next.reduce<Condition[]>((conditions, condition) => setCondition(conditions, condition, now), [...existing]);
}
