// metav1.Condition bookkeeping: `lastTransitionTime` moves only when a condition's status changes, so
// "since when has this pool been not Ready" stays true across reconciles that rewrite the message.

/**
 * metav1.Condition, as the API serves it. The kit keeps its own copy so that it imports nothing of the
 * operator using it; a CRD's generated `Condition` has this shape, so either is accepted and returned.
 */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly observedGeneration?: number;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

/** metav1.Time serialises to whole seconds (RFC 3339); writing milliseconds would differ on every read-back. */
export function conditionTime(now: Date): string {
  return now.toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}

/** What setCondition needs of a condition; metav1.Condition (`Condition`) and the core types' conditions have it. */
export interface ConditionShape {
  readonly type: string;
  readonly status: string;
  readonly lastTransitionTime?: string;
}

export function findCondition<C extends ConditionShape = Condition>(conditions: readonly C[] | undefined, type: string): C | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/**
 * Sets the condition of `next.type`, keeping the others in place. The transition time is kept when the
 * status is unchanged and is `now` otherwise; reason, message and observedGeneration always follow `next`.
 */
export function setCondition(existing: readonly Condition[], next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[];
/** The same for condition types of other shapes (core objects' conditions, whose status is a plain string). */
export function setCondition<C extends ConditionShape>(existing: readonly C[], next: Omit<C, 'lastTransitionTime'>, now: Date): C[];
export function setCondition<C extends ConditionShape>(existing: readonly C[], next: Omit<C, 'lastTransitionTime'>, now: Date): C[] {
  const previous = findCondition(existing, next.type);
  const lastTransitionTime =
    previous !== undefined && previous.status === next.status ? previous.lastTransitionTime : conditionTime(now);
  // Omit<C, K> & Pick<C, K> is C, which TypeScript cannot see through a generic.
  const condition = { ...next, lastTransitionTime } as unknown as C;
  return previous === undefined
    ? [...existing, condition]
    : existing.map((c) => (c.type === next.type ? condition : c));
}

/** Applies several conditions in order: the usual case of a reconcile that computes all of its conditions. */
export function setConditions(
  existing: readonly Condition[],
  next: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>,
  now: Date,
): Condition[];
export function setConditions<C extends ConditionShape>(existing: readonly C[], next: ReadonlyArray<Omit<C, 'lastTransitionTime'>>, now: Date): C[];
export function setConditions<C extends ConditionShape>(existing: readonly C[], next: ReadonlyArray<Omit<C, 'lastTransitionTime'>>, now: Date): C[] {
  return next.reduce<C[]>((conditions, condition) => setCondition<C>(conditions, condition, now), [...existing]);
}
