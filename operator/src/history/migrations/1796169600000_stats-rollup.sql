-- Up Migration
-- For the stats API (operator/src/stats/stats-queries.ts), measured with `make bench-stats` (100,000 sessions, 50
-- channels, 5 namespaces, 13 months, ~2 million viewer-minutes):
-- * Viewer-minutes were the cost. A namespace's 12-month series read every minute row of the namespace (EXPLAIN:
--   an index scan over ~400,000 rows of livestream_viewer_minutes_minute/the primary key, then a HashAggregate;
--   hundreds of ms). Every bucket (UTC day, ISO week, month) is a union of UTC days, so a daily rollup per channel,
--   kept by statement triggers from the rows the writer upserts, answers all but the last, partial day of a range
--   (read from the minutes). The series then reads ~4,000 rollup rows for a namespace-year.
-- * Sessions: the series aggregates started_at, name, ended_at, duration_seconds and bytes_in over the range; the
--   indexes below hold them all, so it is an index-only scan (no heap visit per session once vacuumed). They also
--   carry session_id, so the sessions pages (ORDER BY started_at DESC, session_id) read their keyset in index order
--   with no sort.
CREATE TABLE livestream_viewer_days (
  namespace text NOT NULL,
  name text NOT NULL,
  -- the UTC day of the minutes
  day date NOT NULL,
  viewer_seconds double precision NOT NULL,
  -- the highest peak of a minute row (one channel's session) that day
  peak_viewers integer NOT NULL,
  PRIMARY KEY (namespace, name, day)
);

-- Inserted and updated minutes add their change of viewer-seconds to their day (a minute is upserted again when a
-- later report adds a sample; its peak only grows). Deleted ones (retention) make their days recomputed from the
-- minutes left, so a day cut in two by the retention cutoff keeps the exact figures of what is left. Statement
-- triggers with transition tables: one upsert per statement, however many rows it wrote.
CREATE FUNCTION livestream_viewer_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO livestream_viewer_days AS d (namespace, name, day, viewer_seconds, peak_viewers)
  SELECT namespace, name, (minute AT TIME ZONE 'UTC')::date, sum(viewer_seconds), max(peak_viewers)
  FROM new_rows GROUP BY 1, 2, 3
  ON CONFLICT (namespace, name, day) DO UPDATE SET
    viewer_seconds = d.viewer_seconds + excluded.viewer_seconds,
    peak_viewers = greatest(d.peak_viewers, excluded.peak_viewers);
  RETURN NULL;
END $$;

CREATE FUNCTION livestream_viewer_days_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO livestream_viewer_days AS d (namespace, name, day, viewer_seconds, peak_viewers)
  SELECT namespace, name, (minute AT TIME ZONE 'UTC')::date, sum(seconds), max(peak)
  FROM (
    SELECT namespace, name, minute, viewer_seconds AS seconds, peak_viewers AS peak FROM new_rows
    UNION ALL
    SELECT namespace, name, minute, -viewer_seconds, 0 FROM old_rows
  ) AS change
  GROUP BY 1, 2, 3
  ON CONFLICT (namespace, name, day) DO UPDATE SET
    viewer_seconds = d.viewer_seconds + excluded.viewer_seconds,
    peak_viewers = greatest(d.peak_viewers, excluded.peak_viewers);
  RETURN NULL;
END $$;

CREATE FUNCTION livestream_viewer_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH touched AS (
    SELECT DISTINCT namespace, name, (minute AT TIME ZONE 'UTC')::date AS day FROM old_rows
  ), left_over AS (
    SELECT t.namespace, t.name, t.day, sum(m.viewer_seconds) AS seconds, max(m.peak_viewers) AS peak
    FROM touched t JOIN livestream_viewer_minutes m ON m.namespace = t.namespace AND m.name = t.name
      AND m.minute >= t.day::timestamp AT TIME ZONE 'UTC' AND m.minute < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY 1, 2, 3
  ), gone AS (
    DELETE FROM livestream_viewer_days d USING touched t
    WHERE d.namespace = t.namespace AND d.name = t.name AND d.day = t.day
      AND NOT EXISTS (SELECT 1 FROM left_over l WHERE l.namespace = t.namespace AND l.name = t.name AND l.day = t.day)
  )
  UPDATE livestream_viewer_days d SET viewer_seconds = l.seconds, peak_viewers = l.peak
  FROM left_over l WHERE d.namespace = l.namespace AND d.name = l.name AND d.day = l.day;
  RETURN NULL;
END $$;

-- The triggers first: CREATE TRIGGER locks the table against writes until this migration commits, so no minute
-- written by a replica still running the old version falls between the backfill and the triggers.
CREATE TRIGGER livestream_viewer_days_insert AFTER INSERT ON livestream_viewer_minutes
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_viewer_days_insert();
CREATE TRIGGER livestream_viewer_days_update AFTER UPDATE ON livestream_viewer_minutes
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_viewer_days_update();
CREATE TRIGGER livestream_viewer_days_delete AFTER DELETE ON livestream_viewer_minutes
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION livestream_viewer_days_delete();

INSERT INTO livestream_viewer_days (namespace, name, day, viewer_seconds, peak_viewers)
SELECT namespace, name, (minute AT TIME ZONE 'UTC')::date, sum(viewer_seconds), max(peak_viewers)
FROM livestream_viewer_minutes GROUP BY 1, 2, 3;

-- The last, partial day of a namespace's range reads its minutes by namespace and time.
CREATE INDEX livestream_viewer_minutes_namespace ON livestream_viewer_minutes (namespace, minute)
  INCLUDE (viewer_seconds, peak_viewers);
CREATE INDEX livestream_sessions_channel_stats ON livestream_sessions (namespace, name, started_at DESC, session_id)
  INCLUDE (ended_at, duration_seconds, bytes_in);
CREATE INDEX livestream_sessions_namespace_stats ON livestream_sessions (namespace, started_at DESC, session_id)
  INCLUDE (name, ended_at, duration_seconds, bytes_in);

-- Down Migration
DROP INDEX livestream_sessions_namespace_stats;
DROP INDEX livestream_sessions_channel_stats;
DROP INDEX livestream_viewer_minutes_namespace;
DROP TRIGGER livestream_viewer_days_delete ON livestream_viewer_minutes;
DROP TRIGGER livestream_viewer_days_update ON livestream_viewer_minutes;
DROP TRIGGER livestream_viewer_days_insert ON livestream_viewer_minutes;
DROP FUNCTION livestream_viewer_days_delete();
DROP FUNCTION livestream_viewer_days_update();
DROP FUNCTION livestream_viewer_days_insert();
DROP TABLE livestream_viewer_days;
