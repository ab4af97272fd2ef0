// bench-stats: the stats API's answer times from a history of 100,000 sessions; prints ONE JSON line.
//
// A throwaway PostgreSQL (test/support/postgres-process.ts), the history's migrations (migrateHistory), then seeded
// in SQL (generate_series): BENCH_SESSIONS sessions round-robin over 50 channels in 5 namespaces, evenly over the
// last 13 months, 1 to 40 minutes each (the newest of each channel still live), and one viewer-minute row per minute
// of each. VACUUM ANALYZE after (autovacuum's work in production). Then the real handler (createStatsHandler) on an
// HTTP server on 127.0.0.1 and BENCH_REQUESTS sequential requests per kind over keep-alive: stats by day, week and
// month (their default ranges: 30 days, 12 weeks, 12 months up to now) for a channel and for a namespace, and
// sessions pages (limit 50, following `continue` 5 pages deep) of a channel and a namespace; channels and namespaces
// picked at random. Every answer is checked against the contract's schema.
// The authorizer says allowed at no cost: in production the TokenReview and SubjectAccessReview are the kube
// authorizer's (kube-authorizer.ts), not part of this figure.
// usage: node bench/stats.ts   env: BENCH_SESSIONS=100000 BENCH_REQUESTS=200 BENCH_EXPLAIN=1 (plans to stderr)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import pg from 'pg';
import { createLogger } from '../contract/src/logger.ts';
import { sessionsAnswerSchema, statsAnswerSchema, type StatsScope } from '../contract/src/stats-api.ts';
import { sessionsPath, statsPath } from '../contract/src/stats-api.ts';
import { migrateHistory } from '../operator/src/history/history-store.ts';
import type { StatsAuthorizer } from '../operator/src/stats/authorizer.ts';
import { createStatsHandler } from '../operator/src/stats/stats-handler.ts';
import { startPostgresProcess, type PostgresProcess } from '../test/support/postgres-process.ts';

const env = (name: string, fallback: number): number => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (got ${process.env[name]})`);
  return n;
};
const sessions = env('BENCH_SESSIONS', 100_000);
const requests = env('BENCH_REQUESTS', 200);
const namespaces = 5;
const channels = 50;
const days = 395;
const log = (message: string): void => void process.stderr.write(`[bench-stats] ${message}\n`);
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;
const logger = createLogger('bench-stats', 'warn');

// Session i: channel i % 50 (namespace channel % 5), started i * spacing after the first (plus up to 5 minutes of
// jitter), 60 to 2,400 s long; the newest session of each channel is still live. Its minute k has
// 1 + i % 40 + k % 7 viewers all minute long (60 viewer-seconds each), peaking one or two above.
const seedSessions = `
INSERT INTO livestream_sessions (session_id, namespace, name, started_at, ended_at, duration_seconds, end_reason,
  video_codec, audio_codec, width, height, bitrate_kbps, bytes_in, peak_viewers)
SELECT 'bench-' || i, 'ns-' || (i % $2 % $3), 'ch-' || (i % $2), t.start, t.ended, t.duration,
  CASE WHEN t.ended IS NULL THEN NULL ELSE 'PublisherLeft' END, 'h264', 'aac', 1280, 720, 2500,
  coalesce(t.duration, 0)::bigint * 312500, 3 + i % 40 + 6
FROM generate_series(0, $1 - 1) AS i,
  LATERAL (SELECT $4::timestamptz + (i * $5::float8 + (i * 7919) % 300) * interval '1 second' AS start,
    (60 + (i::bigint * 104729) % 2341)::int AS d) AS s,
  LATERAL (SELECT s.start, CASE WHEN i >= $1 - $2 THEN NULL ELSE s.start + s.d * interval '1 second' END AS ended,
    CASE WHEN i >= $1 - $2 THEN NULL ELSE s.d END AS duration) AS t`;
const seedMinutes = `
INSERT INTO livestream_viewer_minutes (namespace, name, minute, session_id, viewer_seconds, peak_viewers, samples)
SELECT s.namespace, s.name, date_trunc('minute', s.started_at) + k * interval '1 minute', s.session_id,
  60 * v.n, v.n + 1 + k % 2, jsonb_build_object('0', 60 * v.n)
FROM livestream_sessions s,
  LATERAL generate_series(0, (extract(epoch FROM coalesce(s.ended_at, now()) - date_trunc('minute', s.started_at)) / 60)::int - 1) AS k,
  LATERAL (SELECT 1 + substr(s.session_id, 7)::int % 40 + k % 7 AS n) AS v`;

async function seed(
  pool: pg.Pool,
  t0: Date,
): Promise<{ seconds: number; steps: Record<string, number>; minutes: number; rollup: number }> {
  const started = performance.now();
  const spacing = (days * 86_400) / sessions;
  const steps: Record<string, number> = {};
  const step = async (name: string, sql: string, params: unknown[] = []): Promise<void> => {
    const t = performance.now();
    await pool.query(sql, params);
    steps[name] = round((performance.now() - t) / 1000);
  };
  await step('sessions', seedSessions, [sessions, channels, namespaces, t0, spacing]);
  await step('viewerMinutes', seedMinutes);
  await step('vacuumAnalyze', 'VACUUM ANALYZE livestream_sessions, livestream_viewer_minutes, livestream_stats_days');
  const count = async (table: string): Promise<number> =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  return {
    seconds: round((performance.now() - started) / 1000),
    steps,
    minutes: await count('livestream_viewer_minutes'),
    rollup: await count('livestream_stats_days'),
  };
}

/** Tiny seeded PRNG (mulberry32): the same picks every run. */
function random(seedValue: number): () => number {
  let a = seedValue;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Kind = {
  name: string;
  next: (pick: () => number) => string;
  schema: typeof statsAnswerSchema | typeof sessionsAnswerSchema;
};

function scopeOf(pick: () => number, channel: boolean): StatsScope {
  const c = Math.floor(pick() * channels);
  return channel ? { namespace: `ns-${c % namespaces}`, name: `ch-${c}` } : { namespace: `ns-${c % namespaces}` };
}

function statsKind(interval: string, channel: boolean): Kind {
  return {
    name: `${interval}-${channel ? 'channel' : 'namespace'}`,
    next: (pick) => `${statsPath(scopeOf(pick, channel))}?interval=${interval}`,
    schema: statsAnswerSchema,
  };
}

/** Sessions pages: a first page, then the pages its `continue` leads to, 5 deep, then another scope. */
function sessionsKind(channel: boolean, lastContinue: { path?: string; token?: string; depth: number }): Kind {
  return {
    name: `sessions-${channel ? 'channel' : 'namespace'}`,
    next: (pick) => {
      if (lastContinue.path && lastContinue.token && lastContinue.depth < 5) {
        lastContinue.depth++;
        return `${lastContinue.path}?limit=50&continue=${lastContinue.token}`;
      }
      lastContinue.path = sessionsPath(scopeOf(pick, channel));
      lastContinue.depth = 0;
      return `${lastContinue.path}?limit=50`;
    },
    schema: sessionsAnswerSchema,
  };
}

function percentiles(ms: number[]): { p50: number; p95: number; max: number; n: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: round(at(0.5)), p95: round(at(0.95)), max: round(s.at(-1)!), n: s.length };
}

async function measure(base: string): Promise<Record<string, ReturnType<typeof percentiles>>> {
  const pages = { channel: { depth: 0 }, namespace: { depth: 0 } } as Record<
    string,
    { path?: string; token?: string; depth: number }
  >;
  const kinds: Kind[] = [
    ...['day', 'week', 'month'].flatMap((i) => [statsKind(i, true), statsKind(i, false)]),
    sessionsKind(true, pages.channel!),
    sessionsKind(false, pages.namespace!),
  ];
  const pick = random(17);
  const times: Record<string, number[]> = {};
  const headers = { authorization: 'Bearer bench-token' };
  for (const kind of kinds) await fetch(base + kind.next(pick), { headers }).then((r) => r.arrayBuffer()); // warm up
  for (let n = 0; n < requests; n++) {
    for (const kind of kinds) {
      const path = kind.next(pick);
      const started = performance.now();
      const res = await fetch(base + path, { headers });
      const body: unknown = await res.json();
      (times[kind.name] ??= []).push(performance.now() - started);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      const parsed = kind.schema.parse(body);
      if ('items' in parsed) {
        const state = pages[kind.name.endsWith('channel') ? 'channel' : 'namespace']!;
        state.token = parsed.continue;
      }
    }
  }
  const all = Object.values(times).flat();
  return {
    ...Object.fromEntries(Object.entries(times).map(([k, v]) => [k, percentiles(v)])),
    overall: percentiles(all),
  };
}

async function explain(pool: pg.Pool): Promise<void> {
  // The plans of the heaviest answers, as the handler runs them (auto_explain would need a server setting).
  const { queryStats } = await import('../operator/src/stats/stats-queries.ts');
  const client = await pool.connect();
  try {
    await client.query("LOAD 'auto_explain'").catch(() => log('auto_explain not loadable: no plans'));
    for (const set of ['log_min_duration = 0', 'log_analyze = on', 'log_buffers = on', 'log_level = notice'])
      await client.query(`SET auto_explain.${set}`);
    client.on('notice', (m) => log(String(m.message)));
    const to = new Date();
    const from = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - 11, 1));
    await queryStats(client, { namespace: 'ns-0' }, 'month', from, to);
  } finally {
    client.release();
  }
}

let db: PostgresProcess | undefined;
let server: Server | undefined;
let pool: pg.Pool | undefined;
try {
  db = await startPostgresProcess();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {});
  const client = await pool.connect();
  await migrateHistory(client, logger).finally(() => client.release());
  const now = new Date();
  const t0 = new Date(now.getTime() - days * 86_400_000 - 3_600_000);
  log(`seeding ${sessions} sessions over ${days} days`);
  const seeded = await seed(pool, t0);
  log(`seeded in ${seeded.seconds} s: ${seeded.minutes} viewer-minute rows, ${seeded.rollup} daily rollup rows`);
  const authorizer: StatsAuthorizer = { authorize: () => Promise.resolve({ outcome: 'allowed', user: 'bench' }) };
  server = createServer(createStatsHandler({ pool, authorizer, logger }));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (process.env.BENCH_EXPLAIN) await explain(pool);
  const started = performance.now();
  const latency = await measure(base);
  const result = {
    sessionsSeeded: sessions,
    viewerMinuteRows: seeded.minutes,
    rollupRows: seeded.rollup,
    channels,
    namespaces,
    days,
    seedSeconds: seeded.seconds,
    seedStepSeconds: seeded.steps,
    requestsPerKind: requests,
    measureSeconds: round((performance.now() - started) / 1000),
    latencyMs: latency,
    targetP95Ms: 50,
    p95UnderTarget: Object.values(latency).every((k) => k.p95 < 50),
    loadAverage1m: round(loadavg()[0]!),
    cores: availableParallelism(),
    authorizer:
      'allowed at no cost (production: TokenReview + SubjectAccessReview in kube-authorizer.ts, not in this figure)',
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  if (server) await new Promise((r) => server!.close(r));
  await pool?.end();
  await db?.destroy();
}
