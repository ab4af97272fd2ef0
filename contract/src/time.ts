// RFC 3339 times as Kubernetes status fields carry them: UTC, second precision (metav1.Time).

/** `2026-12-01T21:48:01Z` for a Date or milliseconds since the epoch. */
export function rfc3339(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
}
