// spec.audience beyond what the CRD can check: the CRD has no clock (CEL has none), so whether a scheduled start is
// still worth showing is decided here, by the operator and the standalone validator alike (ADR 0015). Pure.

/** How far in the past a scheduled start may lie and still be shown ("starting soon" that slipped by a day). */
export const scheduledStartMaxAgeMs = 24 * 3600_000;

/** Whether a scheduled start (RFC 3339, as the CRD accepted it) is ignored at `nowMs`: more than a day ago. */
export function scheduledStartIgnored(scheduledStart: string, nowMs: number): boolean {
  const at = Date.parse(scheduledStart);
  return Number.isNaN(at) || at < nowMs - scheduledStartMaxAgeMs;
}

/** The Warning event's message (and the standalone validator's warning): names the field, never echoes a value. */
export const scheduledStartWarning =
  'spec.audience.scheduledStart is more than 24 hours in the past: it is not shown; set the next planned start or remove it';
