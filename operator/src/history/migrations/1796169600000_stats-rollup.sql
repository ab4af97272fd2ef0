-- Up Migration
-- For the stats API (operator/src/stats/stats-queries.ts), measured with `make bench-stats` (100,000 sessions, 50
-- channels, 5 namespaces, 13 months, ~2.1 million viewer-minutes), EXPLAIN (ANALYZE, BUFFERS) guiding:
-- * Viewer-minutes were the cost. A namespace's 12-month series read every minute row of the namespace (~420,000:
--   an index scan, then a HashAggregate; hundreds of ms). Every bucket (UTC day, ISO week, month) is a union of UTC
--   days, so a daily rollup per channel answers all but the last, partial day of a range (read from the raw rows).
-- * Sessions next: even as an index-only scan (a covering index), a namespace-year is ~17,000 sessions to aggregate
--   and date_trunc one by one (~75% of that query's time). The same daily rollup holds their count, closed seconds
--   and bytes; a live session's seconds (up to now) come from its row (a partial index on the live ones).
-- So a namespace-year reads ~4,000 rollup rows (10 channels x 395 days), a channel-year ~400.
-- The rollup is kept by statement triggers (transition tables: one upsert per statement however many rows) from the
-- rows the writer upserts (history-store.ts), as changes: an inserted row adds itself, an updated one adds new minus
-- old (a session closed, bytes grown, a minute with a later sample), a deleted one (retention) subtracts itself.
-- Sums are numeric (exact whatever the order); viewer-seconds stay float8 like their source. A peak only grows under
-- upserts; after a delete, the day's viewing is recomputed from the minutes left.
CREATE TABLE livestream_stats_days (
  namespace text NOT NULL,
  name text NOT NULL,
  -- the UTC day sessions started in and minutes were watched in
  day date NOT NULL,
  sessions integer NOT NULL DEFAULT 0,
  -- durations of the sessions that ended (a live one counts 0 here: the query adds now - started_at)
  closed_seconds numeric NOT NULL DEFAULT 0,
  bytes_in numeric NOT NULL DEFAULT 0,
  viewer_seconds double precision NOT NULL DEFAULT 0,
  -- the highest peak of a minute row (one channel's session) that day
  peak_viewers integer NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, name, day)
);

CREATE FUNCTION livestream_stats_session_seconds(ended_at timestamptz, started_at timestamptz, duration integer)
RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN ended_at IS NULL THEN 0 ELSE coalesce(duration, extract(epoch FROM ended_at - started_at)) END
$$;

-- sessions: +1 per row of new_rows, -1 per row of old_rows. A statement names only the transition tables its
-- trigger has, hence a branch per event (plpgsql plans a statement when it first runs it).
CREATE FUNCTION livestream_stats_days_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO livestream_stats_days AS d (namespace, name, day, sessions, closed_seconds, bytes_in)
    SELECT namespace, name, day, sum(n), sum(seconds), sum(bytes) FROM (
      SELECT namespace, name, (started_at AT TIME ZONE 'UTC')::date AS day, 1 AS n,
        livestream_stats_session_seconds(ended_at, started_at, duration_seconds) AS seconds, bytes_in::numeric AS bytes
      FROM new_rows) AS change GROUP BY 1, 2, 3
    ON CONFLICT (namespace, name, day) DO UPDATE SET
      sessions = d.sessions + excluded.sessions,
      closed_seconds = d.closed_seconds + excluded.closed_seconds,
      bytes_in = d.bytes_in + excluded.bytes_in;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO livestream_stats_days AS d (namespace, name, day, sessions, closed_seconds, bytes_in)
    SELECT namespace, name, day, sum(n), sum(seconds), sum(bytes) FROM (
      SELECT namespace, name, (started_at AT TIME ZONE 'UTC')::date AS day, 1 AS n,
        livestream_stats_session_seconds(ended_at, started_at, duration_seconds) AS seconds, bytes_in::numeric AS bytes
      FROM new_rows
      UNION ALL
      SELECT namespace, name, (started_at AT TIME ZONE 'UTC')::date AS day, -1 AS n,
        -livestream_stats_session_seconds(ended_at, started_at, duration_seconds) AS seconds, -bytes_in::numeric AS bytes
      FROM old_rows) AS change GROUP BY 1, 2, 3
    ON CONFLICT (namespace, name, day) DO UPDATE SET
      sessions = d.sessions + excluded.sessions,
      closed_seconds = d.closed_seconds + excluded.closed_seconds,
      bytes_in = d.bytes_in + excluded.bytes_in;
  ELSE
    INSERT INTO livestream_stats_days AS d (namespace, name, day, sessions, closed_seconds, bytes_in)
    SELECT namespace, name, day, sum(n), sum(seconds), sum(bytes) FROM (
      SELECT namespace, name, (started_at AT TIME ZONE 'UTC')::date AS day, -1 AS n,
        -livestream_stats_session_seconds(ended_at, started_at, duration_seconds) AS seconds, -bytes_in::numeric AS bytes
      FROM old_rows) AS change GROUP BY 1, 2, 3
    ON CONFLICT (namespace, name, day) DO UPDATE SET
      sessions = d.sessions + excluded.sessions,
      closed_seconds = d.closed_seconds + excluded.closed_seconds,
      bytes_in = d.bytes_in + excluded.bytes_in;
  END IF;
  RETURN NULL;
END $$;

-- minutes inserted or updated: their change of viewer-seconds, and the peak
CREATE FUNCTION livestream_stats_days_minutes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO livestream_stats_days AS d (namespace, name, day, viewer_seconds, peak_viewers)
    SELECT namespace, name, (minute AT TIME ZONE 'UTC')::date, sum(seconds), max(peak) FROM (
      SELECT namespace, name, minute, viewer_seconds AS seconds, peak_viewers AS peak FROM new_rows) AS change
    GROUP BY 1, 2, 3
    ON CONFLICT (namespace, name, day) DO UPDATE SET
      viewer_seconds = d.viewer_seconds + excluded.viewer_seconds,
      peak_viewers = greatest(d.peak_viewers, excluded.peak_viewers);
  ELSE
    INSERT INTO livestream_stats_days AS d (namespace, name, day, viewer_seconds, peak_viewers)
    SELECT namespace, name, (minute AT TIME ZONE 'UTC')::date, sum(seconds), max(peak) FROM (
      SELECT namespace, name, minute, viewer_seconds AS seconds, peak_viewers AS peak FROM new_rows
      UNION ALL
      SELECT namespace, name, minute, -viewer_seconds, 0 FROM old_rows) AS change
    GROUP BY 1, 2, 3
    ON CONFLICT (namespace, name, day) DO UPDATE SET
      viewer_seconds = d.viewer_seconds + excluded.viewer_seconds,
      peak_viewers = greatest(d.peak_viewers, excluded.peak_viewers);
  END IF;
  RETURN NULL;
END $$;

-- minutes deleted (retention): their days' viewing recomputed from the minutes left
CREATE FUNCTION livestream_stats_days_minutes_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE livestream_stats_days d SET viewer_seconds = coalesce(l.seconds, 0), peak_viewers = coalesce(l.peak, 0)
  FROM (
    SELECT t.namespace, t.name, t.day, sum(m.viewer_seconds) AS seconds, max(m.peak_viewers) AS peak
    FROM (SELECT DISTINCT namespace, name, (minute AT TIME ZONE 'UTC')::date AS day FROM old_rows) AS t
    LEFT JOIN livestream_viewer_minutes m ON m.namespace = t.namespace AND m.name = t.name
      AND m.minute >= t.day::timestamp AT TIME ZONE 'UTC' AND m.minute < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3
  ) AS l
  WHERE d.namespace = l.namespace AND d.name = l.name AND d.day = l.day;
  RETURN NULL;
END $$;

-- The triggers first: CREATE TRIGGER locks each table against writes until this migration commits, so no row
-- written by a replica still running the old version falls between the backfill and the triggers.
-- (A trigger with transition tables fires for one event, hence one trigger per event.)
CREATE TRIGGER livestream_stats_days_sessions_insert AFTER INSERT ON livestream_sessions
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_stats_days_sessions();
CREATE TRIGGER livestream_stats_days_sessions_update AFTER UPDATE ON livestream_sessions
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_stats_days_sessions();
CREATE TRIGGER livestream_stats_days_sessions_delete AFTER DELETE ON livestream_sessions
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_stats_days_sessions();
CREATE TRIGGER livestream_stats_days_minutes_insert AFTER INSERT ON livestream_viewer_minutes
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_stats_days_minutes();
CREATE TRIGGER livestream_stats_days_minutes_update AFTER UPDATE ON livestream_viewer_minutes
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_stats_days_minutes();
CREATE TRIGGER livestream_stats_days_minutes_delete AFTER DELETE ON livestream_viewer_minutes
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_stats_days_minutes_deleted();

INSERT INTO livestream_stats_days (namespace, name, day, sessions, closed_seconds, bytes_in, viewer_seconds, peak_viewers)
SELECT namespace, name, day, sum(sessions), sum(closed_seconds), sum(bytes_in), sum(viewer_seconds), max(peak_viewers)
FROM (
  SELECT namespace, name, (started_at AT TIME ZONE 'UTC')::date AS day, count(*) AS sessions,
    sum(livestream_stats_session_seconds(ended_at, started_at, duration_seconds)) AS closed_seconds,
    sum(bytes_in) AS bytes_in, 0::float8 AS viewer_seconds, 0 AS peak_viewers
  FROM livestream_sessions GROUP BY 1, 2, 3
  UNION ALL
  SELECT namespace, name, (minute AT TIME ZONE 'UTC')::date, 0, 0, 0, sum(viewer_seconds), max(peak_viewers)
  FROM livestream_viewer_minutes GROUP BY 1, 2, 3
) AS backfill
GROUP BY 1, 2, 3;

-- The last, partial day of a namespace's range reads its minutes through livestream_viewer_minutes_minute (the
-- planner's choice even with a (namespace, minute) covering index beside it: the heap is in minute order; ~7 ms for
-- a day of all 50 channels at 2 cores under load), a channel's through the primary key. Live sessions by start:
CREATE INDEX livestream_sessions_live ON livestream_sessions (namespace, started_at) INCLUDE (name)
  WHERE ended_at IS NULL;
-- The sessions pages (ORDER BY started_at DESC, session_id) read their keyset in index order, with no sort.
CREATE INDEX livestream_sessions_channel_page ON livestream_sessions (namespace, name, started_at DESC, session_id);
CREATE INDEX livestream_sessions_namespace_page ON livestream_sessions (namespace, started_at DESC, session_id);

-- Down Migration
DROP INDEX livestream_sessions_namespace_page;
DROP INDEX livestream_sessions_channel_page;
DROP INDEX livestream_sessions_live;
DROP TRIGGER livestream_stats_days_minutes_delete ON livestream_viewer_minutes;
DROP TRIGGER livestream_stats_days_minutes_update ON livestream_viewer_minutes;
DROP TRIGGER livestream_stats_days_minutes_insert ON livestream_viewer_minutes;
DROP TRIGGER livestream_stats_days_sessions_delete ON livestream_sessions;
DROP TRIGGER livestream_stats_days_sessions_update ON livestream_sessions;
DROP TRIGGER livestream_stats_days_sessions_insert ON livestream_sessions;
DROP FUNCTION livestream_stats_days_minutes_deleted();
DROP FUNCTION livestream_stats_days_minutes();
DROP FUNCTION livestream_stats_days_sessions();
DROP FUNCTION livestream_stats_session_seconds(timestamptz, timestamptz, integer);
DROP TABLE livestream_stats_days;
