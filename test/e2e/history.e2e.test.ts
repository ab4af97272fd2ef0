// The session history on a real node: the chart installed with history.enabled and its own PostgreSQL (the image of
// hack/images/postgres.Dockerfile, an emptyDir for data), a channel published to and left, and its session's row in
// the chart's PostgreSQL: ended, with its duration and end reason, under the id status gave. Then, when the
// operator's stats API answers on the Service's `stats` port, the same session through it with a ServiceAccount
// token that may get the channel's LiveStreams (the check is skipped, saying so, while the operator serves no API).
// One install; runs after the files that install the CRD (test/support/e2e-sequencer.ts), which stays (crds.keep).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, onTestFailed } from 'vitest';
import { sessionsAnswerSchema, sessionsPath, statsPortName } from '../../contract/src/stats-api.ts';
import { helm, installOperator } from '../../hack/stack/operator-install.ts';
import { splitImage, stackImages } from '../../hack/stack/manifests.ts';
import { startPublisher, type Publisher } from '../support/rtmp-publisher.ts';
import { useTestCluster } from '../support/test-namespace.ts';
import { waitFor } from '../support/wait-for.ts';

const cluster = useTestCluster('e2e-history');
const tags = inject('images');
const images = stackImages(tags);
const operatorNamespace = 'livestream-history';
const release = 'lso-history';
const fullname = `${release}-livestream-operator`;
const postgresPod = `${fullname}-postgres-0`;
const name = 'diary';
const keySecret = 'diary-key';
const streamKey = `k-${randomBytes(12).toString('hex')}`;
const reader = 'history-reader';

interface View {
  status?: { state?: string; session?: { id?: string }; ingest?: { url?: string } };
}
const get = async () =>
  JSON.parse(await cluster.kubectl(['get', 'livestream', name, '-n', cluster.namespace, '-o', 'json'])) as View;
const untilState = (state: string, timeoutMs: number) =>
  waitFor(`LiveStream ${name} ${state}`, async () => ((await get()).status?.state === state ? get() : undefined), {
    timeoutMs,
    intervalMs: 500,
  });

/**
 * A query in the chart's PostgreSQL, run by psql inside its pod: the password is read there from the mounted file
 * (never in argv, here or there), the SQL comes on stdin, rows come back unaligned, fields split by `|`.
 */
async function sql(query: string): Promise<string[][]> {
  const psql =
    'export PGPASSWORD="$(cat /etc/postgres/password)"; exec psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -U livestream -d livestream';
  const out = await cluster.kubectl(
    ['exec', '-i', '-n', operatorNamespace, postgresPod, '--', 'sh', '-c', psql],
    query,
  );
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

/**
 * GET of a stats API path on the operator Service's `stats` port, from inside an operator pod (the cluster's DNS and
 * Service network; Node's fetch, the image has no curl), with the token on stdin. Undefined when nothing answers.
 */
async function statsGet(path: string, token: string): Promise<{ status: number; body: string } | undefined> {
  const url = `http://${fullname}-metrics.${operatorNamespace}.svc:8081${path}`;
  const script = `let t = ''; process.stdin.on('data', (d) => (t += d)).on('end', async () => {
    try { const r = await fetch(${JSON.stringify(url)}, { headers: { authorization: 'Bearer ' + t.trim() },
      signal: AbortSignal.timeout(5000) }); console.log(JSON.stringify({ status: r.status, body: await r.text() })); }
    catch (e) { console.log(JSON.stringify({ error: String(e.cause?.code ?? e.message) })); } });`;
  const out = await cluster.kubectl(
    ['exec', '-i', '-n', operatorNamespace, `deploy/${fullname}`, '-c', 'operator', '--', 'node', '-e', script],
    token,
  );
  const answer = JSON.parse(out.trim()) as { status?: number; body?: string; error?: string };
  return answer.status === undefined ? undefined : { status: answer.status, body: answer.body ?? '' };
}

let publisher: Publisher | undefined;
let sessionId = '';

beforeAll(async () => {
  const postgres = tags.find((t) => t.includes('/livestream-postgres:'));
  if (!postgres) throw new Error(`no livestream-postgres image among ${tags.join(', ')} (hack/images/build-images.sh)`);
  const { repository, tag } = splitImage(postgres);
  await installOperator({
    kubeconfig: cluster.kubeconfig,
    images,
    namespace: operatorNamespace,
    release,
    values: [
      'crds.enabled=false',
      'gateway.enabled=false',
      'operator.replicas=1',
      'history.enabled=true',
      'history.postgres.enabled=true',
      'history.postgres.persistence.enabled=false',
      `history.postgres.image.repository=${repository}`,
      `history.postgres.image.tag=${tag}`,
    ],
  });
  await cluster.kubectl(
    ['apply', '-n', cluster.namespace, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: keySecret }, stringData: { streamKey } }),
  );
});

afterAll(async () => {
  await publisher?.stop();
  await cluster.kubectl(['delete', 'livestream', name, '-n', cluster.namespace, '--timeout=60s']).catch(() => '');
  await helm(cluster.kubeconfig, ['uninstall', release, '--namespace', operatorNamespace]).catch(() => {});
});

beforeEach(() => {
  onTestFailed(async () => {
    for (const args of [
      ['get', 'livestream', name, '-n', cluster.namespace, '-o', 'yaml'],
      ['get', 'pods', '-n', operatorNamespace, '-o', 'wide'],
      ['logs', '-n', operatorNamespace, '-l', 'app.kubernetes.io/component=operator', '--tail=60'],
      ['logs', '-n', operatorNamespace, postgresPod, '--tail=30'],
    ]) {
      process.stderr.write(`\n----- ${args.slice(0, 2).join(' ')}\n${await cluster.kubectl(args).catch(String)}\n`);
    }
  });
});

describe("the session history in the chart's PostgreSQL, on a real node", () => {
  it('runs the PostgreSQL the operator migrated, reachable only with the password', async () => {
    // The operator migrates at start: its tables are there once it is up (installOperator waited for that).
    const tables = await waitFor(
      'the history tables',
      async () => {
        const rows = await sql(
          "SELECT tablename FROM pg_tables WHERE tablename LIKE 'livestream_%' AND tablename <> 'livestream_history_migrations' ORDER BY 1;",
        );
        return rows.length >= 3 ? rows.map((r) => r[0]) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(tables).toEqual(['livestream_sessions', 'livestream_stats_days', 'livestream_viewer_minutes']);
    const endpoints = await cluster.kubectl(['get', 'service', `${fullname}-metrics`, '-n', operatorNamespace, '-o',
      'jsonpath={.spec.ports[*].name}']); // prettier-ignore
    expect(endpoints.split(' ')).toContain(statsPortName);
  });

  it('records a published and ended session with the id status gave, its duration and end reason', async () => {
    const ls = {
      apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
      kind: 'LiveStream',
      metadata: { name, namespace: cluster.namespace },
      spec: {
        ladder: { preset: '360p' },
        reconnectWindowSeconds: 5,
        streamKey: { secretRef: { name: keySecret } },
        ingest: { serviceType: 'NodePort' },
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ls));
    const idle = await untilState('Idle', 180_000);
    const ingestUrl = idle.status?.ingest?.url ?? '';
    expect(ingestUrl).toMatch(/^rtmp:\/\//);
    publisher = startPublisher({ url: `${ingestUrl}/${streamKey}` });
    const live = await untilState('Live', 60_000);
    sessionId = live.status?.session?.id ?? '';
    expect(sessionId).toBeTruthy();
    // While live the row is there, not ended yet.
    await waitFor(
      'the live session row',
      async () =>
        (await sql(`SELECT ended_at IS NULL FROM livestream_sessions WHERE session_id = '${sessionId}';`))[0]?.[0] ===
        't',
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    await new Promise((r) => setTimeout(r, 10_000));
    await publisher.stop();
    publisher = undefined;
    await untilState('Idle', 90_000);
    const row = await waitFor(
      'the ended session row',
      async () => {
        const rows = await sql(
          `SELECT namespace, name, duration_seconds, end_reason, started_at < ended_at FROM livestream_sessions WHERE session_id = '${sessionId}' AND ended_at IS NOT NULL;`,
        );
        return rows[0];
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    const [namespace, channel, duration, endReason, ordered] = row;
    expect([namespace, channel, ordered]).toEqual([cluster.namespace, name, 't']);
    expect(Number(duration)).toBeGreaterThanOrEqual(8);
    expect(Number(duration)).toBeLessThan(300);
    expect(endReason).toBeTruthy();
    expect(await sql(`SELECT count(*) FROM livestream_sessions WHERE namespace = '${cluster.namespace}';`)).toEqual([
      ['1'],
    ]);
  });

  it("serves the session through the stats API with a token that may get the namespace's LiveStreams", async (ctx) => {
    expect(sessionId).toBeTruthy();
    // A ServiceAccount with `get livestreams` in the channel's namespace only, and a short-lived token of it.
    await cluster.kubectl(['create', 'serviceaccount', reader, '-n', cluster.namespace]);
    await cluster.kubectl(['create', 'role', reader, '-n', cluster.namespace, '--verb=get',
      '--resource=livestreams.streaming.livestream-operator.dev']); // prettier-ignore
    await cluster.kubectl(['create', 'rolebinding', reader, '-n', cluster.namespace, `--role=${reader}`,
      `--serviceaccount=${cluster.namespace}:${reader}`]); // prettier-ignore
    const token = (
      await cluster.kubectl(['create', 'token', reader, '-n', cluster.namespace, '--duration=10m'])
    ).trim();
    const path = sessionsPath({ namespace: cluster.namespace, name });
    const answer = await statsGet(path, token);
    if (answer === undefined || answer.status === 404) {
      process.stderr.write(`e2e: the operator's stats API does not answer ${path} (yet): its check is skipped\n`);
      ctx.skip();
      return;
    }
    expect(answer.status, answer.body).toBe(200);
    const sessions = sessionsAnswerSchema.parse(JSON.parse(answer.body));
    expect(sessions.items.map((s) => s.sessionId)).toEqual([sessionId]);
    expect(sessions.items[0]?.endedAt).toBeTruthy();
    // Without a token: refused; the same token on another namespace: forbidden.
    expect((await statsGet(path, ''))?.status).toBe(401);
    expect((await statsGet(sessionsPath({ namespace: operatorNamespace }), token))?.status).toBe(403);
  });
});
