// The stats API's reads from the session history (operator/src/history: livestream_sessions,
// livestream_viewer_minutes, and livestream_stats_days, the daily rollup per channel that the
// 1796169600000_stats-rollup migration keeps by trigger; its header says why, from the EXPLAINs). One set-based statement per answer, parameterized; every figure is what the rows say:
// - a session counts in the bucket where it started, with its duration_seconds (a live one: up to `now`) and bytes;
// - viewer-minutes count in the bucket of their minute;
// - whole UTC days come from the rollup, the range's last, partial day from the rows themselves (so `to` may fall
//   anywhere);
// - peakViewers is the highest viewer count one channel had in a minute of the bucket (for a namespace: the
//   highest of its channels' minutes, not a sum of peaks that may not have coincided).
// Seconds and viewer-minutes are rounded to 0.001 (float sums added in different orders differ in the last bits).
import type pg from 'pg';
import { storedSessionColumns, storedSessionOf } from '../history/history-store.ts';
import type {
  SessionsAnswer,
  StatsAnswer,
  StatsFigures,
  StatsInterval,
  StatsScope,
  StatsSession,
} from '../../../contract/src/stats-api.ts';
import { bucketStart, encodeCursor, type SessionsQuery } from './stats-params.ts';

/** A pool or a client in a transaction (the handler reads in a READ ONLY transaction with a statement timeout). */
export type Queryable = Pick<pg.ClientBase, 'query'>;

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

// $1 namespace, $2 name (NULL: the whole namespace), $3 from (a bucket start), $4 to, $5 interval, $6 now, $7 the
// start of the UTC day of `to` (a constant, not date_trunc: a stable function is not folded at planning, and the
// planner's guess for it made a namespace's partial day scan the whole day of every namespace by minute).
// Bucket arithmetic in UTC whatever the session's TimeZone: generate_series over `timestamp` (AT TIME ZONE 'UTC')
// and the three-argument date_trunc. The figures of a range: its whole UTC days from livestream_stats_days, its
// last, partial day (from the day `to` falls in) from the sessions and minutes themselves, and the seconds of
// its live sessions (up to now) from their rows; all as rows (t, figures) grouped into buckets once.
const statsSql = `
WITH buckets AS (
  SELECT b AT TIME ZONE 'UTC' AS start
  FROM generate_series($3::timestamptz AT TIME ZONE 'UTC', $4::timestamptz AT TIME ZONE 'UTC', ('1 ' || $5)::interval) AS b
  WHERE b < $4::timestamptz AT TIME ZONE 'UTC'
), parts (t, sessions, seconds, bytes_in, viewer_seconds, peak) AS (
  SELECT day::timestamp AT TIME ZONE 'UTC', sessions, closed_seconds, bytes_in, viewer_seconds, peak_viewers
  FROM livestream_stats_days
  WHERE namespace = $1 AND ($2::text IS NULL OR name = $2)
    AND day >= ($3::timestamptz AT TIME ZONE 'UTC')::date AND day < ($4::timestamptz AT TIME ZONE 'UTC')::date
  UNION ALL
  SELECT $7::timestamptz, count(*),
    sum(livestream_stats_session_seconds(ended_at, started_at, duration_seconds)), sum(bytes_in), 0, 0
  FROM livestream_sessions
  WHERE namespace = $1 AND ($2::text IS NULL OR name = $2)
    AND started_at >= greatest($3::timestamptz, $7::timestamptz) AND started_at < $4
  HAVING count(*) > 0
  UNION ALL
  SELECT $7::timestamptz, 0, 0, 0, sum(viewer_seconds), max(peak_viewers)
  FROM livestream_viewer_minutes
  WHERE namespace = $1 AND ($2::text IS NULL OR name = $2)
    AND minute >= greatest($3::timestamptz, $7::timestamptz) AND minute < $4
  HAVING count(*) > 0
  UNION ALL
  SELECT started_at, 0, greatest(extract(epoch FROM $6::timestamptz - started_at), 0), 0, 0, 0
  FROM livestream_sessions
  WHERE namespace = $1 AND ($2::text IS NULL OR name = $2) AND ended_at IS NULL AND started_at >= $3 AND started_at < $4
), figures AS (
  SELECT date_trunc($5, t, 'UTC') AS start, sum(sessions) AS sessions, sum(seconds) AS live_seconds,
    sum(bytes_in) AS bytes_in, sum(viewer_seconds) AS viewer_seconds, max(peak) AS peak
  FROM parts GROUP BY 1
)
SELECT (extract(epoch FROM b.start) * 1000)::float8 AS start_ms, coalesce(f.sessions, 0)::int AS sessions,
  coalesce(f.live_seconds, 0)::float8 AS live_seconds, coalesce(f.viewer_seconds, 0)::float8 AS viewer_seconds,
  coalesce(f.peak, 0)::int AS peak, coalesce(f.bytes_in, 0)::float8 AS bytes_in
FROM buckets b LEFT JOIN figures f ON f.start = b.start
ORDER BY b.start`;

interface BucketRow {
  start_ms: number;
  sessions: number;
  live_seconds: number;
  viewer_seconds: number;
  peak: number;
  bytes_in: number;
}

/** Totals and every bucket of [from, to) (`from` a bucket start of `interval`, as parseStatsParams gives it). */
export async function queryStats(
  db: Queryable,
  scope: StatsScope,
  interval: StatsInterval,
  from: Date,
  to: Date,
  now: Date = new Date(),
): Promise<StatsAnswer> {
  const { rows } = await db.query<BucketRow>(statsSql, [
    scope.namespace,
    scope.name ?? null,
    from,
    to,
    interval,
    now,
    bucketStart('day', to),
  ]);
  const series = rows.map((r) => ({
    start: new Date(Math.round(r.start_ms)).toISOString(),
    sessions: r.sessions,
    liveSeconds: round3(r.live_seconds),
    viewerMinutes: round3(r.viewer_seconds / 60),
    peakViewers: r.peak,
    bytesIn: r.bytes_in,
  }));
  const totals: StatsFigures = { sessions: 0, liveSeconds: 0, viewerMinutes: 0, peakViewers: 0, bytesIn: 0 };
  for (const r of rows) {
    totals.sessions += r.sessions;
    totals.liveSeconds += r.live_seconds;
    totals.viewerMinutes += r.viewer_seconds / 60;
    totals.peakViewers = Math.max(totals.peakViewers, r.peak);
    totals.bytesIn += r.bytes_in;
  }
  totals.liveSeconds = round3(totals.liveSeconds);
  totals.viewerMinutes = round3(totals.viewerMinutes);
  return {
    namespace: scope.namespace,
    ...(scope.name === undefined ? {} : { name: scope.name }),
    interval,
    from: from.toISOString(),
    to: to.toISOString(),
    totals,
    series,
  };
}

const cursorAt = `('epoch'::timestamptz + ($5::bigint / 1000000) * interval '1 second'
      + ($5::bigint % 1000000) * interval '1 microsecond')`;

// $1 namespace, $2 name, $3 from, $4 to, $5 cursor start (µs since the epoch, exact: no float on the way),
// $6 cursor session id, $7 limit + 1 (one more tells whether there is a next page).
const sessionsSql = `
WITH page AS (
  SELECT ${storedSessionColumns}, started_at, (extract(epoch FROM started_at) * 1000000)::bigint::text AS started_us
  FROM livestream_sessions
  WHERE namespace = $1 AND ($2::text IS NULL OR name = $2)
    AND ($3::timestamptz IS NULL OR started_at >= $3) AND ($4::timestamptz IS NULL OR started_at < $4)
    AND ($5::bigint IS NULL OR started_at < ${cursorAt} OR (started_at = ${cursorAt} AND session_id > $6))
  ORDER BY started_at DESC, session_id
  LIMIT $7
)
SELECT page.*, coalesce((SELECT sum(m.viewer_seconds) FROM livestream_viewer_minutes m
    WHERE m.session_id = page.session_id AND m.namespace = page.namespace AND m.name = page.name), 0)::float8
  AS viewer_seconds
FROM page ORDER BY started_at DESC, session_id`;
/** A stored session as the API answers it: RFC 3339 times, no uid, its viewer-minutes. */
function storedSession(r: Record<string, unknown>): StatsSession {
  const { uid: _uid, startedAt, endedAt, ...rest } = storedSessionOf(r);
  return {
    ...rest,
    startedAt: new Date(startedAt).toISOString(),
    endedAt: endedAt === null ? null : new Date(endedAt).toISOString(),
    viewerMinutes: round3((r.viewer_seconds as number) / 60),
  };
}

/** A page of sessions, newest first (started_at DESC, then session id), with the token of the next one. */
export async function querySessions(
  db: Queryable,
  scope: StatsScope,
  query: Pick<SessionsQuery, 'from' | 'to' | 'limit' | 'after'>,
): Promise<SessionsAnswer> {
  const { rows } = await db.query<Record<string, unknown>>(sessionsSql, [
    scope.namespace,
    scope.name ?? null,
    query.from ?? null,
    query.to ?? null,
    query.after?.startedAtMicros.toString() ?? null,
    query.after?.sessionId ?? null,
    query.limit + 1,
  ]);
  const more = rows.length > query.limit;
  const items = rows.slice(0, query.limit);
  const last = items.at(-1);
  return {
    namespace: scope.namespace,
    ...(scope.name === undefined ? {} : { name: scope.name }),
    items: items.map(storedSession),
    ...(more && last
      ? {
          continue: encodeCursor({
            startedAtMicros: BigInt(last.started_us as string),
            sessionId: last.session_id as string,
          }),
        }
      : {}),
  };
}
