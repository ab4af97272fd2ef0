// `kubectl livestream stats` and `sessions` against the real stats API: the real operator process serving it
// (LSO_STATS_PORT) over a real PostgreSQL, its history written from reports a channel sends through a real Redis
// (as a transcoder pod would), the caller's ServiceAccount token judged by the real API server (TokenReview,
// SubjectAccessReview). The plugin prints the same figures as the API's JSON; a token without RBAC on the
// namespace is refused in one line.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sessionsAnswerSchema,
  sessionsPath,
  statsAnswerSchema,
  statsPath,
  type StatsAnswer,
} from '../../contract/src/stats-api.ts';
import { applyLiveStreamCrd } from '../../test/support/livestream-crd.ts';
import { liveStreams } from '../../test/support/livestreams.ts';
import { eventually, startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { startPostgresProcess, type PostgresProcess } from '../../test/support/postgres-process.ts';
import { pickFreePort, startRedisProcess, type RedisProcess } from '../../test/support/redis-process.ts';
import {
  channelSecretUrl,
  connectWhenAccepted,
  liveHeartbeat,
  reportWriter,
} from '../../test/support/report-writer.ts';
import { useTestCluster } from '../../test/support/test-namespace.ts';
import { sleep } from '../../test/support/wait-for.ts';
import { bytes, figure, hms } from './format.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'kubectl-livestream');

const plugin = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(bin, args, { env: { PATH: process.env.PATH, HOME: tmpdir() }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });

describe('kubectl livestream against the real stats API', () => {
  const cluster = useTestCluster('kplugin-stats');
  const streams = liveStreams(cluster);
  const ns = () => cluster.namespace;
  let redis: RedisProcess;
  let db: PostgresProcess;
  let operator: OperatorProcess;
  let channel: Redis | undefined;
  let dir: string;
  let statsUrl: string;
  let readerConfig: string;
  let outsiderConfig: string;
  let readerToken: string;
  // An explicit range, so the plugin and the test ask the same question (the default range ends "now").
  const range = {
    from: new Date(Date.now() - 86_400_000).toISOString(),
    to: new Date(Date.now() + 86_400_000).toISOString(),
  };

  /** A kubeconfig whose user is a token of ServiceAccount `sa` and whose context names the suite's namespace. */
  const tokenKubeconfig = async (sa: string): Promise<{ file: string; token: string }> => {
    await cluster.kubectl(['create', 'serviceaccount', sa, '-n', ns()]);
    const token = (await cluster.kubectl(['create', 'token', sa, '-n', ns(), '--duration', '10m'])).trim();
    const admin = new KubeConfig();
    admin.loadFromFile(cluster.kubeconfig);
    const kc = new KubeConfig();
    const server = admin.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: [server],
      users: [{ name: sa, token }],
      contexts: [{ name: sa, cluster: server.name, user: sa, namespace: ns() }],
      currentContext: sa,
    });
    const file = join(dir, `${sa}.kubeconfig`);
    await writeFile(file, kc.exportConfig(), { mode: 0o600 });
    return { file, token };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kplugin-stats-'));
    [redis, db] = await Promise.all([startRedisProcess(), startPostgresProcess()]);
    await applyLiveStreamCrd(cluster.kubectl);
    const port = await pickFreePort();
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: ns(),
      env: {
        LSO_REDIS_URL: redis.url,
        LSO_RESYNC_SECONDS: '30',
        LSO_HISTORY_DATABASE_URL: db.url,
        LSO_HISTORY_SPOOL_DIR: join(dir, 'spool'),
        LSO_HISTORY_FLUSH_MS: '200',
        LSO_STATS_PORT: String(port),
        LOG_LEVEL: 'info',
      },
    });
    statsUrl = `http://127.0.0.1:${port}`;
    // RBAC: the reader may get livestreams in the namespace, the outsider nothing.
    await cluster.kubectl([
      'create',
      'role',
      'stats-reader',
      '-n',
      ns(),
      '--verb=get',
      '--resource=livestreams.streaming.livestream-operator.dev',
    ]);
    await cluster.kubectl([
      'create',
      'rolebinding',
      'stats-reader',
      '-n',
      ns(),
      '--role=stats-reader',
      `--serviceaccount=${ns()}:reader`,
    ]);
    ({ file: readerConfig, token: readerToken } = await tokenKubeconfig('reader'));
    ({ file: outsiderConfig } = await tokenKubeconfig('outsider'));

    // One session of channel "show", reported as its transcoder pod would: 2 viewers, then 3, then it ends.
    await streams.apply('show', { reconnectWindowSeconds: 0 });
    channel = await connectWhenAccepted(await channelSecretUrl(cluster.kc.makeApiClient(CoreV1Api), ns(), 'show'));
    const writer = reportWriter(channel, ns(), 'show');
    const session = `s-${Date.now()}`;
    await writer.report('publish-started', session, { resumed: false, videoCodec: 'h264', width: 640, height: 360 });
    for (let n = 1; n <= 4; n++) {
      await sleep(1_000);
      await writer.report('heartbeat', session, liveHeartbeat(n, { viewers: n < 3 ? 2 : 3, bytesIn: n * 400_000 }));
    }
    await writer.report('publish-ended', session, { reconnectWindowSeconds: 0, bytesIn: 1_600_000 });
    await writer.report('session-ended', session, {
      duration: 4,
      bytesIn: 1_600_000,
      peakViewers: 3,
      reason: 'window-expired',
    });
  }, 180_000);

  afterAll(async () => {
    channel?.disconnect();
    await operator?.stop();
    await Promise.all([redis?.stop(), db?.destroy()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const api = async (path: string, query: Record<string, string>): Promise<unknown> => {
    const res = await fetch(`${statsUrl}${path}?${new URLSearchParams(query).toString()}`, {
      headers: { authorization: `Bearer ${readerToken}` },
    });
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    return res.json();
  };
  const asReader = (...args: string[]) => plugin([...args, '--kubeconfig', readerConfig, '--stats-url', statsUrl]);

  it('stats prints the same figures as the API answers, in the table and as JSON', async () => {
    const query = { interval: 'day', ...range };
    const fromApi: StatsAnswer = await eventually(
      async () => {
        const a = statsAnswerSchema.parse(await api(statsPath({ namespace: ns(), name: 'show' }), query));
        // Closed: its 4 s duration (a session still open counts up to now, so the two reads would differ).
        return a.totals.sessions === 1 && a.totals.viewerMinutes > 0 && a.totals.liveSeconds === 4 ? a : undefined;
      },
      60_000,
      'the ended session in the stats API',
    );
    const json = await asReader('stats', 'show', '--from', range.from, '--to', range.to, '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(fromApi);

    const table = await asReader('stats', 'show', '--from', range.from, '--to', range.to);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{3,}/));
    expect(rows[0]).toEqual(['START', 'SESSIONS', 'LIVE', 'VIEWER-MINUTES', 'PEAK', 'BYTES-IN']);
    const t = fromApi.totals;
    expect(rows.at(-1)).toEqual([
      'TOTAL',
      String(t.sessions),
      hms(t.liveSeconds),
      figure(t.viewerMinutes),
      String(t.peakViewers),
      bytes(t.bytesIn),
    ]);
    expect(rows.slice(1, -1).map((r) => r[1])).toEqual(fromApi.series.map((b) => String(b.sessions)));
    expect(t).toMatchObject({ sessions: 1, peakViewers: 3 });

    const all = await asReader(
      'stats',
      '--all',
      '--interval',
      'month',
      '--from',
      range.from,
      '--to',
      range.to,
      '-o',
      'json',
    );
    expect(JSON.parse(all.stdout)).toEqual(
      statsAnswerSchema.parse(await api(statsPath({ namespace: ns() }), { interval: 'month', ...range })),
    );
  });

  it('sessions prints the stored session as the API lists it', async () => {
    const fromApi = sessionsAnswerSchema.parse(
      await api(sessionsPath({ namespace: ns(), name: 'show' }), { limit: '50' }),
    );
    expect(fromApi.items).toHaveLength(1);
    const s = fromApi.items[0]!;
    const run = await asReader('sessions', 'show');
    expect(run.code, run.stderr).toBe(0);
    const rows = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{3,}/));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toEqual([
      s.sessionId,
      new Date(s.startedAt).toISOString().replace('.000Z', 'Z'),
      hms(s.durationSeconds ?? 0),
      s.endReason,
      'h264 640x360',
      String(s.peakViewers),
      s.averageViewers === null ? '<none>' : figure(s.averageViewers),
    ]);
  });

  it('refuses a token RBAC does not let read the namespace, in one line', async () => {
    const run = await plugin(['stats', 'show', '--kubeconfig', outsiderConfig, '--stats-url', statsUrl]);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toMatch(/^error: the stats API answered 403: .*\n$/);
  });
});
