// Live figures are not state (docs/architecture.md): viewers, bitrate, the session's counters, relay bytes and
// uploaded segments move with every report. A status that differs only in them is written within the figure budget
// (figure-budget.ts); any other difference is a transition and is written at once.
import type { LiveStreamStatus } from '../../../../contract/src/api/index.ts';
import { isSubset } from '../../k8s/semantic.ts';

/** The status without its live figures. */
export function withoutFigures(s: LiveStreamStatus): LiveStreamStatus {
  const { viewers: _v, bitrateKbps: _b, session, relays, recordings, ...rest } = s;
  return {
    ...rest,
    ...(session ? { session: { id: session.id, ...(session.startedAt ? { startedAt: session.startedAt } : {}) } } : {}),
    ...(relays ? { relays: relays.map(({ bytesOut: _o, ...r }) => r) } : {}),
    ...(recordings ? { recordings: recordings.map(({ segments: _s, ...r }) => r) } : {}),
  };
}

/** True when two statuses are equal (in both directions, so a removed field counts). */
export const sameStatus = (a: LiveStreamStatus, b: LiveStreamStatus): boolean => isSubset(a, b) && isSubset(b, a);

/** True when two statuses differ only in live figures. */
export const onlyFiguresDiffer = (a: LiveStreamStatus, b: LiveStreamStatus): boolean =>
  sameStatus(withoutFigures(a), withoutFigures(b));
