// The session-history stats API, between the operator (serves it on its Service, port `stats`) and its clients (the
// kubectl plugin, dashboards, a platform's backend): paths, query parameters and the answers' shapes. Pure.
//
// Every request carries `Authorization: Bearer <Kubernetes token>`; the operator asks the API server who that is
// (TokenReview) and whether they may `get livestreams` in the namespace asked about (SubjectAccessReview). So a
// tenant sees exactly the namespaces RBAC gives them.
//
// GET /stats/v1/namespaces/{ns}/stats                         totals and series of a namespace
// GET /stats/v1/namespaces/{ns}/livestreams/{name}/stats      totals and series of a channel
// GET /stats/v1/namespaces/{ns}/sessions                      sessions of a namespace, newest first, paged
// GET /stats/v1/namespaces/{ns}/livestreams/{name}/sessions   sessions of a channel, newest first, paged
//
// Stats parameters: interval=day|week|month (default day), from, to (RFC 3339; default: the last 30 days, 12 weeks
// or 12 months up to now). Buckets are UTC calendar days, ISO weeks (Monday) and months; a session counts in the bucket
// where it started; viewer-minutes count in the bucket of their minute. Sessions parameters: from, to (on the start),
// limit (1..500, default 50), continue (the opaque token of the previous page).
// Errors: {"error": <code>, "message": <text>} with 400 (bad parameter, named), 401 (no or invalid token), 403 (RBAC
// says no), 404 (unknown path), 503 (no database configured or it is unreachable).
import { z } from 'zod';

export const statsApiRoot = '/stats/v1';
/** The port name of the operator's Service that serves it (the chart's `stats` port). */
export const statsPortName = 'stats';
export const statsIntervals = ['day', 'week', 'month'] as const;
export type StatsInterval = (typeof statsIntervals)[number];
export const maxSessionsPageSize = 500;
export const defaultSessionsPageSize = 50;
/** The longest range a stats query may span, in buckets of its interval. */
export const maxStatsBuckets = 1_000;

/** What is asked: a namespace, or one channel in it. */
export interface StatsScope {
  namespace: string;
  name?: string;
}

const scopePath = (s: StatsScope): string =>
  `${statsApiRoot}/namespaces/${encodeURIComponent(s.namespace)}` +
  (s.name === undefined ? '' : `/livestreams/${encodeURIComponent(s.name)}`);

export const statsPath = (s: StatsScope): string => `${scopePath(s)}/stats`;
export const sessionsPath = (s: StatsScope): string => `${scopePath(s)}/sessions`;

export type StatsRoute = { kind: 'stats' | 'sessions'; scope: StatsScope };

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

/** The route of a request path (query string excluded), or undefined when it is not one of the API's paths. */
export function parseStatsPath(pathname: string): StatsRoute | undefined {
  const m = /^\/stats\/v1\/namespaces\/([^/]+)(?:\/livestreams\/([^/]+))?\/(stats|sessions)$/.exec(pathname);
  if (!m) return undefined;
  let namespace: string;
  let name: string | undefined;
  try {
    namespace = decodeURIComponent(m[1]!);
    name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
  } catch {
    return undefined;
  }
  if (!dnsLabel.test(namespace) || (name !== undefined && !dnsSubdomain.test(name))) return undefined;
  return { kind: m[3] as 'stats' | 'sessions', scope: name === undefined ? { namespace } : { namespace, name } };
}

/** The figures of a bucket, or of the whole range. */
export const statsFiguresSchema = z.object({
  /** sessions that started in the range */
  sessions: z.number().int().min(0),
  /** their summed durations (a session still live counts up to now) */
  liveSeconds: z.number().min(0),
  /** viewer-minutes watched in the range */
  viewerMinutes: z.number().min(0),
  /** the highest viewer count of a minute in the range */
  peakViewers: z.number().int().min(0),
  /** bytes received by the ingest in the range's sessions */
  bytesIn: z.number().min(0),
});
export type StatsFigures = z.infer<typeof statsFiguresSchema>;

export const statsAnswerSchema = z.object({
  namespace: z.string(),
  name: z.string().optional(),
  interval: z.enum(statsIntervals),
  /** RFC 3339, UTC: the first bucket's start, and the end of the range (exclusive) */
  from: z.string(),
  to: z.string(),
  totals: statsFiguresSchema,
  /** every bucket of the range, oldest first, empty ones included (zeros) */
  series: z.array(statsFiguresSchema.extend({ start: z.string() })),
});
export type StatsAnswer = z.infer<typeof statsAnswerSchema>;

export const storedSessionSchema = z.object({
  sessionId: z.string(),
  namespace: z.string(),
  name: z.string(),
  /** RFC 3339 */
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationSeconds: z.number().nullable(),
  endReason: z.string().nullable(),
  videoCodec: z.string().nullable(),
  audioCodec: z.string().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  bitrateKbps: z.number().nullable(),
  bytesIn: z.number(),
  peakViewers: z.number(),
  averageViewers: z.number().nullable(),
  viewerMinutes: z.number(),
  relays: z.record(
    z.string(),
    z.object({
      state: z.string().optional(),
      lastError: z.string().optional(),
      bytesOut: z.number().optional(),
      failures: z.number().optional(),
    }),
  ),
  recordingUris: z.array(z.string()),
});
export type StatsSession = z.infer<typeof storedSessionSchema>;

export const sessionsAnswerSchema = z.object({
  namespace: z.string(),
  name: z.string().optional(),
  items: z.array(storedSessionSchema),
  /** present when there are more: pass it back as `continue` */
  continue: z.string().optional(),
});
export type SessionsAnswer = z.infer<typeof sessionsAnswerSchema>;

export const statsErrorSchema = z.object({ error: z.string(), message: z.string() });
export type StatsError = z.infer<typeof statsErrorSchema>;
