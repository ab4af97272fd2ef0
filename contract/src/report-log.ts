// The second transport of the report protocol (reports.ts), for an operator without Redis: each media container keeps
// a bounded log of the reports it made and serves it over HTTP on an internal port (never the Service's playback
// port); the operator polls every transcoder pod and folds the entries exactly as it folds Redis entries. Both sides
// import this file: the containers to serve a page, the operator to ask for one and check what it got.
//
// GET <reportLogPath>?boot=<id>&after=<seq>&limit=<n> answers the entries of this process with seq > after, oldest
// first, at most `limit`. The process's boot id tells a restarted container (whose seq starts again at 1) from the
// one the cursor was for: a request whose boot is not the current one gets the log from its start. Each entry is the
// field list of encodeEvent, parsed with parseEvent. Reading never consumes: a poller that lost its cursor (a new
// leader) reads the log again from the start.
//
// Every request carries `Authorization: Bearer <token>`, the channel's own token: the operator makes one per
// LiveStream (its "<name>-reports" Secret, which the pod's env references), so a pod of another channel, in another
// namespace, cannot read this one's reports by its IP. Any other request gets 401 and nothing else.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ports } from './pod-contract.ts';

export const reportLogPath = '/reports';

/**
 * Where each container serves its log: the transcoder on a port of its own (ports.reports: the pod's ports.http is the
 * public origin), the relay on its metrics port. Neither is a port of the Service.
 */
export const reportLogPorts = { transcoder: ports.reports, relay: ports.relayMetrics } as const;

/** A token as the operator makes them: 32 random bytes, base64url (43 characters); a stored value of another shape
 * is replaced. */
export const reportTokenPattern = /^[A-Za-z0-9_-]{43,128}$/;

/** The request headers that carry `token`. */
export function reportLogHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/**
 * Whether an Authorization header carries `token`. Constant time in the token: both sides are hashed and compared
 * whole, so neither the content nor the length of a guess leaks through timing. No token (a pod the operator gave
 * none) authorizes nothing.
 */
export function reportLogAuthorized(header: string | undefined, token: string | undefined): boolean {
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '', 'utf8')
    .digest();
  const wanted = createHash('sha256')
    .update(token ?? '', 'utf8')
    .digest();
  return timingSafeEqual(given, wanted) && m !== null && token !== undefined && token !== '';
}

/** Entries a page holds at most (a page of heartbeats is ~150 KB); a poller asks again at once while `more`. */
export const maxReportLogPage = 500;
/** What a poller reads of a response at most: a page with room to spare. */
export const maxReportLogResponseBytes = 1024 * 1024;

export interface ReportLogCursor {
  /** The boot id the cursor's seq belongs to ('' before the first page). */
  boot: string;
  /** The last seq read. */
  after: number;
}

const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const pageSchema = z.object({
  /** Random id of the container process: it changes on every start. */
  boot: z.string().min(1).max(64),
  /** The page covers the seqs up to this one (its entries and what was missed): the next page's `after`. */
  through: seq,
  /** Reports with seq > after that the bounded log dropped before they could be read (counted, never silent). */
  missed: seq,
  /** More entries after these: ask again at once, after `through`. */
  more: z.boolean(),
  entries: z.array(z.array(z.string().max(64 * 1024)).max(32)).max(maxReportLogPage),
});

export type ReportLogPage = z.infer<typeof pageSchema>;

/** The query of the next page after `cursor`. */
export function reportLogQuery(cursor: ReportLogCursor, limit: number = maxReportLogPage): string {
  const params = new URLSearchParams({ after: String(cursor.after), limit: String(limit) });
  if (cursor.boot) params.set('boot', cursor.boot);
  return `${reportLogPath}?${params.toString()}`;
}

/** The cursor a request names (absent or malformed values: from the start, a whole page). */
export function parseReportLogQuery(search: URLSearchParams): { cursor: ReportLogCursor; limit: number } {
  const int = (value: string | null, fallback: number): number => {
    const n = Number(value ?? '');
    return value !== null && Number.isSafeInteger(n) && n >= 0 ? n : fallback;
  };
  return {
    cursor: { boot: search.get('boot') ?? '', after: int(search.get('after'), 0) },
    limit: Math.max(1, Math.min(maxReportLogPage, int(search.get('limit'), maxReportLogPage))),
  };
}

/** A page as the poller received it, checked; throws with the first issue (never the body itself). */
export function parseReportLogPage(body: unknown): ReportLogPage {
  const result = pageSchema.safeParse(body);
  if (result.success) return result.data;
  const [first] = result.error.issues;
  const at = first && first.path.length > 0 ? `${first.path.map(String).join('.')}: ` : '';
  throw new Error(`not a report log page: ${at}${first?.message ?? 'invalid'}`.slice(0, 300));
}
