// The history dashboard's SQL against a real PostgreSQL started by the chart image's own entrypoint
// (hack/images/postgres-entrypoint.sh) with Debian's binaries: initdb with the passwords from files, the owner role the
// operator migrates and writes as (operator/src/history/history-store.ts migrateHistory), and the read-only role the
// Grafana data source logs in as. Every panel's and variable's query runs as that role, its Grafana macros expanded,
// over a few sessions in two namespaces, and answers what its panel shows (the per-day figures from the daily rollup
// the migrations' triggers keep, so the seeded rows go through them too).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../contract/src/logger.ts';
import { migrateHistory } from '../../operator/src/history/history-store.ts';
import { postgresBinDir } from '../../test/support/postgres-process.ts';
import { pickFreePort } from '../../test/support/redis-process.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { chartDir, repo } from './chart-tools.ts';

interface Target {
  rawSql: string;
  format: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  targets: Target[];
}
interface HistoryDashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; multi?: boolean; includeAll?: boolean }[] };
}

const dashboardPath = path.join(chartDir, 'files', 'dashboards', 'history', 'livestream-history.json');
const entrypoint = path.join(repo, 'hack', 'images', 'postgres-entrypoint.sh');
const seededRange = { from: '2026-11-01T00:00:00Z', to: '2026-12-02T00:00:00Z' };

/** Grafana's SQL macros and variables as Grafana expands them (a multi-value variable: quoted, comma-separated). */
function expandGrafanaSql(sql: string, vars: Record<string, string[]>, range = seededRange): string {
  const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;
  return sql
    .replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_, col: string) => `${col.trim()} BETWEEN '${range.from}' AND '${range.to}'`,
    )
    .replaceAll('$__timeFrom()', `'${range.from}'`)
    .replaceAll('$__timeTo()', `'${range.to}'`)
    .replace(/\$\{?([a-zA-Z_]\w*)\}?/g, (whole, name: string) => {
      const values = vars[name];
      if (values === undefined) throw new Error(`unknown variable ${whole} in ${sql}`);
      return values.map(quote).join(',');
    });
}

/** Root runs the server as Debian's `postgres` user (PostgreSQL refuses root), as test/support/postgres-process.ts. */
function serverIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

let dashboard: HistoryDashboard;
let dir: string;
let server: ChildProcess | undefined;
let serverLog = '';
let owner: pg.Client;
let reader: pg.Client;
const passwords = { owner: `o'${randomBytes(12).toString('hex')}`, reader: randomBytes(12).toString('hex') };

async function connect(user: string, password: string, port: number): Promise<pg.Client> {
  return waitFor(
    `PostgreSQL accepting ${user}`,
    async () => {
      const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'livestream' });
      c.on('error', () => {});
      try {
        await c.connect();
        return c;
      } catch (err) {
        await c.end().catch(() => {});
        throw err;
      }
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      abort: () => (server?.exitCode === null ? undefined : `postgres-entrypoint exited: ${serverLog}`),
    },
  );
}

beforeAll(async () => {
  dashboard = JSON.parse(await readFile(dashboardPath, 'utf8')) as HistoryDashboard;
  dir = await mkdtemp(path.join(tmpdir(), 'lso-history-dashboard-'));
  const ids = serverIds();
  await mkdir(path.join(dir, 'secrets'), { mode: 0o700 });
  await writeFile(path.join(dir, 'secrets', 'password'), `${passwords.owner}\n`, { mode: 0o600 });
  await writeFile(path.join(dir, 'secrets', 'grafana-password'), passwords.reader, { mode: 0o600 });
  if (ids) {
    for (const p of [dir, 'secrets', 'secrets/password', 'secrets/grafana-password']) {
      await chown(path.resolve(dir, p), ids.uid, ids.gid);
    }
  }
  await mkdir(path.join(dir, 'data'));
  if (ids) await chown(path.join(dir, 'data'), ids.uid, ids.gid);
  const port = await pickFreePort();
  server = spawn('sh', [entrypoint, '-c', `port=${port}`, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], {
    ...ids,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: `${postgresBinDir()}:/usr/bin:/bin`,
      PGDATA: path.join(dir, 'data', 'pgdata'),
      POSTGRES_PASSWORD_FILE: path.join(dir, 'secrets', 'password'),
      LSO_POSTGRES_READONLY_USER: 'grafana',
      LSO_POSTGRES_READONLY_PASSWORD_FILE: path.join(dir, 'secrets', 'grafana-password'),
      LC_ALL: 'C',
    },
  });
  server.stderr?.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-4_000)));
  owner = await connect('livestream', passwords.owner, port);
  await migrateHistory(owner, createLogger('history-dashboard-test', 'warn'));
  await seed(owner);
  reader = await connect('grafana', passwords.reader, port);
}, 120_000);

afterAll(async () => {
  await reader?.end().catch(() => {});
  await owner?.end().catch(() => {});
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGINT');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Three sessions of `news` (two days, one ongoing), one of `studio/talk`, one outside the range. */
async function seed(c: pg.Client): Promise<void> {
  const session = (id: string, ns: string, name: string, start: string, seconds: number | null, peak: number) =>
    c.query(
      `INSERT INTO livestream_sessions (session_id, namespace, name, started_at, ended_at, duration_seconds,
         end_reason, video_codec, audio_codec, width, height, bitrate_kbps, bytes_in, peak_viewers, average_viewers)
       VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz + make_interval(secs => $5::int), $5::int, $6, 'h264',
         'aac', 1280, 720, 3000, 1000000, $7::int, $7::int / 2.0)`,
      [id, ns, name, start, seconds, seconds === null ? null : 'publisher-left', peak],
    );
  const minute = (ns: string, name: string, at: string, sessionId: string, viewerSeconds: number) =>
    c.query(
      `INSERT INTO livestream_viewer_minutes (namespace, name, minute, session_id, viewer_seconds, peak_viewers,
         samples) VALUES ($1, $2, $3, $4, $5, 3, '{}')`,
      [ns, name, at, sessionId, viewerSeconds],
    );
  await session('s1', 'news', 'main', '2026-11-20T10:00:00Z', 3600, 5);
  await session('s2', 'news', 'main', '2026-11-20T18:00:00Z', 1800, 9);
  await session('s3', 'news', 'backup', '2026-11-21T09:00:00Z', 7200, 2);
  await session('s4', 'studio', 'talk', '2026-11-21T12:00:00Z', 600, 1);
  await session('old', 'news', 'main', '2026-10-01T00:00:00Z', 60, 50);
  await minute('news', 'main', '2026-11-20T10:00:00Z', 's1', 240);
  await minute('news', 'main', '2026-11-20T10:01:00Z', 's1', 300);
  await minute('news', 'backup', '2026-11-21T09:00:00Z', 's3', 120);
  await minute('studio', 'talk', '2026-11-21T12:00:00Z', 's4', 6000);
  await minute('news', 'main', '2026-10-01T00:00:00Z', 'old', 60_000);
}

const panel = (title: string): Panel => {
  const p = dashboard.panels.find((x) => x.title === title);
  if (!p) throw new Error(`no panel "${title}"`);
  return p;
};
const run = async (p: Panel, namespaces: string[]) =>
  (await reader.query(expandGrafanaSql(p.targets[0]?.rawSql ?? '', { namespace: namespaces }))).rows as Record<
    string,
    unknown
  >[];

describe('the history dashboard on a real PostgreSQL, as the read-only Grafana role', () => {
  it('has the panels a streaming team asks for, each on the PostgreSQL data source variable', () => {
    expect(dashboard.uid).toBe('livestream-history');
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
    ]);
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of [
      'Sessions per day',
      'Live hours per day',
      'Viewer-minutes per day',
      'Top channels by viewer-minutes',
      'Recent sessions',
    ]) {
      expect(titles).toContain(t);
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t.datasource, p.title).toEqual({ type: 'grafana-postgresql-datasource', uid: '${datasource}' });
        expect(t.rawSql, p.title).toContain('namespace IN ($namespace)');
      }
    }
  });

  it('runs every query (panels and the namespace variable) without error, reading only the tables it may', async () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'namespace');
    const namespaces = (await reader.query(String(variable?.query))).rows.map(
      (r: { namespace: string }) => r.namespace,
    );
    expect(namespaces).toEqual(['news', 'studio']);
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const rows = (await reader.query(expandGrafanaSql(t.rawSql, { namespace: namespaces }))).rows;
        expect(rows.length, p.title).toBeGreaterThan(0);
        if (t.format === 'time_series') expect(Object.keys(rows[0] ?? {}), p.title).toContain('time');
      }
    }
    // The role reads; it cannot write, even to the tables it reads.
    await expect(reader.query("DELETE FROM livestream_sessions WHERE session_id = 's1'")).rejects.toThrow(
      /read-only transaction/,
    );
  });

  it('counts sessions, live hours and viewer-minutes per UTC day within the range and namespaces', async () => {
    const days = (rows: Record<string, unknown>[], col: string) =>
      rows.map((r) => [(r.time as Date).toISOString().slice(0, 10), Number(r[col])]);
    expect(days(await run(panel('Sessions per day'), ['news']), 'sessions')).toEqual([
      ['2026-11-20', 2],
      ['2026-11-21', 1],
    ]);
    expect(days(await run(panel('Live hours per day'), ['news', 'studio']), 'live hours')).toEqual([
      ['2026-11-20', 1.5],
      ['2026-11-21', 7800 / 3600],
    ]);
    expect(days(await run(panel('Viewer-minutes per day'), ['news']), 'viewer-minutes')).toEqual([
      ['2026-11-20', 9],
      ['2026-11-21', 2],
    ]);
    expect(Number((await run(panel('Sessions'), ['news', 'studio']))[0]?.sessions)).toBe(4);
    expect(Number((await run(panel('Peak viewers'), ['news']))[0]?.['peak viewers'])).toBe(9);
  });

  it('ranks the channels by viewer-minutes and lists the recent sessions newest first', async () => {
    const top = await run(panel('Top channels by viewer-minutes'), ['news', 'studio']);
    expect(top.map((r) => [r.channel, Number(r['viewer-minutes'])])).toEqual([
      ['studio/talk', 100],
      ['news/main', 9],
      ['news/backup', 2],
    ]);
    const recent = await run(panel('Recent sessions'), ['news']);
    expect(recent.map((r) => r.channel)).toEqual(['backup', 'main', 'main']);
    expect(recent[0]).toMatchObject({ namespace: 'news', resolution: '1280x720', 'end reason': 'publisher-left' });
  });

  it('counts an ongoing session up to now', async () => {
    await owner.query(
      `INSERT INTO livestream_sessions (session_id, namespace, name, started_at)
       VALUES ('live', 'ongoing', 'now', now() - interval '2 hours')`,
    );
    const lastDay = { from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() };
    const sql = expandGrafanaSql(panel('Live hours').targets[0]?.rawSql ?? '', { namespace: ['ongoing'] }, lastDay);
    const hours = Number((await reader.query(sql)).rows[0]?.['live hours']);
    expect(hours).toBeGreaterThan(1.99);
    expect(hours).toBeLessThan(2.1);
  });
});
