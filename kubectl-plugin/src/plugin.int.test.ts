// `kubectl livestream` as kubectl runs it: the bin wrapper as a child process, against a real kube-apiserver and the
// real operator (which writes the LiveStream's status and generated stream key Secret and turns a changed key into
// a rotation). url, key and key --rotate read and write the real objects; token is verified with the contract's
// verify. stats and sessions talk to a small HTTP server here that answers in the contract's shapes and checks the
// path and the bearer token (a real ServiceAccount token from a kubeconfig user; a certificate-only user is refused).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playbackKeyFromPem, playbackKeyStore, verifyPlaybackToken } from '../../contract/src/playback-token.ts';
import {
  parseStatsPath,
  sessionsAnswerSchema,
  statsAnswerSchema,
  type SessionsAnswer,
  type StatsAnswer,
  type StatsSession,
} from '../../contract/src/stats-api.ts';
import { applyLiveStreamCrd } from '../../test/support/livestream-crd.ts';
import { liveStreams } from '../../test/support/livestreams.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { useTestCluster } from '../../test/support/test-namespace.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'kubectl-livestream');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the plugin as kubectl would (no KUBECONFIG or plugin variables from the test's environment). */
const plugin = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      bin,
      args,
      { env: { PATH: process.env.PATH, HOME: tmpdir(), ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

describe('kubectl livestream against a real API server', () => {
  const cluster = useTestCluster('kplugin');
  const streams = liveStreams(cluster);
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const ns = () => cluster.namespace;
  const asAdmin = (...args: string[]) => plugin([...args, '--kubeconfig', cluster.kubeconfig, '-n', ns()]);
  let operator: OperatorProcess;

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: ns(),
      env: { LSO_RESYNC_SECONDS: '3600', LSO_TRANSCODER_IMAGE: 'livestream-transcoder:test' },
    });
    await streams.apply('show', { audience: { visibility: 'private' } });
    await streams.until('show', 'the operator to write the addresses', (ls) => ls.status?.ingest?.url);
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
  });

  it('url prints the addresses in status as a table, JSON and YAML', async () => {
    const ls = await streams.get('show');
    const table = await asAdmin('url', 'show');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ENDPOINT\s{3,}URL$/);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ingest\\s+${ls.status!.ingest!.url!}$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^playback\\s+${ls.status!.playback!.url!}$`)));
    const json = JSON.parse((await asAdmin('url', 'show', '-o', 'json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      namespace: ns(),
      name: 'show',
      ingest: ls.status!.ingest!.url,
      playback: ls.status!.playback!.url,
    });
    expect(parseYaml((await asAdmin('url', 'show', '-o', 'yaml')).stdout)).toEqual(json);
  });

  it('fails in one line on stderr with exit 1 for a missing LiveStream and a bad flag', async () => {
    const missing = await asAdmin('url', 'nothing');
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: livestream nothing not found in namespace ${ns()}\n`,
    });
    const bad = await asAdmin('key', 'show', '--grace', '5m');
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'error: --grace and --wait go with --rotate\n' });
  });

  it('key shows the generated key, and --rotate writes a new one the operator rotates to, with the grace asked', async () => {
    const secretName = await streams.until('show', 'the stream key Secret', (ls) => ls.status?.ingest?.streamKeySecret);
    expect(secretName).toBe('show-stream-key');
    const stored = unb64((await core.readNamespacedSecret({ name: secretName, namespace: ns() })).data?.streamKey);
    const shown = JSON.parse((await asAdmin('key', 'show', '-o', 'json')).stdout) as { streamKey: string };
    expect(shown).toMatchObject({ secret: secretName, secretKey: 'streamKey', streamKey: stored });
    expect((await asAdmin('key', 'show')).stdout).toContain(`${secretName}/streamKey   ${stored}`);

    const before = Date.now();
    const rotated = await asAdmin('key', 'show', '--rotate', '--grace', '2m', '-o', 'json');
    expect(rotated.code, rotated.stderr).toBe(0);
    const view = JSON.parse(rotated.stdout) as { streamKey: string; previousKeyExpiresAt?: string };
    expect(view.streamKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(view.streamKey).not.toBe(stored);
    const now = unb64((await core.readNamespacedSecret({ name: secretName, namespace: ns() })).data?.streamKey);
    expect(now).toBe(view.streamKey);
    const ls = await streams.get('show');
    expect(ls.spec.streamKey?.rotationGracePeriod).toBe('2m');
    // What the operator put in status, within the command's wait: the old key works for the 2 minutes asked.
    expect(view.previousKeyExpiresAt).toBe(ls.status?.ingest?.previousKeyExpiresAt);
    const expiresMs = Date.parse(view.previousKeyExpiresAt!);
    expect(expiresMs).toBeGreaterThanOrEqual(before + 120_000 - 1_000);
    expect(expiresMs).toBeLessThanOrEqual(Date.now() + 120_000 + 1_000);
    expect(rotated.stderr).toContain('spec.streamKey.rotationGracePeriod set to 2m (was 10m)');
    expect(rotated.stderr).not.toContain(view.streamKey);
  });

  it("token mints a playback token the contract's verify accepts for this channel only", async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await core.createNamespacedSecret({
      namespace: ns(),
      body: {
        metadata: { name: 'playback-keys' },
        data: { 'k-20260101-aaaaaa.key': b64('not a key'), 'k-20261202-bbbbbb.key': b64(pem) },
      },
    });
    const keysSecret = `${ns()}/playback-keys`;
    const run = await asAdmin(
      'token',
      'show',
      '--ttl',
      '1h',
      '--viewer',
      'v-1',
      '--origin',
      'https://example.com',
      '--keys-secret',
      keysSecret,
    );
    expect(run.code, run.stderr).toBe(0);
    const token = run.stdout.trim();
    const store = playbackKeyStore([playbackKeyFromPem('k-20261202-bbbbbb', pem)]);
    const verdict = await verifyPlaybackToken(token, store, { namespace: ns(), name: 'show', nowMs: Date.now() });
    expect(verdict).toMatchObject({ ok: true, grant: { viewerId: 'v-1', origins: ['https://example.com'] } });
    if (!verdict.ok) return;
    expect(verdict.grant.expMs).toBeGreaterThan(Date.now() + 3_590_000);
    expect(verdict.grant.expMs).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect(await verifyPlaybackToken(token, store, { namespace: ns(), name: 'other', nowMs: Date.now() })).toEqual({
      ok: false,
      reason: 'wrong_channel',
    });
    // The key asked for is used; a broken one is named, never echoed.
    const broken = await asAdmin(
      'token',
      'show',
      '--ttl',
      '1h',
      '--keys-secret',
      keysSecret,
      '--kid',
      'k-20260101-aaaaaa',
    );
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(broken.stderr).toMatch(/^error: cannot sign with key k-20260101-aaaaaa: .*\n$/);
    // Without the gateway the channel is served by its Service only, which checks no token: --url says so.
    const url = await asAdmin('token', 'show', '--ttl', '1h', '--keys-secret', keysSecret, '--url');
    expect(url).toMatchObject({ code: 1, stdout: '' });
    expect(url.stderr).toContain('no gateway playback URL');
  });

  describe('stats and sessions', () => {
    let server: Server;
    let statsUrl: string;
    let saKubeconfig: string;
    let token: string;
    const seen: { path: string; query: URLSearchParams; authorization: string | undefined }[] = [];
    const figures = { sessions: 2, liveSeconds: 3725, viewerMinutes: 90.5, peakViewers: 7, bytesIn: 5 * 1024 ** 2 };
    const empty = { sessions: 0, liveSeconds: 0, viewerMinutes: 0, peakViewers: 0, bytesIn: 0 };
    const session = (i: number): StatsSession => ({
      sessionId: `sess-${i}`,
      namespace: ns(),
      name: 'show',
      startedAt: new Date(Date.UTC(2026, 11, 1, 10, i)).toISOString(),
      endedAt: new Date(Date.UTC(2026, 11, 1, 10, i, 30)).toISOString(),
      durationSeconds: 30,
      endReason: 'publisherLeft',
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 1280,
      height: 720,
      bitrateKbps: 2500,
      bytesIn: 1000,
      peakViewers: i,
      averageViewers: i / 2,
      viewerMinutes: i,
      relays: {},
      recordingUris: [],
    });

    const answer = (path: string, q: URLSearchParams): StatsAnswer | SessionsAnswer | undefined => {
      const route = parseStatsPath(path);
      if (route === undefined) return undefined;
      if (route.kind === 'stats') {
        return statsAnswerSchema.parse({
          ...route.scope,
          interval: q.get('interval') ?? 'day',
          from: '2026-12-01T00:00:00Z',
          to: '2026-12-03T00:00:00Z',
          totals: figures,
          series: [
            { start: '2026-12-01T00:00:00Z', ...figures },
            { start: '2026-12-02T00:00:00Z', ...empty },
          ],
        });
      }
      // Five sessions, pages of at most 2 (whatever limit asks), continue = the next index.
      const at = Number(q.get('continue') ?? 0);
      const size = Math.min(2, Number(q.get('limit')));
      const items = [0, 1, 2, 3, 4].slice(at, at + size).map(session);
      const next = at + items.length;
      return sessionsAnswerSchema.parse({ ...route.scope, items, ...(next < 5 && { continue: String(next) }) });
    };

    beforeAll(async () => {
      await cluster.kubectl(['create', 'serviceaccount', 'viewer', '-n', ns()]);
      token = (await cluster.kubectl(['create', 'token', 'viewer', '-n', ns(), '--duration', '10m'])).trim();
      // A kubeconfig whose user is that ServiceAccount's token and whose context names the namespace.
      const admin = new KubeConfig();
      admin.loadFromFile(cluster.kubeconfig);
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [admin.getCurrentCluster()],
        users: [{ name: 'viewer', token }],
        contexts: [{ name: 'viewer', cluster: admin.getCurrentCluster()!.name, user: 'viewer', namespace: ns() }],
        currentContext: 'viewer',
      });
      saKubeconfig = join(mkdtempSync(join(tmpdir(), 'kplugin-')), 'config');
      writeFileSync(saKubeconfig, kc.exportConfig(), { mode: 0o600 });
      server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        seen.push({ path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
        const body =
          req.headers.authorization !== `Bearer ${token}`
            ? undefined
            : url.pathname.endsWith('/livestreams/forbidden/stats')
              ? { error: 'forbidden', message: 'system:serviceaccount:x:viewer may not get livestreams' }
              : answer(url.pathname, url.searchParams);
        const status =
          req.headers.authorization !== `Bearer ${token}`
            ? 401
            : body === undefined
              ? 404
              : 'error' in body
                ? 403
                : 200;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            body ?? { error: status === 401 ? 'unauthenticated' : 'not_found', message: `status ${status}` },
          ),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      statsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    const asViewer = (...args: string[]) => plugin([...args, '--kubeconfig', saKubeconfig, '--stats-url', statsUrl]);

    it("stats sends the kubeconfig user's token in the header to the contract path and prints the buckets and TOTAL", async () => {
      const run = await asViewer('stats', 'show', '--interval', 'week', '--from', '2026-12-01T00:00:00+01:00');
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toBe(
        [
          'START        SESSIONS   LIVE      VIEWER-MINUTES   PEAK   BYTES-IN',
          '2026-12-01   2          1:02:05   90.5             7      5.0MiB',
          '2026-12-02   0          0:00:00   0                0      0B',
          'TOTAL        2          1:02:05   90.5             7      5.0MiB',
          '',
        ].join('\n'),
      );
      const last = seen.at(-1)!;
      expect(last.path).toBe(`/stats/v1/namespaces/${ns()}/livestreams/show/stats`);
      expect(Object.fromEntries(last.query)).toEqual({ interval: 'week', from: '2026-11-30T23:00:00Z' });
      expect(last.authorization).toBe(`Bearer ${token}`);
      expect(seen.every((s) => !s.query.toString().includes(token))).toBe(true);
    });

    it('stats --all asks for the namespace, -o json and -o yaml print the answer as the API gave it', async () => {
      const json = await asViewer('stats', '--all', '-o', 'json');
      expect(seen.at(-1)!.path).toBe(`/stats/v1/namespaces/${ns()}/stats`);
      const doc = statsAnswerSchema.parse(JSON.parse(json.stdout));
      expect(doc.totals).toEqual(figures);
      expect(parseYaml((await asViewer('stats', '--all', '-o', 'yaml')).stdout)).toEqual(doc);
    });

    it('sessions follows continue up to --limit', async () => {
      const before = seen.length;
      const run = await asViewer('sessions', 'show', '--limit', '3');
      expect(run).toMatchObject({ code: 0, stderr: '' });
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^SESSION\s+STARTED\s+DURATION\s+REASON\s+VIDEO\s+PEAK\s+AVG VIEWERS$/);
      expect(lines.slice(1).map((l) => l.split(/\s{3,}/))).toEqual([
        ['sess-0', '2026-12-01T10:00:00Z', '0:00:30', 'publisherLeft', 'h264 1280x720', '0', '0'],
        ['sess-1', '2026-12-01T10:01:00Z', '0:00:30', 'publisherLeft', 'h264 1280x720', '1', '0.5'],
        ['sess-2', '2026-12-01T10:02:00Z', '0:00:30', 'publisherLeft', 'h264 1280x720', '2', '1'],
      ]);
      expect(seen.slice(before).map((s) => [s.query.get('limit'), s.query.get('continue')])).toEqual([
        ['3', null],
        ['1', '2'],
      ]);
      const all = JSON.parse(
        (await asViewer('sessions', 'show', '--limit', '500', '-o', 'json')).stdout,
      ) as SessionsAnswer;
      expect(all.items.map((s) => s.sessionId)).toEqual(['sess-0', 'sess-1', 'sess-2', 'sess-3', 'sess-4']);
      expect(all.continue).toBeUndefined();
    });

    it("fails in one line for the API's refusal, a certificate-only user, and no stats address", async () => {
      const refused = await asViewer('stats', 'forbidden');
      expect(refused).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: the stats API answered 403: system:serviceaccount:x:viewer may not get livestreams\n',
      });
      const certOnly = await plugin(['stats', 'show', '--kubeconfig', cluster.kubeconfig, '--stats-url', statsUrl]);
      expect(certOnly).toMatchObject({ code: 1, stdout: '' });
      expect(certOnly.stderr).toMatch(/^error: the stats API needs a bearer token.*kubectl create token.*\n$/);
      const nowhere = await plugin(['stats', 'show', '--kubeconfig', saKubeconfig]);
      expect(nowhere.stderr).toMatch(/^error: the stats API's address is not known.*port-forward.*\n$/);
      const viaEnv = await plugin(['sessions', 'show', '--kubeconfig', saKubeconfig], {
        KUBECTL_LIVESTREAM_STATS_URL: statsUrl,
      });
      expect(viaEnv.code, viaEnv.stderr).toBe(0);
      expect([refused, certOnly, nowhere].every((r) => !r.stderr.includes(token))).toBe(true);
    });
  });
});
