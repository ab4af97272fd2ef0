// The session history against a real PostgreSQL (test/support/postgres-process.ts): migrations at start, sessions
// fed through the operator's own report folding and read back with their figures, the database stopped while two
// sessions start and end, and a writer process killed with SIGKILL mid-write and started again.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import type { AnyEvent } from '../../../contract/src/reports.ts';
import { startPostgresProcess, type PostgresProcess } from '../../../test/support/postgres-process.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';
import {
  writerChannel,
  writerNamespace,
  writerSessionId,
  writerViewerSeconds,
} from '../../../test/support/history-writer.ts';
import { applyReport, type PublishObservation } from '../controller/publish-state.ts';
import { HistorySpool } from './history-spool.ts';
import { migrationsTable, readSessions, readViewerMinutes } from './history-store.ts';
import { postgresHistoryDatabase, SessionHistory } from './session-history.ts';

const logger = createLogger('history-test', 'warn');
let db: PostgresProcess;
let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  db = await startPostgresProcess();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', () => {});
  dir = await mkdtemp(path.join(tmpdir(), 'lso-history-'));
});
afterAll(async () => {
  await pool?.end();
  await db?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Reports of one channel, folded as the operator folds them, recorded into `history` step by step. */
class Channel {
  private obs: PublishObservation | undefined;
  private seq = 0;
  private readonly history: SessionHistory;
  readonly namespace: string;
  readonly name: string;
  constructor(history: SessionHistory, namespace: string, name: string) {
    this.history = history;
    this.namespace = namespace;
    this.name = name;
  }
  report(type: AnyEvent['type'], session: string, ts: number, data: object): void {
    const ev = { type, namespace: this.namespace, name: this.name, session, ts, seq: ++this.seq, data } as AnyEvent;
    const step = applyReport(this.obs, ev);
    this.obs = step.obs;
    this.history.record(`${this.namespace}/${this.name}`, step.transition, step.obs, ev);
  }
  /** A whole broadcast: start, `beats` heartbeats 5 s apart with `viewers`, the publisher leaving, the end. */
  broadcast(session: string, start: number, beats: number, viewers: number): void {
    this.report('publish-started', session, start, {
      resumed: false,
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 1280,
      height: 720,
    });
    for (let n = 1; n <= beats; n++) {
      const data = {
        state: 'live',
        bitrateKbps: 2_500,
        fps: 30,
        width: 1280,
        height: 720,
        viewers,
        bytesIn: n * 1e6,
        segments: { '720p': n },
      };
      this.report('heartbeat', session, start + n * 5_000, data);
    }
    const end = start + beats * 5_000;
    this.report('publish-ended', session, end + 1_000, { reconnectWindowSeconds: 5, bytesIn: beats * 1e6 });
    const duration = (end + 6_000 - start) / 1000;
    this.report('session-ended', session, end + 6_000, {
      duration,
      bytesIn: beats * 1e6,
      peakViewers: viewers,
      reason: 'window-expired',
    });
  }
}

function newHistory(spoolDir: string) {
  return new SessionHistory({
    database: postgresHistoryDatabase(db.url, logger),
    spool: new HistorySpool(spoolDir, 8 * 1024 * 1024),
    logger,
    flushIntervalMs: 100,
    backoff: { baseMs: 200, maxMs: 1_000, jitter: 0 },
  });
}

const countRows = async (sql: string, params: unknown[]): Promise<number> =>
  Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n);

describe('session history on PostgreSQL', () => {
  it('migrates at start and stores sessions with their figures, once however often they are written', async () => {
    const history = newHistory(path.join(dir, 'figures'));
    history.start();
    const ch = new Channel(history, 'tenant-a', 'news');
    const t0 = Date.parse('2026-12-02T09:00:00Z');
    ch.broadcast('fig-1', t0, 12, 3); // one minute of three viewers
    await waitFor(
      'the session stored',
      async () => (await readSessions(pool, { namespace: 'tenant-a' })).length === 1 && history.pendingRows() === 0,
    );

    const [s] = await readSessions(pool, { namespace: 'tenant-a', name: 'news' });
    expect(s).toEqual({
      sessionId: 'fig-1',
      namespace: 'tenant-a',
      name: 'news',
      uid: null,
      startedAt: t0,
      endedAt: t0 + 66_000,
      durationSeconds: 66,
      endReason: 'window-expired',
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 1280,
      height: 720,
      bitrateKbps: Math.round((12e6 * 8) / 1000 / 66),
      bytesIn: 12e6,
      peakViewers: 3,
      averageViewers: (3 * 60) / 66,
      relays: {},
      recordingUris: [],
    });
    expect(await readViewerMinutes(pool, { namespace: 'tenant-a', name: 'news' })).toEqual([
      { minute: t0, viewerMinutes: (3 * 55) / 60, peakViewers: 3 },
      { minute: t0 + 60_000, viewerMinutes: (3 * 5) / 60, peakViewers: 3 },
    ]);
    // Every migration file applied, once.
    const migrationFiles = (await readdir(new URL('./migrations', import.meta.url))).filter((f) => f.endsWith('.sql'));
    expect(await countRows(`SELECT count(*) AS n FROM ${migrationsTable}`, [])).toBe(migrationFiles.length);

    // The same reports again, from a new writer (its own migration run is a no-op): nothing changes, nothing doubles.
    const again = newHistory(path.join(dir, 'figures-2'));
    again.start();
    const replay = new Channel(again, 'tenant-a', 'news');
    replay.broadcast('fig-1', t0, 12, 3);
    await again.flush();
    expect(again.pendingRows()).toBe(0);
    expect(await readSessions(pool, { namespace: 'tenant-a' })).toEqual([s]);
    expect(
      (await readViewerMinutes(pool, { namespace: 'tenant-a', name: 'news' })).map((m) => m.viewerMinutes),
    ).toEqual([(3 * 55) / 60, (3 * 5) / 60]);
    expect(await countRows(`SELECT count(*) AS n FROM ${migrationsTable}`, [])).toBe(migrationFiles.length);
    await history.close();
    await again.close();
  });

  it('keeps two sessions that start and end while the database is stopped, and stores each once when it is back', async () => {
    const spoolDir = path.join(dir, 'outage');
    const history = newHistory(spoolDir);
    history.start();
    const a = new Channel(history, 'tenant-b', 'one');
    const b = new Channel(history, 'tenant-b', 'two');
    const t0 = Date.parse('2026-12-02T09:10:00Z');
    a.report('publish-started', 'out-a', t0, { resumed: false, videoCodec: 'h264', width: 1920, height: 1080 });
    await waitFor(
      'the open session stored',
      async () => (await readSessions(pool, { namespace: 'tenant-b' })).length === 1,
    );

    await db.stop();
    const stoppedAt = Date.now();
    for (let n = 1; n <= 4; n++) {
      const data = {
        state: 'live',
        bitrateKbps: 6_000,
        fps: 30,
        width: 1920,
        height: 1080,
        viewers: 5,
        bytesIn: n * 1e6,
        segments: { '1080p': n },
      };
      a.report('heartbeat', 'out-a', t0 + n * 5_000, data);
      await sleep(1_000);
    }
    a.report('session-ended', 'out-a', t0 + 25_000, { duration: 25, bytesIn: 4e6, peakViewers: 5, reason: 'shutdown' });
    b.broadcast('out-b', t0 + 30_000, 6, 2);
    await sleep(Math.max(0, 12_000 - (Date.now() - stoppedAt)));
    expect(history.pendingRows()).toBeGreaterThan(0);
    expect((await readdir(spoolDir)).length).toBeGreaterThan(0);
    await db.start();

    await waitFor('the spool drained', () => history.pendingRows() === 0, { timeoutMs: 30_000 });
    const sessions = await readSessions(pool, { namespace: 'tenant-b' });
    expect(sessions.map((s) => [s.sessionId, s.endReason, s.durationSeconds, s.bytesIn, s.peakViewers])).toEqual([
      ['out-b', 'window-expired', 36, 6e6, 2],
      ['out-a', 'shutdown', 25, 4e6, 5],
    ]);
    expect(sessions.find((s) => s.sessionId === 'out-a')?.width).toBe(1920);
    expect(sessions.find((s) => s.sessionId === 'out-a')?.averageViewers).toBe((5 * 20) / 25);
    expect(
      await countRows('SELECT sum(viewer_seconds) AS n FROM livestream_viewer_minutes WHERE namespace = $1', [
        'tenant-b',
      ]),
    ).toBe(5 * 20 + 2 * 30);
    expect(await readdir(spoolDir)).toEqual([]);
    await history.close();
  }, 90_000);

  it('loses nothing and counts nothing twice when the writer is killed mid-write and restarted', async () => {
    const spoolDir = path.join(dir, 'killed');
    const last = 11;
    const runWriter = (from: number, stallAfter: number, killOn?: RegExp) =>
      new Promise<{ lines: string[]; killed: boolean }>((resolve, reject) => {
        const child = spawn(process.execPath, ['test/support/history-writer.ts'], {
          env: {
            ...process.env,
            LSO_HISTORY_DATABASE_URL: db.url,
            SPOOL_DIR: spoolDir,
            FROM: String(from),
            TO: String(last),
            STALL_AFTER: String(stallAfter),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const lines: string[] = [];
        let killed = false;
        let committed = false;
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          for (const l of d.split('\n').filter(Boolean)) {
            lines.push(l);
            if (l.startsWith('committed')) committed = true;
            // Killed while stalled after a COMMIT, with more sessions journaled since.
            if (killOn && committed && killOn.test(l) && !killed) {
              killed = true;
              child.kill('SIGKILL');
            }
          }
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('error', reject);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve({ lines, killed });
        });
      });

    const first = await runWriter(0, 3, /^durable [3-9]$/);
    expect(first.killed).toBe(true);
    const durable = Math.max(...first.lines.filter((l) => l.startsWith('durable')).map((l) => Number(l.split(' ')[1])));
    // Before the restart: the stalled write committed, yet its rows are still in the spool with those after it.
    expect((await readdir(spoolDir)).length).toBeGreaterThan(0);

    const second = await runWriter(durable + 1, 0);
    expect(second.lines[0]).toMatch(/^loaded [1-9]\d*$/);
    expect(second.lines.at(-1)).toBe('done 0');

    const sessions = await readSessions(pool, { namespace: writerNamespace }, 1_000);
    const ids = Array.from({ length: last + 1 }, (_, i) => writerSessionId(i));
    expect(sessions.map((s) => s.sessionId).sort()).toEqual(ids);
    for (const s of sessions) {
      const i = Number(s.sessionId.slice(1));
      expect([s.name, s.endReason, s.durationSeconds, s.bytesIn, s.peakViewers]).toEqual([
        writerChannel(i),
        'window-expired',
        36,
        3_100_000,
        (i % 4) + 1,
      ]);
      expect(s.averageViewers).toBeCloseTo(writerViewerSeconds(i) / 36, 9);
    }
    const perSession = await pool.query<{ session_id: string; seconds: number }>(
      'SELECT session_id, sum(viewer_seconds)::float8 AS seconds FROM livestream_viewer_minutes WHERE namespace = $1 GROUP BY session_id ORDER BY session_id',
      [writerNamespace],
    );
    expect(perSession.rows).toEqual(ids.map((id, i) => ({ session_id: id, seconds: writerViewerSeconds(i) })));
    expect(await readdir(spoolDir)).toEqual([]);
  }, 120_000);
});
