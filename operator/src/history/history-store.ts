// The session history's PostgreSQL side: migrations (node-pg-migrate, SQL files beside this module), one batch per
// transaction as set-based upserts, retention, and the readers the tests and the stats API start from. The upserts
// mirror mergeSession/mergeMinute (session-rows.ts): writing a batch twice, or an older one after a newer one that
// closed a session, leaves the same rows.
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type pg from 'pg';
import { runner } from 'node-pg-migrate';
import {
  viewerSeconds,
  type HistoryBatch,
  type RelayOutcome,
  type SessionRow,
  type ViewerMinute,
} from './session-rows.ts';

export const migrationsTable = 'livestream_history_migrations';
const migrationsDir = fileURLToPath(new URL('./migrations', import.meta.url));

/** Applies the migrations not applied yet (an advisory lock serializes replicas that start together). */
export async function migrateHistory(client: pg.ClientBase, logger: Logger): Promise<string[]> {
  const log = (msg: string): void => logger.debug({ msg }, 'history migration');
  const done = await runner({
    dbClient: client,
    dir: migrationsDir,
    migrationsTable,
    direction: 'up',
    count: Infinity,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    checkOrder: true,
    logger: { debug: log, info: log, warn: (m: string) => logger.warn({ msg: m }, 'history migration'), error: log },
  });
  return done.map((m) => m.name);
}

const upsertSessions = `
INSERT INTO livestream_sessions AS s (session_id, namespace, name, uid, started_at, ended_at, duration_seconds,
  end_reason, video_codec, audio_codec, width, height, bitrate_kbps, bytes_in, peak_viewers, relays, recording_uris)
SELECT r.session_id, r.namespace, r.name, r.uid, to_timestamp(r.started_at / 1000.0),
  to_timestamp(r.ended_at / 1000.0), r.duration_seconds, r.end_reason, r.video_codec, r.audio_codec, r.width,
  r.height, r.bitrate_kbps, coalesce(r.bytes_in, 0), coalesce(r.peak_viewers, 0), coalesce(r.relays, '{}'),
  coalesce(r.recording_uris, '{}')
FROM jsonb_to_recordset($1::jsonb) AS r(session_id text, namespace text, name text, uid text, started_at float8,
  ended_at float8, duration_seconds integer, end_reason text, video_codec text, audio_codec text, width integer,
  height integer, bitrate_kbps integer, bytes_in bigint, peak_viewers integer, relays jsonb, recording_uris text[])
ON CONFLICT (session_id) DO UPDATE SET
  uid = coalesce(excluded.uid, s.uid),
  started_at = least(s.started_at, excluded.started_at),
  ended_at = coalesce(excluded.ended_at, s.ended_at),
  duration_seconds = coalesce(excluded.duration_seconds, s.duration_seconds),
  end_reason = coalesce(excluded.end_reason, s.end_reason),
  video_codec = coalesce(excluded.video_codec, s.video_codec),
  audio_codec = coalesce(excluded.audio_codec, s.audio_codec),
  width = coalesce(excluded.width, s.width),
  height = coalesce(excluded.height, s.height),
  bitrate_kbps = coalesce(excluded.bitrate_kbps, s.bitrate_kbps),
  bytes_in = greatest(s.bytes_in, excluded.bytes_in),
  peak_viewers = greatest(s.peak_viewers, excluded.peak_viewers),
  relays = s.relays || excluded.relays,
  recording_uris = ARRAY(SELECT DISTINCT u FROM unnest(s.recording_uris || excluded.recording_uris) AS u ORDER BY u),
  updated_at = now()
-- a closed session is not reopened by what an open one said (a report replayed after its close)
WHERE NOT (s.ended_at IS NOT NULL AND excluded.ended_at IS NULL)`;

const upsertMinutes = `
INSERT INTO livestream_viewer_minutes AS m (namespace, name, uid, minute, session_id, viewer_seconds, peak_viewers,
  samples)
SELECT r.namespace, r.name, r.uid, to_timestamp(r.minute / 1000.0), r.session_id, r.viewer_seconds, r.peak_viewers,
  r.samples
FROM jsonb_to_recordset($1::jsonb) AS r(namespace text, name text, uid text, minute float8, session_id text,
  viewer_seconds float8, peak_viewers integer, samples jsonb)
ON CONFLICT (namespace, name, minute, session_id) DO UPDATE SET
  -- the stored sample wins over a replayed one of the same report
  samples = excluded.samples || m.samples,
  viewer_seconds = (SELECT coalesce(sum(v::float8), 0) FROM jsonb_each_text(excluded.samples || m.samples) AS e(k, v)),
  peak_viewers = greatest(m.peak_viewers, excluded.peak_viewers),
  uid = coalesce(excluded.uid, m.uid)`;

// Closed sessions touched by the batch: their average from the viewer-minutes, which are exact by construction.
const averageViewers = `
UPDATE livestream_sessions s SET average_viewers = coalesce((SELECT sum(viewer_seconds)
    FROM livestream_viewer_minutes m WHERE m.session_id = s.session_id), 0) / s.duration_seconds
WHERE s.session_id = ANY($1::text[]) AND s.ended_at IS NOT NULL AND s.duration_seconds > 0`;

function sessionRecord(r: SessionRow): Record<string, unknown> {
  return {
    session_id: r.sessionId,
    namespace: r.namespace,
    name: r.name,
    uid: r.uid,
    started_at: r.startedAt,
    ended_at: r.endedAt,
    duration_seconds: r.durationSeconds,
    end_reason: r.endReason,
    video_codec: r.videoCodec,
    audio_codec: r.audioCodec,
    width: r.width,
    height: r.height,
    bitrate_kbps: r.bitrateKbps,
    bytes_in: r.bytesIn,
    peak_viewers: r.peakViewers,
    relays: r.relays,
    recording_uris: r.recordingUris,
  };
}

function minuteRecord(m: ViewerMinute): Record<string, unknown> {
  return {
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    minute: m.minute,
    session_id: m.sessionId,
    viewer_seconds: viewerSeconds(m),
    peak_viewers: m.peakViewers,
    samples: m.samples,
  };
}

/** Writes one batch in one transaction: all of it or none of it. */
export async function writeBatch(pool: pg.Pool, batch: HistoryBatch): Promise<void> {
  const sessions = Object.values(batch.sessions);
  const minutes = Object.values(batch.minutes);
  const touched = [...new Set([...sessions.map((s) => s.sessionId), ...minutes.map((m) => m.sessionId)])];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Minutes first: a session closed in this batch averages over them.
    if (minutes.length > 0) await client.query(upsertMinutes, [JSON.stringify(minutes.map(minuteRecord))]);
    if (sessions.length > 0) await client.query(upsertSessions, [JSON.stringify(sessions.map(sessionRecord))]);
    if (touched.length > 0) await client.query(averageViewers, [touched]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Deletes sessions that ended (or, never closed, started) before `cutoffMs`, and viewer-minutes before it, in
 * chunks so that no statement holds its locks for long. Returns the counts.
 */
export async function deleteOlderThan(
  pool: pg.Pool,
  cutoffMs: number,
  chunk = 5_000,
  maxChunks = 200,
): Promise<{ sessions: number; minutes: number }> {
  const cutoff = new Date(cutoffMs);
  const del = async (sql: string): Promise<number> => {
    let total = 0;
    for (let i = 0; i < maxChunks; i++) {
      const n = (await pool.query(sql, [cutoff, chunk])).rowCount ?? 0;
      total += n;
      if (n < chunk) break;
    }
    return total;
  };
  const sessions = await del(`DELETE FROM livestream_sessions WHERE session_id IN (SELECT session_id
    FROM livestream_sessions WHERE coalesce(ended_at, started_at) < $1 LIMIT $2)`);
  const minutes = await del(`DELETE FROM livestream_viewer_minutes WHERE ctid IN (SELECT ctid
    FROM livestream_viewer_minutes WHERE minute < $1 LIMIT $2)`);
  return { sessions, minutes };
}

/** A stored session as read back (times in ms epoch). */
export interface StoredSession {
  sessionId: string;
  namespace: string;
  name: string;
  uid: string | null;
  startedAt: number;
  endedAt: number | null;
  durationSeconds: number | null;
  endReason: string | null;
  videoCodec: string | null;
  audioCodec: string | null;
  width: number | null;
  height: number | null;
  bitrateKbps: number | null;
  bytesIn: number;
  peakViewers: number;
  averageViewers: number | null;
  relays: Record<string, RelayOutcome>;
  recordingUris: string[];
}

/** The columns of livestream_sessions that storedSessionOf reads (times as ms epoch). */
export const storedSessionColumns = `session_id, namespace, name, uid,
  (extract(epoch FROM started_at) * 1000)::float8 AS started_ms, (extract(epoch FROM ended_at) * 1000)::float8 AS ended_ms,
  duration_seconds, end_reason, video_codec, audio_codec, width, height, bitrate_kbps, bytes_in::float8 AS bytes_in,
  peak_viewers, average_viewers, relays, recording_uris`;

/** A row selected with storedSessionColumns. */
export function storedSessionOf(r: Record<string, unknown>): StoredSession {
  return {
    sessionId: r.session_id as string,
    namespace: r.namespace as string,
    name: r.name as string,
    uid: r.uid as string | null,
    startedAt: Math.round(r.started_ms as number),
    endedAt: r.ended_ms === null ? null : Math.round(r.ended_ms as number),
    durationSeconds: r.duration_seconds as number | null,
    endReason: r.end_reason as string | null,
    videoCodec: r.video_codec as string | null,
    audioCodec: r.audio_codec as string | null,
    width: r.width as number | null,
    height: r.height as number | null,
    bitrateKbps: r.bitrate_kbps as number | null,
    bytesIn: r.bytes_in as number,
    peakViewers: r.peak_viewers as number,
    averageViewers: r.average_viewers as number | null,
    relays: r.relays as Record<string, RelayOutcome>,
    recordingUris: r.recording_uris as string[],
  };
}

/** The sessions of a namespace (and channel), newest first. */
export async function readSessions(
  pool: pg.Pool,
  where: { namespace: string; name?: string },
  limit = 100,
): Promise<StoredSession[]> {
  const { rows } = await pool.query<Record<string, unknown>>(
    `SELECT ${storedSessionColumns}
     FROM livestream_sessions WHERE namespace = $1 AND ($2::text IS NULL OR name = $2)
     ORDER BY started_at DESC, session_id LIMIT $3`,
    [where.namespace, where.name ?? null, limit],
  );
  return rows.map(storedSessionOf);
}

/** Viewer-minutes of a channel by minute (ms epoch), summed over its sessions. */
export async function readViewerMinutes(
  pool: pg.Pool,
  where: { namespace: string; name: string },
): Promise<{ minute: number; viewerMinutes: number; peakViewers: number }[]> {
  const { rows } = await pool.query<{ minute_ms: number; seconds: number; peak: number }>(
    `SELECT (extract(epoch FROM minute) * 1000)::float8 AS minute_ms, sum(viewer_seconds)::float8 AS seconds,
       max(peak_viewers) AS peak
     FROM livestream_viewer_minutes WHERE namespace = $1 AND name = $2 GROUP BY minute ORDER BY minute`,
    [where.namespace, where.name],
  );
  return rows.map((r) => ({ minute: Math.round(r.minute_ms), viewerMinutes: r.seconds / 60, peakViewers: r.peak }));
}
