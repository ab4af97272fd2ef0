// Issue 17's must-shows on the real path: the real operator process (LSO_HISTORY_DATABASE_URL), real Redis, the real
// transcoder run like its pod with ffmpeg publishing into it, and a real PostgreSQL. Sessions appear in the store with
// the figures the transcoder reported; the database stopped for 60 s during two sessions: afterwards both are stored,
// once, with their figures; the operator killed while its write is stuck inside a transaction (the table locked by
// the test): after a restart on the same spool, nothing lost and nothing counted twice.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { group, plural, version, type LiveStream } from '../../../contract/src/api/index.ts';
import { sessionsAnswerSchema, sessionsPath, statsAnswerSchema, statsPath } from '../../../contract/src/stats-api.ts';
import { freePorts } from '../../../hack/cluster/processes.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { startPostgresProcess, type PostgresProcess } from '../../../test/support/postgres-process.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { startTranscoderLikeItsPod, type TranscoderProcess } from '../../../test/support/transcoder-process.ts';
import { sleep } from '../../../test/support/wait-for.ts';
import { readSessions, readViewerMinutes, type StoredSession } from './history-store.ts';

const windowSeconds = 3;
const outageMs = 60_000;

describe('session history through the real operator and transcoder', () => {
  const cluster = useTestCluster('history');
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let redis: RedisProcess;
  let db: PostgresProcess;
  let pool: pg.Pool;
  let spoolDir: string;
  let operator: OperatorProcess;
  let transcoder: TranscoderProcess;
  let publisher: Publisher | undefined;
  let statsUrl: string;
  let statsPort: number;
  const get = () =>
    custom.getNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: cluster.namespace,
      name: 'hist',
    }) as Promise<LiveStream>;
  const whenState = (state: string, timeoutMs: number) =>
    eventually(
      async () => {
        const ls = await get();
        return ls.status?.state === state ? ls : undefined;
      },
      timeoutMs,
      `state ${state}`,
    );
  const startOp = () =>
    startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: {
        LSO_REDIS_URL: redis.url,
        LSO_RESYNC_SECONDS: '30',
        LSO_HISTORY_DATABASE_URL: db.url,
        LSO_HISTORY_SPOOL_DIR: spoolDir,
        LSO_HISTORY_FLUSH_MS: '200',
        LSO_STATS_PORT: String(statsPort),
        LOG_LEVEL: 'info',
      },
    });
  const stored = async (): Promise<StoredSession[]> =>
    readSessions(pool, { namespace: cluster.namespace, name: 'hist' }, 1000);
  const storedOnce = (ids: string[]) =>
    eventually(
      async () => {
        const rows = (await stored().catch(() => [])).filter((s) => ids.includes(s.sessionId));
        return rows.length === ids.length && rows.every((r) => r.endedAt !== null) ? rows : undefined;
      },
      45_000,
      `sessions ${ids.join(', ')} stored and closed`,
    );

  /** A viewer's poll: the master, then its first variant, as a player does. */
  async function watchOnce(): Promise<void> {
    const headers = { 'user-agent': 'history-viewer' };
    const base = `${transcoder.httpUrl}/hls/`;
    const master = await fetch(`${base}master.m3u8`, { headers })
      .then((r) => (r.ok ? r.text() : ''))
      .catch(() => '');
    const variant = master.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
    if (variant)
      await fetch(new URL(variant.trim(), base), { headers }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
  }

  /** One publish session of about `seconds` with one viewer polling the playlists; resolves with its id once Idle. */
  async function session(seconds: number): Promise<string> {
    publisher = startPublisher({ url: transcoder.publishUrl, size: '320x240', fps: 15, gopSeconds: 1, videoKbps: 300 });
    const live = await whenState('Live', 30_000);
    const id = live.status?.session?.id ?? '';
    expect(id).not.toBe('');
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      await watchOnce();
      await sleep(1_000);
    }
    await publisher.stop();
    publisher = undefined;
    await eventually(
      async () => ((await get()).status?.sessions?.some((s) => s.id === id) ? true : undefined),
      (windowSeconds + 15) * 1000,
      `session ${id} ended`,
    );
    return id;
  }

  beforeAll(async () => {
    spoolDir = await mkdtemp(path.join(tmpdir(), 'lso-history-spool-'));
    [statsPort] = (await freePorts('127.0.0.1', 1)) as [number];
    statsUrl = `http://127.0.0.1:${statsPort}`;
    [redis, db] = await Promise.all([startRedisProcess(), startPostgresProcess()]);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => {});
    await applyLiveStreamCrd(cluster.kubectl);
    operator = await startOp();
    await cluster.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({
        apiVersion: `${group}/${version}`,
        kind: 'LiveStream',
        metadata: { name: 'hist', namespace: cluster.namespace },
        spec: {
          ladder: {
            renditions: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 300, fps: 15 }],
            passthrough: false,
          },
          hls: { segmentSeconds: 1 },
          reconnectWindowSeconds: windowSeconds,
        },
      }),
    );
    await whenState('Pending', 15_000);
    transcoder = await startTranscoderLikeItsPod(cluster.kc, cluster.namespace, 'hist');
    await whenState('Idle', 20_000);
  });

  afterAll(async () => {
    await publisher?.kill();
    await transcoder?.stop();
    await operator?.stop();
    await pool?.end();
    await Promise.all([redis?.stop(), db?.destroy()]);
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
  });

  it('stores a session published through the real transcoder with its figures', async () => {
    const id = await session(8);
    const [row] = await storedOnce([id]);
    const status = (await get()).status?.sessions?.find((s) => s.id === id);
    expect(row).toMatchObject({ sessionId: id, namespace: cluster.namespace, name: 'hist', width: 320, height: 240 });
    expect(row!.uid).toBe((await get()).metadata?.uid);
    expect(row!.endReason).toBe(status?.endReason);
    expect(row!.durationSeconds).toBe(status?.durationSeconds);
    expect(row!.durationSeconds).toBeGreaterThanOrEqual(6);
    expect(row!.bytesIn).toBeGreaterThan(50_000);
    expect(row!.bitrateKbps).toBeGreaterThan(50);
    expect(row!.peakViewers).toBeGreaterThanOrEqual(1);
    const minutes = await readViewerMinutes(pool, { namespace: cluster.namespace, name: 'hist' });
    const viewerMinutes = minutes.reduce((a, m) => a + m.viewerMinutes, 0);
    // One viewer for most of ~8 s of session: between a few seconds and the whole session.
    expect(viewerMinutes * 60).toBeGreaterThan(2);
    expect(viewerMinutes * 60).toBeLessThanOrEqual((row!.durationSeconds ?? 0) + windowSeconds + 15);
    console.log(`stored: ${JSON.stringify({ ...row, viewerSeconds: viewerMinutes * 60 })}`);
  });

  it("answers the stored figures on the operator's stats API to a token RBAC lets read the namespace, and no other", async () => {
    const reader = await serviceAccountToken('stats-reader', cluster.namespace);
    const ask = (p: string, token: string) =>
      fetch(`${statsUrl}${p}`, { headers: { authorization: `Bearer ${token}` } });
    const scope = { namespace: cluster.namespace, name: 'hist' };
    const res = await ask(`${statsPath(scope)}?interval=day`, reader);
    expect(res.status).toBe(200);
    const answer = statsAnswerSchema.parse(await res.json());
    const rows = await stored();
    expect(answer.totals.sessions).toBe(rows.length);
    expect(answer.totals.bytesIn).toBe(rows.reduce((a, r) => a + r.bytesIn, 0));
    const sessions = sessionsAnswerSchema.parse(await (await ask(sessionsPath(scope), reader)).json());
    expect(sessions.items.map((i) => i.sessionId)).toEqual(rows.map((r) => r.sessionId));
    // The same token on another namespace: 403; no token, or a made-up one: 401.
    expect((await ask(statsPath({ namespace: 'kube-system' }), reader)).status).toBe(403);
    expect((await fetch(`${statsUrl}${statsPath(scope)}`)).status).toBe(401);
    expect((await ask(statsPath(scope), 'not-a-token')).status).toBe(401);
  });

  it(`stores both sessions of a ${outageMs / 1000} s database outage once, with their figures`, async () => {
    await db.stop();
    const stoppedAt = Date.now();
    const first = await session(6);
    const second = await session(6);
    const metrics = await operator.metrics();
    expect(metrics).toMatch(/livestream_operator_history_pending_rows [1-9]/);
    await sleep(Math.max(0, outageMs - (Date.now() - stoppedAt)));
    await db.start();
    const restartedAt = Date.now();
    const rows = await storedOnce([first, second]);
    console.log(
      `both sessions stored ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the database came back`,
    );
    const statusSessions = (await get()).status?.sessions ?? [];
    for (const row of rows) {
      const s = statusSessions.find((x) => x.id === row.sessionId);
      expect(row.durationSeconds).toBe(s?.durationSeconds);
      expect(row.bytesIn).toBeGreaterThan(0);
      expect(row.width).toBe(320);
    }
    const { rows: dup } = await pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM livestream_sessions WHERE session_id = ANY($1)',
      [[first, second]],
    );
    expect(Number(dup[0]!.n)).toBe(2);
    await eventually(
      async () => (/livestream_operator_history_pending_rows 0\b/.test(await operator.metrics()) ? true : undefined),
      10_000,
      'nothing pending',
    );
    expect(await operator.metrics()).toMatch(/livestream_operator_history_rows_dropped_total 0\b/);
  });

  it('loses nothing and counts nothing twice when the operator is killed while its write is stuck', async () => {
    const before = await stored();
    const viewerSecondsBefore = await totalViewerSeconds();
    // Hold the sessions table: the operator's next write transaction blocks inside its upsert.
    const locker = await pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE livestream_sessions IN ACCESS EXCLUSIVE MODE');
      const id = await session(6);
      await eventually(
        async () => {
          const { rows } = await pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'livestream-operator'
             AND wait_event_type = 'Lock'`,
          );
          return Number(rows[0]!.n) > 0 ? true : undefined;
        },
        10_000,
        "the operator's write waiting on the lock",
      );
      await operator.kill();
      await locker.query('ROLLBACK');
      operator = await startOp();
      const [row] = await storedOnce([id]);
      expect(row!.durationSeconds).toBe((await get()).status?.sessions?.find((s) => s.id === id)?.durationSeconds);
    } finally {
      locker.release();
    }
    const after = await stored();
    // The earlier sessions are unchanged, and there is exactly one more.
    expect(after.length).toBe(before.length + 1);
    for (const b of before) expect(after.find((a) => a.sessionId === b.sessionId)).toEqual(b);
    // The viewing of the earlier sessions is not counted again by the replay.
    const earlier = await totalViewerSeconds(before.map((b) => b.sessionId));
    expect(earlier).toBeCloseTo(viewerSecondsBefore, 6);
  });

  /** A ServiceAccount of `namespace` that may get its LiveStreams (a Role, as a tenant gets), and a token of it. */
  async function serviceAccountToken(name: string, namespace: string): Promise<string> {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name }, rules: [{ apiGroups: [group], resources: [plural], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    });
    const tr = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { expirationSeconds: 600 } },
    });
    return tr.status?.token ?? '';
  }

  async function totalViewerSeconds(sessions?: string[]): Promise<number> {
    const { rows } = await pool.query<{ s: number | null }>(
      `SELECT sum(viewer_seconds)::float8 AS s FROM livestream_viewer_minutes
       WHERE namespace = $1 AND ($2::text[] IS NULL OR session_id = ANY($2))`,
      [cluster.namespace, sessions ?? null],
    );
    return rows[0]?.s ?? 0;
  }
});
