// Exponential backoff with jitter, as pure functions: the caller owns the attempt counter and the clock.

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** 0 gives exact doubling; 0.5 spreads each delay uniformly over ±50 %. */
  readonly jitter: number;
}

/** Informer restarts: about 1 s to 30 s, jittered so that a fleet of announcers does not stampede a
 *  recovering API server. */
export const watchRestartBackoff: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, jitter: 0.5 };

/** Reconcile failures, per key: client-go's default item limiter (5 ms doubling to 1000 s), capped at 5 min. */
export const reconcileErrorBackoff: BackoffPolicy = { initialMs: 5, maxMs: 5 * 60_000, jitter: 0 };

/** The delay before retry number `attempt` (0 for the first retry). `random` returns [0, 1). */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(attempt, 40); // 2^40 ms is far past any max; avoids Infinity
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const spread = base * policy.jitter;
  const jittered = base - spread + random() * 2 * spread;
  return Math.max(0, Math.min(policy.maxMs, Math.round(jittered)));
}
