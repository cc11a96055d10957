// The validating webhook's decision as a pure function: an AdmissionReview in, an AdmissionReview out.
// The HTTPS server around it and the pools it is given are someone else's concern, which keeps every
// rule testable without TLS or an API server.

import type { IPAddressPool } from '../schemas/generated/types.js';
import { summarizeProblems } from '../reconcilers/validation/messages.js';
import { validateAdvertisement, validatePool } from '../reconcilers/validation/rules.js';

export type AdmissionKind = 'IPAddressPool' | 'L2Advertisement';

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly reason?: string; readonly message: string };
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly kind?: unknown };
  readonly operation?: unknown;
  readonly namespace?: unknown;
  readonly object?: unknown;
}

const review = (response: AdmissionResponse): AdmissionReviewResponse => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response,
});

function requestOf(body: unknown): AdmissionRequest | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const request = (body as { request?: unknown }).request;
  if (typeof request !== 'object' || request === null) return undefined;
  const uid = (request as { uid?: unknown }).uid;
  return typeof uid === 'string' ? (request as AdmissionRequest) : undefined;
}

/** Whether deciding `body` needs the pools already stored: a pool created or updated is checked
 *  against them for overlap; nothing else reads them. */
export function needsExistingPools(body: unknown): boolean {
  const request = requestOf(body);
  return request !== undefined && (request.operation === 'CREATE' || request.operation === 'UPDATE') && request.kind?.kind === 'IPAddressPool';
}

/** A refusal because the rules could not be applied (the pools to check against could not be read).
 *  With failurePolicy Fail this is what the API server would do anyway; saying why is the difference. */
export function admissionUnavailable(body: unknown, message: string): AdmissionReviewResponse {
  return review({ uid: requestOf(body)?.uid ?? '', allowed: false, status: { code: 503, reason: 'ServiceUnavailable', message } });
}

/**
 * Decides one admission request. `expectedKind` is the kind the endpoint serves: a review of another kind
 * sent to it is a configuration mistake, refused rather than judged by the wrong rules.
 */
export function admissionResponse(
  body: unknown,
  existingPools: readonly IPAddressPool[],
  expectedKind?: AdmissionKind,
): AdmissionReviewResponse {
  const request = requestOf(body);
  if (request === undefined) {
    return review({ uid: '', allowed: false, status: { code: 400, reason: 'BadRequest', message: 'not an admission.k8s.io/v1 AdmissionReview with a request' } });
  }
  const { uid } = request;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return review({ uid, allowed: true });
  const kind = request.kind?.kind;
  if (kind !== 'IPAddressPool' && kind !== 'L2Advertisement') {
    return review({ uid, allowed: false, status: { code: 400, reason: 'BadRequest', message: `l2lb's webhook does not validate kind ${JSON.stringify(kind)}` } });
  }
  if (expectedKind !== undefined && kind !== expectedKind) {
    return review({ uid, allowed: false, status: { code: 400, reason: 'BadRequest', message: `this endpoint validates ${expectedKind}, not ${kind}` } });
  }
  const context = typeof request.namespace === 'string' ? { defaultNamespace: request.namespace } : {};
  const result =
    kind === 'IPAddressPool' ? validatePool(request.object, existingPools, context) : validateAdvertisement(request.object, context);
  if (!result.ok) {
    return review({ uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: summarizeProblems(result.errors) } });
  }
  // A pool named but missing is admitted without a warning: `kubectl apply -f` of a file holding both
  // races the informer cache, and would warn about the pool it has just created. Status says it instead
  // (ResolvedRefs=False), once the cache has settled.
  return review({ uid, allowed: true });
}
