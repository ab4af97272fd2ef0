// The poller's bookkeeping per endpoint (one container's report log, contract/src/report-log.ts), pure: where it
// has read to, when to ask next, and why the last asks failed. Time and randomness come in.
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import type { ReportLogCursor, ReportLogPage } from '../../../contract/src/report-log.ts';

/** One container's report log: `id` is stable for the container (pod uid and container name), `url` its base. */
export interface ReportEndpoint {
  id: string;
  url: string;
}

export interface EndpointState {
  cursor: ReportLogCursor;
  /** Failed asks in a row. */
  failures: number;
  /** When the endpoint is due (ms). */
  nextAt: number;
  /** Why the last ask failed, and since when asks fail (while failures > 0). */
  lastError?: string;
  failingSince?: number;
}

/** A failed endpoint is asked again after this, never sooner than the poll interval. */
export const pollBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, jitter: 0.3 };

export const newEndpointState = (now: number): EndpointState => ({
  cursor: { boot: '', after: 0 },
  failures: 0,
  nextAt: now,
});

/** The endpoints due at `now`, the longest waiting first. */
export function dueEndpoints(
  endpoints: readonly ReportEndpoint[],
  state: (id: string) => EndpointState | undefined,
  now: number,
): ReportEndpoint[] {
  const nextAt = (e: ReportEndpoint) => state(e.id)?.nextAt ?? -Infinity;
  return endpoints.filter((e) => nextAt(e) <= now).sort((a, b) => nextAt(a) - nextAt(b));
}

export interface PageRead {
  state: EndpointState;
  /** The container restarted since the last page (another boot id): its seq started again. */
  restarted: boolean;
}

/** After a page: the cursor moves to what it covered; with more to read the endpoint is due at once. */
export function afterPage(prev: EndpointState, page: ReportLogPage, now: number, intervalMs: number): PageRead {
  return {
    state: {
      cursor: { boot: page.boot, after: page.through },
      failures: 0,
      nextAt: page.more ? now : now + intervalMs,
    },
    restarted: prev.cursor.boot !== '' && prev.cursor.boot !== page.boot,
  };
}

/** After a failed ask: the cursor stays, the next ask waits for the backoff. */
export function afterFailure(
  prev: EndpointState,
  error: string,
  now: number,
  intervalMs: number,
  random: () => number = Math.random,
): EndpointState {
  const failures = prev.failures + 1;
  return {
    cursor: prev.cursor,
    failures,
    nextAt: now + Math.max(intervalMs, backoffDelay(failures, pollBackoff, random)),
    lastError: error,
    failingSince: prev.failures > 0 ? (prev.failingSince ?? now) : now,
  };
}

/** Why a channel's reports cannot be read, for status and logs: the failing endpoints (none failing: undefined). */
export function unreachableReason(
  endpoints: readonly ReportEndpoint[],
  state: (id: string) => EndpointState | undefined,
): string | undefined {
  const failing = endpoints.flatMap((e) => {
    const s = state(e.id);
    return s && s.failures > 0 ? [`${e.url}: ${s.lastError ?? 'failed'} (since ${rfc3339(s.failingSince ?? 0)})`] : [];
  });
  return failing.length > 0 ? `cannot read the transcoder reports from ${failing.join('; ')}` : undefined;
}
