// int64 counts in JSON. Kubernetes stores counts as int64, JavaScript numbers are doubles: 2^63 - 1 has
// no exact double, and JSON.stringify writes the nearest one as 9223372036854776000, which the API
// server refuses ("must be of type integer"). Saturated counts are therefore written by `int64Json`.

export const INT64_MAX = 9223372036854775807n;

/**
 * A count as the int64 the API stores, saturating at 2^63 - 1 as MetalLB does for huge IPv6 pools. The
 * number returned for the maximum is the double nearest to it; it compares equal to what JSON.parse
 * makes of the exact text read back from the API, so status comparisons stay stable.
 */
export function saturateInt64(count: bigint): number {
  return Number(count > INT64_MAX ? INT64_MAX : count < 0n ? 0n : count);
}

/**
 * JSON.stringify, except that the saturated int64 maximum is written exactly. Only a JSON number token
 * is rewritten (after `:`, `[` or `,`, before `,`, `}` or `]`); no other double prints as these digits.
 */
export function int64Json(value: unknown): string {
  return JSON.stringify(value).replace(/(?<=[:[,])9223372036854776000(?=[,}\]])/g, INT64_MAX.toString());
}
