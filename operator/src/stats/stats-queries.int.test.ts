// The stats queries against a real PostgreSQL (test/support/postgres-process.ts), fed through the history's own
// writer (writeBatch: the upserts, and the triggers that keep the daily rollup). Every answer is compared with a
// fold of the rows written, in TypeScript: totals, every bucket (zeros included), for day, week and month, for a
// channel and a namespace, over ranges that end mid-day; after replays, later samples and retention; and the
// sessions pages walked to the end with no gap and no repeat. The database session's zone is not UTC.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { statsIntervals, type StatsInterval, type StatsScope } from '../../../contract/src/stats-api.ts';
import { startPostgresProcess, type PostgresProcess } from '../../../test/support/postgres-process.ts';
import { deleteOlderThan, migrateHistory, writeBatch } from '../history/history-store.ts';
import type { HistoryBatch, SessionRow, ViewerMinute } from '../history/session-rows.ts';
import { bucketStart, bucketStarts, addBuckets, type SessionsQuery } from './stats-params.ts';
import { querySessions, queryStats } from './stats-queries.ts';

const logger = createLogger('stats-test', 'warn');
let db: PostgresProcess;
let pool: pg.Pool;

const now = new Date('2026-03-10T12:34:56.789Z');
const minuteMs = 60_000;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Deterministic data: a PRNG (mulberry32) so a failure is reproducible. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const channels: StatsScope[] = [
  { namespace: 'tenant-a', name: 'news' },
  { namespace: 'tenant-a', name: 'sport' },
  { namespace: 'tenant-b', name: 'news' }, // same name, another namespace: never in tenant-a's answers
];

/** ~300 sessions over the 100 days before `now`, some still live, each with a few minutes of viewing. */
function dataset(): { sessions: SessionRow[]; minutes: ViewerMinute[] } {
  const pick = random(42);
  const sessions: SessionRow[] = [];
  const minutes: ViewerMinute[] = [];
  for (let i = 0; i < 300; i++) {
    const ch = channels[i % channels.length]!;
    // whole seconds with some ms, and ties: every 10th session starts with the one before it
    const startedAt = i % 10 === 9 ? sessions.at(-1)!.startedAt : now.getTime() - Math.floor(pick() * 100 * 86_400_000);
    const live = i % 50 === 0;
    const durationSeconds = 60 + Math.floor(pick() * 7_200);
    const s: SessionRow = {
      sessionId: `s-${String(i).padStart(3, '0')}`,
      namespace: ch.namespace,
      name: ch.name!,
      startedAt,
      bytesIn: Math.floor(pick() * 1e9),
      peakViewers: 9,
      videoCodec: 'h264',
    };
    if (!live) Object.assign(s, { endedAt: startedAt + durationSeconds * 1000, durationSeconds, endReason: 'gone' });
    sessions.push(s);
    const first = Math.floor(startedAt / minuteMs) * minuteMs;
    for (let k = 0; k < 5; k++) {
      const minute = first + Math.floor(pick() * Math.min(durationSeconds / 60, 600)) * minuteMs;
      if (minute > now.getTime()) continue;
      const key = `${s.sessionId}/${minute}`;
      if (minutes.some((m) => `${m.sessionId}/${m.minute}` === key)) continue;
      minutes.push({
        namespace: s.namespace,
        name: s.name,
        sessionId: s.sessionId,
        minute,
        samples: { [String(minute + 5_000)]: Math.floor(pick() * 300) },
        peakViewers: Math.floor(pick() * 50),
      });
    }
  }
  return { sessions, minutes };
}

const batchOf = (sessions: SessionRow[], minutes: ViewerMinute[]): HistoryBatch => ({
  sessions: Object.fromEntries(sessions.map((s) => [s.sessionId, s])),
  minutes: Object.fromEntries(minutes.map((m) => [`${m.namespace}/${m.name}/${m.minute}/${m.sessionId}`, m])),
});

/** What the answer must say, folded from the rows in TypeScript. */
function expected(
  rows: { sessions: SessionRow[]; minutes: ViewerMinute[] },
  scope: StatsScope,
  interval: StatsInterval,
  from: Date,
  to: Date,
) {
  const inScope = (r: { namespace: string; name: string }) =>
    r.namespace === scope.namespace && (scope.name === undefined || r.name === scope.name);
  const seconds = (m: ViewerMinute) => Object.values(m.samples).reduce((a: number, v: number) => a + v, 0);
  const series = bucketStarts(interval, from, to).map((b) => {
    const end = Math.min(addBuckets(interval, b, 1).getTime(), to.getTime());
    const inBucket = (t: number) => t >= b.getTime() && t < end;
    const ss = rows.sessions.filter((s) => inScope(s) && inBucket(s.startedAt));
    const ms = rows.minutes.filter((m) => inScope(m) && inBucket(m.minute));
    return {
      start: b.toISOString(),
      sessions: ss.length,
      liveSeconds: round3(ss.reduce((a, s) => a + (s.durationSeconds ?? (now.getTime() - s.startedAt) / 1000), 0)),
      viewerMinutes: round3(ms.reduce((a, m) => a + seconds(m), 0) / 60),
      peakViewers: ms.reduce((a, m) => Math.max(a, m.peakViewers), 0),
      bytesIn: ss.reduce((a, s) => a + (s.bytesIn ?? 0), 0),
    };
  });
  // the totals of the unrounded figures, rounded once (as the answer does)
  const all = rows.minutes.filter((m) => inScope(m) && m.minute >= from.getTime() && m.minute < to.getTime());
  const started = rows.sessions.filter(
    (s) => inScope(s) && s.startedAt >= from.getTime() && s.startedAt < to.getTime(),
  );
  const totals = {
    sessions: series.reduce((a, b) => a + b.sessions, 0),
    liveSeconds: round3(started.reduce((a, s) => a + (s.durationSeconds ?? (now.getTime() - s.startedAt) / 1000), 0)),
    viewerMinutes: round3(all.reduce((a, m) => a + seconds(m), 0) / 60),
    peakViewers: series.reduce((a, b) => Math.max(a, b.peakViewers), 0),
    bytesIn: series.reduce((a, b) => a + b.bytesIn, 0),
  };
  return { series, totals };
}

const scopes: StatsScope[] = [...channels, { namespace: 'tenant-a' }, { namespace: 'tenant-b' }];

async function expectAgreement(rows: { sessions: SessionRow[]; minutes: ViewerMinute[] }): Promise<void> {
  for (const scope of scopes) {
    for (const interval of statsIntervals) {
      // a range from 120 days back to now (mid-day), and one that ends mid-day 40 days ago
      for (const [f, t] of [
        [new Date(now.getTime() - 120 * 86_400_000), now],
        [new Date(now.getTime() - 75 * 86_400_000), new Date(now.getTime() - 40 * 86_400_000 + 7_777_777)],
      ] as const) {
        const from = bucketStart(interval, f);
        const got = await queryStats(pool, scope, interval, from, t, now);
        const want = expected(rows, scope, interval, from, t);
        expect({ scope, interval, series: got.series }).toEqual({ scope, interval, series: want.series });
        expect(got.totals.sessions).toBe(want.totals.sessions);
        expect(got.totals.bytesIn).toBe(want.totals.bytesIn);
        expect(got.totals.peakViewers).toBe(want.totals.peakViewers);
        expect(got.totals.liveSeconds).toBe(want.totals.liveSeconds);
        expect(got.totals.viewerMinutes).toBe(want.totals.viewerMinutes);
      }
    }
  }
}

let rows: { sessions: SessionRow[]; minutes: ViewerMinute[] };

beforeAll(async () => {
  db = await startPostgresProcess();
  // The session's zone must not matter: buckets are UTC (a zone with a half-hour offset and summer time).
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`ALTER ROLE lso SET timezone = 'America/St_Johns'`);
  await admin.end();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', () => {});
  const client = await pool.connect();
  await migrateHistory(client, logger).finally(() => client.release());
  rows = dataset();
  // In several batches, as the writer sends them
  for (let i = 0; i < rows.sessions.length; i += 100) {
    const ids = new Set(rows.sessions.slice(i, i + 100).map((s) => s.sessionId));
    await writeBatch(
      pool,
      batchOf(
        rows.sessions.slice(i, i + 100),
        rows.minutes.filter((m) => ids.has(m.sessionId)),
      ),
    );
  }
});
afterAll(async () => {
  await pool?.end();
  await db?.destroy();
});

describe('queryStats', () => {
  it('agrees with the rows: every bucket and the totals, day, week and month, channel and namespace', async () => {
    await expectAgreement(rows);
  });

  it('answers a hand-checked channel: a session counted where it started, a live one up to now', async () => {
    const scope = { namespace: 'tenant-c', name: 'solo' };
    const start = Date.parse('2026-03-08T23:59:30Z'); // Sunday, the last second of ISO week 10
    await writeBatch(
      pool,
      batchOf(
        [
          {
            sessionId: 'c-1',
            namespace: 'tenant-c',
            name: 'solo',
            startedAt: start,
            endedAt: start + 600_000,
            durationSeconds: 600,
            bytesIn: 1_000,
          },
          { sessionId: 'c-2', namespace: 'tenant-c', name: 'solo', startedAt: now.getTime() - 3_600_000, bytesIn: 5 },
        ],
        [
          {
            namespace: 'tenant-c',
            name: 'solo',
            sessionId: 'c-1',
            minute: Date.parse('2026-03-08T23:59:00Z'),
            samples: { a: 30 },
            peakViewers: 2,
          },
          {
            namespace: 'tenant-c',
            name: 'solo',
            sessionId: 'c-1',
            minute: Date.parse('2026-03-09T00:05:00Z'),
            samples: { a: 120 },
            peakViewers: 3,
          },
        ],
      ),
    );
    const got = await queryStats(pool, scope, 'week', new Date('2026-03-02T00:00:00Z'), now, now);
    expect(got).toEqual({
      namespace: 'tenant-c',
      name: 'solo',
      interval: 'week',
      from: '2026-03-02T00:00:00.000Z',
      to: now.toISOString(),
      totals: { sessions: 2, liveSeconds: 4_200, viewerMinutes: 2.5, peakViewers: 3, bytesIn: 1_005 },
      series: [
        {
          start: '2026-03-02T00:00:00.000Z',
          sessions: 1,
          liveSeconds: 600,
          viewerMinutes: 0.5,
          peakViewers: 2,
          bytesIn: 1_000,
        },
        {
          start: '2026-03-09T00:00:00.000Z',
          sessions: 1,
          liveSeconds: 3_600,
          viewerMinutes: 2,
          peakViewers: 3,
          bytesIn: 5,
        },
      ],
    });
    const empty = await queryStats(pool, { namespace: 'nobody' }, 'day', new Date('2026-03-01T00:00:00Z'), now, now);
    expect(empty.series).toHaveLength(10);
    expect(empty.series.every((b) => b.sessions === 0 && b.viewerMinutes === 0 && b.peakViewers === 0)).toBe(true);
  });

  it('stays exact through replayed batches, later samples of a minute, and retention', async () => {
    // a replay of everything: nothing counts twice
    await writeBatch(pool, batchOf(rows.sessions, rows.minutes));
    // later reports add samples to some minutes (the writer's upsert merges them; the rollup adds the change)
    const grown = rows.minutes.map((m, i) =>
      i % 3 === 0
        ? { ...m, samples: { ...m.samples, [String(m.minute + 20_000)]: 17 }, peakViewers: m.peakViewers + 60 }
        : m,
    );
    await writeBatch(
      pool,
      batchOf(
        [],
        grown.filter((_, i) => i % 3 === 0),
      ),
    );
    // the live sessions end (an update of their rows: the rollup moves them from live to closed)
    const closed = rows.sessions.map((s) =>
      s.endedAt === undefined
        ? {
            ...s,
            endedAt: s.startedAt + 123_000,
            durationSeconds: 123,
            endReason: 'gone',
            bytesIn: (s.bytesIn ?? 0) + 7,
          }
        : s,
    );
    await writeBatch(
      pool,
      batchOf(
        closed.filter((s) => s.durationSeconds === 123),
        [],
      ),
    );
    const after = { sessions: closed, minutes: grown };
    await expectAgreement(after);
    // retention in the middle of a day: what is left is what counts
    const cutoff = now.getTime() - 60 * 86_400_000 + 5 * 3_600_000;
    await deleteOlderThan(pool, cutoff, 7);
    await expectAgreement({
      sessions: after.sessions.filter((s) => (s.endedAt ?? s.startedAt) >= cutoff),
      minutes: after.minutes.filter((m) => m.minute >= cutoff),
    });
  });
});

describe('querySessions', () => {
  const walk = async (scope: StatsScope, q: Omit<SessionsQuery, 'after'>) => {
    const seen: string[] = [];
    let after: SessionsQuery['after'];
    for (let page = 0; page < 200; page++) {
      const a = await querySessions(pool, scope, { ...q, ...(after ? { after } : {}) });
      expect(a.items.length).toBeLessThanOrEqual(q.limit);
      seen.push(...a.items.map((s) => s.sessionId));
      if (!a.continue) return { seen, items: a.items };
      const { decodeCursor } = await import('./stats-params.ts');
      after = decodeCursor(a.continue);
    }
    throw new Error('more than 200 pages');
  };

  it('pages newest first through every session of the scope once, ties broken by id', async () => {
    const all = (
      await pool.query<{ session_id: string }>(
        `SELECT session_id FROM livestream_sessions WHERE namespace = 'tenant-a' ORDER BY started_at DESC, session_id`,
      )
    ).rows.map((r) => r.session_id);
    expect(all.length).toBeGreaterThan(100);
    for (const limit of [1, 7, 50, 500]) expect((await walk({ namespace: 'tenant-a' }, { limit })).seen).toEqual(all);
    const news = await walk({ namespace: 'tenant-a', name: 'news' }, { limit: 9 });
    const stored = rows.sessions.filter((s) => s.namespace === 'tenant-a' && s.name === 'news').map((s) => s.sessionId);
    expect(new Set(news.seen)).toEqual(new Set(stored.filter((id) => all.includes(id))));
  });

  it('filters on the start, and never shows another namespace', async () => {
    const from = new Date(now.getTime() - 50 * 86_400_000);
    const to = new Date(now.getTime() - 20 * 86_400_000);
    const got = await walk({ namespace: 'tenant-b' }, { limit: 11, from, to });
    const want = rows.sessions
      .filter((s) => s.namespace === 'tenant-b' && s.startedAt >= from.getTime() && s.startedAt < to.getTime())
      .sort((a, b) => b.startedAt - a.startedAt || (a.sessionId < b.sessionId ? -1 : 1))
      .map((s) => s.sessionId);
    expect(got.seen).toEqual(want);
    const a = await querySessions(pool, { namespace: 'tenant-a' }, { limit: 500 });
    expect(a.items.every((s) => s.namespace === 'tenant-a')).toBe(true);
  });

  it('gives each session its figures and viewer-minutes', async () => {
    const { items } = await querySessions(pool, { namespace: 'tenant-c', name: 'solo' }, { limit: 10 });
    expect(items.map((s) => [s.sessionId, s.viewerMinutes, s.durationSeconds, s.endedAt])).toEqual([
      ['c-2', 0, null, null],
      ['c-1', 2.5, 600, '2026-03-09T00:09:30.000Z'],
    ]);
    expect(items[1]).toMatchObject({
      startedAt: '2026-03-08T23:59:30.000Z',
      bytesIn: 1_000,
      relays: {},
      recordingUris: [],
    });
  });
});
