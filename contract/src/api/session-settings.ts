// The spec fields a running session keeps until it ends: the transcoder starts its ladder (renditions, segment
// length, playlist length) when a publish starts, so a change to them applies at the next session. The transcoder
// reports the fingerprint of what its session runs with; the operator compares it with the spec's to tell the user
// that a change is waiting for the next session, instead of claiming it in observedGeneration.
import { createHash } from 'node:crypto';
import type { LiveStreamSpec } from './livestream.generated.ts';

export const sessionScopedFields = ['ladder', 'hls'] as const;

/** Canonical JSON: keys sorted at every level, so equal settings give equal text whatever the key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** 12 hex digits identifying the session-scoped settings of a spec (as the API server stores it, defaults applied). */
export function sessionSettingsFingerprint(spec: Pick<Partial<LiveStreamSpec>, 'ladder' | 'hls'>): string {
  const picked = { ladder: spec.ladder ?? null, hls: spec.hls ?? null };
  return createHash('sha256').update(canonical(picked)).digest('hex').slice(0, 12);
}
