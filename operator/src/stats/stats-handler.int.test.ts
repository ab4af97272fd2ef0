// The stats handler over HTTP against a real PostgreSQL: answers that match the contract's schemas and the queries,
// paging through `continue`, namespace isolation, the statement timeout (a table locked by another client), and the
// database stopped and started again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { sessionsAnswerSchema, statsAnswerSchema } from '../../../contract/src/stats-api.ts';
import { startPostgresProcess, type PostgresProcess } from '../../../test/support/postgres-process.ts';
import { migrateHistory, writeBatch } from '../history/history-store.ts';
import type { SessionRow, ViewerMinute } from '../history/session-rows.ts';
import type { StatsAuthorizer } from './authorizer.ts';
import { createStatsHandler } from './stats-handler.ts';
import { queryStats } from './stats-queries.ts';

const logger = createLogger('stats-test', 'silent');
const now = Date.parse('2026-03-10T12:00:00Z');
const authorizer: StatsAuthorizer = {
  authorize: (token, namespace) =>
    Promise.resolve(
      token === 'admin'
        ? { outcome: 'allowed', user: 'admin' }
        : { outcome: 'forbidden', user: String(token), message: `no livestreams in ${namespace}` },
    ),
};
let db: PostgresProcess;
let pool: pg.Pool;
let server: Server;
let base: string;

beforeAll(async () => {
  db = await startPostgresProcess();
  pool = new pg.Pool({ connectionString: db.url, max: 3, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => {});
  const client = await pool.connect();
  await migrateHistory(client, logger).finally(() => client.release());
  const sessions: SessionRow[] = [];
  const minutes: ViewerMinute[] = [];
  for (let i = 0; i < 30; i++) {
    const namespace = i % 3 === 0 ? 'tenant-b' : 'tenant-a';
    const startedAt = now - (i + 1) * 3 * 3_600_000;
    sessions.push({
      sessionId: `h-${i}`,
      namespace,
      name: 'news',
      startedAt,
      endedAt: startedAt + 600_000,
      durationSeconds: 600,
      bytesIn: 1_000 * (i + 1),
    });
    minutes.push({
      namespace,
      name: 'news',
      sessionId: `h-${i}`,
      minute: startedAt,
      samples: { a: 60 * i },
      peakViewers: i,
    });
  }
  await writeBatch(pool, {
    sessions: Object.fromEntries(sessions.map((s) => [s.sessionId, s])),
    minutes: Object.fromEntries(minutes.map((m) => [m.sessionId, m])),
  });
  const handler = createStatsHandler({ pool, authorizer, logger, now: () => now, statementTimeoutMs: 500 });
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await pool?.end();
  await db?.destroy();
});

async function get(path: string, token = 'admin'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('the stats handler on PostgreSQL', () => {
  it('answers stats as the queries do, for a namespace and a channel', async () => {
    const r = await get('/stats/v1/namespaces/tenant-a/stats?interval=week');
    expect(r.status).toBe(200);
    const answer = statsAnswerSchema.parse(r.body);
    const from = new Date(answer.from);
    expect(answer).toEqual(
      await queryStats(pool, { namespace: 'tenant-a' }, 'week', from, new Date(now), new Date(now)),
    );
    expect(answer.series).toHaveLength(12);
    expect(answer.totals.sessions).toBe(20);
    const channel = statsAnswerSchema.parse((await get('/stats/v1/namespaces/tenant-b/livestreams/news/stats')).body);
    expect([channel.name, channel.totals.sessions, channel.series.length]).toEqual(['news', 10, 30]);
  });

  it('pages sessions through continue, one namespace only', async () => {
    const seen: string[] = [];
    let next = '/stats/v1/namespaces/tenant-a/sessions?limit=3';
    for (let n = 0; n < 20 && next; n++) {
      const page = sessionsAnswerSchema.parse((await get(next)).body);
      seen.push(...page.items.map((s) => s.sessionId));
      expect(page.items.every((s) => s.namespace === 'tenant-a')).toBe(true);
      next = page.continue ? `/stats/v1/namespaces/tenant-a/sessions?limit=3&continue=${page.continue}` : '';
    }
    const want = Array.from({ length: 30 }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .map((i) => `h-${i}`);
    expect(seen).toEqual(want); // newest first: h-1 started last
    const one = sessionsAnswerSchema.parse((await get('/stats/v1/namespaces/tenant-a/sessions?limit=1')).body);
    expect(one.items[0]).toMatchObject({ sessionId: 'h-1', viewerMinutes: 1, durationSeconds: 600, bytesIn: 2_000 });
  });

  it('refuses a token RBAC does not allow before reading anything', async () => {
    const r = await get('/stats/v1/namespaces/tenant-a/stats', 'tenant-b-user');
    expect(r).toEqual({ status: 403, body: { error: 'Forbidden', message: 'no livestreams in tenant-a' } });
  });

  it('bounds a read by its statement timeout (503)', async () => {
    const locker = await pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE livestream_sessions IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const r = await get('/stats/v1/namespaces/tenant-a/stats');
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ error: 'Timeout' });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect((await get('/stats/v1/namespaces/tenant-a/stats')).status).toBe(200);
  });

  it('answers 503 while the database is down, and 200 again once it is back', async () => {
    await db.stop();
    try {
      const r = await get('/stats/v1/namespaces/tenant-a/sessions');
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ error: 'Unavailable' });
    } finally {
      await db.start();
    }
    let status = 0;
    for (let i = 0; i < 10 && status !== 200; i++) {
      status = (await get('/stats/v1/namespaces/tenant-a/sessions')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 300));
    }
    expect(status).toBe(200);
  });
});
