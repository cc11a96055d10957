// The shape every parser in arp/ returns: a value, or the reason it is not one. Malformed input is an
// expected outcome on a wire anyone can write to, so it is never an exception.
export type Parsed<T> = { readonly ok: true; readonly packet: T } | { readonly ok: false; readonly reason: string };

export function parsed<T>(packet: T): Parsed<T> {
  return { ok: true, packet };
}

export function rejected<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}
