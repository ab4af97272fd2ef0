// Pure: does an observed object already hold every field we would apply? Server-side apply of an unchanged object
// is a no-op for the object but still a write request, so the reconciler asks this first and applies only on "no".
// The observed object may carry more (server defaults, other managers' fields); what we set must match, with
// resource quantities compared by value because the API server canonicalizes them ("0.5" is stored as "500m").
// A subset test alone cannot see a field we stopped sending (a label, an annotation, a map key): the observed object
// still holds it, and it is a subset either way. So every applied object carries a hash of the whole desired object
// in an annotation (ADR 0009): a removed field changes the hash, and the hash is one more field the subset test
// compares.
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonical } from '../../../contract/src/api/session-settings.ts';

/** Annotation on every applied child: the hash of the desired object it was applied from. */
export const desiredHashAnnotation = 'streaming.livestream-operator.dev/desired-hash';

const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity string ("500m", "1Gi", "2e3"), or undefined when it is not one. */
export function parseQuantity(s: string): number | undefined {
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(s);
  if (!m) return undefined;
  const factor = suffixes[m[2] ?? ''];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

function sameScalar(desired: unknown, observed: unknown): boolean {
  if (desired === observed) return true;
  if (typeof desired === 'string' && typeof observed === 'string') {
    const a = parseQuantity(desired);
    const b = parseQuantity(observed);
    return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-12;
  }
  return false;
}

/** True when every field set in `desired` has the same value in `observed` (arrays must match element by element). */
export function isSubset(desired: unknown, observed: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(observed) &&
      desired.length === observed.length &&
      desired.every((d, i) => isSubset(d, (observed as unknown[])[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    // The API server drops empty maps (a Secret with no data comes back without `data`).
    if (observed === undefined && Object.keys(desired).length === 0) return true;
    if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false;
    const o = observed as Record<string, unknown>;
    return Object.entries(desired).every(([k, v]) => isSubset(v, o[k]));
  }
  return sameScalar(desired, observed);
}

/** 16 hex digits of SHA-256 over the object's canonical JSON (keys sorted): equal objects, equal hashes. */
export function desiredHash(obj: unknown): string {
  return createHash('sha256').update(canonical(obj)).digest('hex').slice(0, 16);
}

/** `desired` with the hash of itself in its annotations (the hash is taken before it is added). */
export function withDesiredHash<T extends KubernetesObject>(desired: T): T {
  const metadata = desired.metadata ?? {};
  return {
    ...desired,
    metadata: { ...metadata, annotations: { ...metadata.annotations, [desiredHashAnnotation]: desiredHash(desired) } },
  };
}

/**
 * Whether `desired` (with its hash, see withDesiredHash) must be applied: the object is missing, it was applied
 * from a different desired object (the hash differs: this is what sees a removed field), or someone changed a field
 * we own (drift: the subset test).
 */
export function needsApply(desired: KubernetesObject, observed: KubernetesObject | undefined): boolean {
  return observed === undefined || !isSubset(desired, observed);
}
