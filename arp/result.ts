// The shape every parser in l2lb returns (frames on the wire, addresses in text, a pool's ranges): a
// value, or the reason it is not one. Malformed input is an expected outcome, so it is never an exception.
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function rejected<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}
