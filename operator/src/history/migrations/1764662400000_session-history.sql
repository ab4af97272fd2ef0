-- Up Migration
-- The session history (operator/src/history): one row per publish session, upserted by its id; viewing per channel,
-- session and minute. Times are timestamptz; figures as the operator folded them from the transcoder's reports.
CREATE TABLE livestream_sessions (
  session_id text PRIMARY KEY,
  namespace text NOT NULL,
  name text NOT NULL,
  uid text,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  duration_seconds integer,
  end_reason text,
  video_codec text,
  audio_codec text,
  width integer,
  height integer,
  bitrate_kbps integer,
  bytes_in bigint NOT NULL DEFAULT 0,
  peak_viewers integer NOT NULL DEFAULT 0,
  -- viewer-seconds of the session over its duration, set when it ends
  average_viewers double precision,
  -- by relay name: {state, lastError, bytesOut, failures}
  relays jsonb NOT NULL DEFAULT '{}',
  recording_uris text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX livestream_sessions_channel ON livestream_sessions (namespace, name, started_at DESC);
CREATE INDEX livestream_sessions_namespace ON livestream_sessions (namespace, started_at DESC);
CREATE INDEX livestream_sessions_age ON livestream_sessions ((coalesce(ended_at, started_at)));

CREATE TABLE livestream_viewer_minutes (
  namespace text NOT NULL,
  name text NOT NULL,
  uid text,
  minute timestamptz NOT NULL,
  session_id text NOT NULL,
  viewer_seconds double precision NOT NULL,
  peak_viewers integer NOT NULL,
  -- viewer-seconds by the report (its ts) that counted them: a report applied twice is one key
  samples jsonb NOT NULL,
  PRIMARY KEY (namespace, name, minute, session_id)
);
CREATE INDEX livestream_viewer_minutes_session ON livestream_viewer_minutes (session_id);
CREATE INDEX livestream_viewer_minutes_minute ON livestream_viewer_minutes (minute);

-- Down Migration
DROP TABLE livestream_viewer_minutes;
DROP TABLE livestream_sessions;
