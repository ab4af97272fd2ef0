// The gateway's route table against a real API server and the operator process (LSO_GATEWAY_* set as the chart
// does): the routes Secret parses with the gateway's own parser, names a user's key and a generated key by the right
// keyed hash with the routing secret the operator made, keeps the previous key's hash after a rotation until the key
// set's notAfter, has no entry for a paused channel nor a deleted one, holds no key or digest in plaintext, is not
// rewritten while nothing changes, and its hash is patched onto the gateway pods. Access (spec.audience): entries for
// the channels that are not public, a password channel's scrypt hash following its Secret within seconds, locked (and
// a Warning event) while the Secret is missing; the playback signing keys Secret made once.
import { createPrivateKey } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { keyDigest, parseKeySet } from '../../../contract/src/ingest-keys.ts';
import {
  decodeRouteTable,
  parseRouteTable,
  parseRoutingSecret,
  routeKeyHash,
  routeTableHash,
  routeTableFileName,
  routeTableHashAnnotation,
  type RouteTable,
} from '../../../contract/src/route-table.ts';
import { verifyViewerPassword } from '../../../contract/src/viewer-password.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { lockedPasswordHash } from './gateway-routes.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
const gatewayLabels = { 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/instance': 'routes-test' };

describe('gateway route table', () => {
  const cluster = useTestCluster('routes');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const streams = liveStreams(cluster);
  const ns = () => cluster.namespace;
  let operator: OperatorProcess;
  let operatorOptions: Parameters<typeof startOperator>[0];

  const routesSecret = () => core.readNamespacedSecret({ name: 'gw-routes', namespace: ns() });
  const table = async (): Promise<{ text: string; table: RouteTable } | undefined> => {
    const secret = await routesSecret().catch(() => undefined);
    const data = secret?.data?.[routeTableFileName];
    if (data === undefined) return undefined;
    const text = decodeRouteTable(Buffer.from(data, 'base64'));
    return { text, table: parseRouteTable(text) };
  };
  const untilTable = (what: string, check: (t: RouteTable) => boolean, timeoutMs = 10_000) =>
    eventually(
      async () => {
        const t = await table();
        return t && check(t.table) ? t : undefined;
      },
      timeoutMs,
      what,
    );
  const routingSecret = async () =>
    parseRoutingSecret(
      Buffer.from(
        unb64((await core.readNamespacedSecret({ name: 'gw-routing', namespace: ns() })).data?.['routing-secret']),
      ),
    );
  const of = (t: RouteTable, name: string) => t.entries.filter((e) => e.name === name);
  const generatedKey = async (name: string) =>
    unb64((await core.readNamespacedSecret({ name: `${name}-stream-key`, namespace: ns() })).data?.streamKey);

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
    await core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name: 'gateway-0', labels: gatewayLabels },
        spec: { automountServiceAccountToken: false, containers: [{ name: 'gateway', image: 'none:0' }] },
      },
    });
    // The gateway's Service as the chart renders it with service.type NodePort (the API server assigns the ports).
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'gw' },
        spec: {
          type: 'NodePort',
          selector: gatewayLabels,
          ports: [
            { name: 'rtmp', port: 1935, targetPort: 'rtmp' },
            { name: 'http', port: 80, targetPort: 'http' },
          ],
        },
      },
    });
    operatorOptions = {
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: {
        LSO_TRANSCODER_IMAGE: 'livestream-transcoder:test',
        LSO_GATEWAY_ROUTES_SECRET: 'gw-routes',
        LSO_GATEWAY_ROUTING_SECRET: 'gw-routing',
        LSO_GATEWAY_NAMESPACE: cluster.namespace,
        LSO_GATEWAY_SERVICE: 'gw',
        LSO_GATEWAY_PLAYBACK_URL: 'https://cdn.example.com/live/',
        LSO_GATEWAY_PLAYBACK_KEYS_SECRET: 'gw-playback-keys',
        LSO_NODE_ADDRESS: '192.0.2.10',
        LSO_GATEWAY_POD_SELECTOR: Object.entries(gatewayLabels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      },
    };
    operator = await startOperator(operatorOptions);
  });
  afterAll(async () => {
    await operator?.stop();
  });

  it("routes a user's key and a generated key by their keyed hash, a rotated key until its notAfter, never a paused channel", async () => {
    const [userKey, newKey, pausedKey] = ['user-route-key-0123456789', 'user-route-new-0123456789', 'paused-key-0123'];
    for (const [name, key] of [
      ['user-key', userKey],
      ['paused-key', pausedKey],
    ] as const) {
      await core.createNamespacedSecret({ namespace: ns(), body: { metadata: { name }, data: { k: b64(key) } } });
    }
    await streams.apply('user', {
      streamKey: { secretRef: { name: 'user-key', key: 'k' }, rotationGracePeriod: '30s' },
    });
    await streams.apply('gen', {});
    await streams.apply('paused', { paused: true, streamKey: { secretRef: { name: 'paused-key', key: 'k' } } });

    const first = await untilTable(
      'user and gen routed',
      (t) => of(t, 'user').length === 1 && of(t, 'gen').length === 1,
    );
    const secret = await routingSecret();
    const genKey = await generatedKey('gen');
    expect(of(first.table, 'user')).toEqual([
      {
        keyHash: routeKeyHash(secret, userKey),
        namespace: ns(),
        name: 'user',
        app: 'live',
        rtmp: `user.${ns()}.svc:1935`,
        http: `user.${ns()}.svc:8080`,
      },
    ]);
    expect(of(first.table, 'gen').map((e) => e.keyHash)).toEqual([routeKeyHash(secret, genKey)]);
    expect(of(first.table, 'paused')).toEqual([]);
    await eventually(
      async () => {
        const pod = await core.readNamespacedPod({ name: 'gateway-0', namespace: ns() });
        return pod.metadata?.annotations?.[routeTableHashAnnotation] === routeTableHash(first.text) ? true : undefined;
      },
      5_000,
      'the gateway pod marked with the table hash',
    );

    // Nothing changes: resyncs every 2 s reconcile every channel, and the Secret is not written again.
    const version = (await routesSecret()).metadata?.resourceVersion;
    await sleep(4_500);
    expect((await routesSecret()).metadata?.resourceVersion).toBe(version);

    const rotatedAt = Date.now();
    await core.patchNamespacedSecret({
      name: 'user-key',
      namespace: ns(),
      body: [{ op: 'replace', path: '/data/k', value: b64(newKey) }],
    });
    const rotated = await untilTable('both user keys routed', (t) => of(t, 'user').length === 2, 5_000);
    expect(Date.now() - rotatedAt).toBeLessThan(5_000);
    const keySet = parseKeySet(
      unb64((await core.readNamespacedSecret({ name: 'user-ingest-keys', namespace: ns() })).data?.['keys.json']),
    );
    const notAfter = keySet.keys[1]?.notAfter;
    expect(keySet.keys[1]?.sha256).toBe(keyDigest(userKey));
    expect(of(rotated.table, 'user').map((e) => [e.keyHash, e.notAfter])).toEqual(
      expect.arrayContaining([
        [routeKeyHash(secret, newKey), undefined],
        [routeKeyHash(secret, userKey), notAfter],
      ]),
    );
    expect(Date.parse(notAfter ?? '') - rotatedAt).toBeGreaterThan(25_000);

    const stored = JSON.stringify(await routesSecret()) + ((await table())?.text ?? '');
    for (const k of [userKey, newKey, genKey, pausedKey]) {
      for (const form of [k, b64(k), keyDigest(k) ?? '']) expect(stored).not.toContain(form);
    }

    // Pause and deletion take the channel out; the paused one, resumed, comes in.
    await streams.apply('gen', { paused: true });
    await streams.apply('paused', { paused: false, streamKey: { secretRef: { name: 'paused-key', key: 'k' } } });
    await cluster.kubectl(['delete', 'livestream', 'user', '-n', ns(), '--wait=false']);
    const last = await untilTable(
      'only the resumed channel',
      (t) => t.entries.length === 1 && of(t, 'paused').length === 1,
      10_000,
    );
    expect(last.table.entries[0]?.keyHash).toBe(routeKeyHash(secret, pausedKey));
    // The routing secret was made once and never changed.
    expect((await routingSecret()).equals(secret)).toBe(true);
  });

  it("shows the gateway's address in status for channels reached through it, and follows the gateway Service", async () => {
    const nodePort = async () =>
      (await core.readNamespacedService({ name: 'gw', namespace: ns() })).spec?.ports?.find((p) => p.name === 'rtmp')
        ?.nodePort;
    await streams.apply('via-gateway', {});
    await streams.apply('via-both', { ingest: { via: 'Both' } });
    await streams.apply('via-service', { ingest: { via: 'Service' } });
    const first = await nodePort();
    const status = (name: string, check: (s: NonNullable<LiveStream['status']>) => boolean) =>
      streams.until(name, `status of ${name}`, (ls) => (ls.status && check(ls.status) ? ls.status : undefined), 25_000);
    const gateway = await status('via-gateway', (s) => s.ingest?.via === 'Gateway');
    expect(gateway.ingest?.url).toBe(`rtmp://192.0.2.10:${first}/live`);
    expect(gateway.ingest?.serviceUrl).toBeUndefined();
    expect(gateway.playback?.url).toBe(`https://cdn.example.com/live/${ns()}/via-gateway/master.m3u8`);
    const both = await status('via-both', (s) => s.ingest?.via === 'Both');
    expect(both.ingest).toMatchObject({
      url: `rtmp://192.0.2.10:${first}/live`,
      serviceUrl: `rtmp://via-both.${ns()}.svc:1935/live`,
    });
    expect(both.playback?.serviceUrl).toBe(`http://via-both.${ns()}.svc:8080/hls/master.m3u8`);
    const own = await status('via-service', (s) => s.ingest?.via === 'Service');
    expect(own.ingest?.url).toBe(`rtmp://via-service.${ns()}.svc:1935/live`);
    const table = await untilTable('via-gateway and via-both routed', (t) => of(t, 'via-both').length === 1);
    expect(of(table.table, 'via-service')).toEqual([]);

    // The gateway Service gets another node port: every channel through it follows within the operator's poll.
    const next = first === 31999 ? 31998 : 31999;
    await core.patchNamespacedService({
      name: 'gw',
      namespace: ns(),
      body: [{ op: 'replace', path: '/spec/ports/0/nodePort', value: next }],
    });
    const moved = await status('via-gateway', (s) => s.ingest?.url === `rtmp://192.0.2.10:${next}/live`);
    expect(moved.playback?.url).toBe(`https://cdn.example.com/live/${ns()}/via-gateway/master.m3u8`);
  });

  it('rules the channels that are not public, and follows a password Secret, locked while it is missing', async () => {
    await streams.apply('pub', { audience: { title: 'Open', visibility: 'public', revokedViewers: ['v0'] } });
    await streams.apply('unl', { audience: { visibility: 'unlisted' } });
    await streams.apply('priv', { audience: { visibility: 'private', revokedViewers: ['v2', 'v1'] } });
    await streams.apply('pw', { audience: { visibility: 'password', password: { secretName: 'pw-viewers' } } });
    const access = (t: RouteTable, name: string) => t.access?.find((a) => a.name === name);
    const secret = await routingSecret();
    const locked = lockedPasswordHash(secret, ns(), 'pw');
    const first = await untilTable('the access entries', (t) => access(t, 'pw') !== undefined && !!access(t, 'priv'));
    expect(first.table.access?.filter((a) => ['pub', 'unl', 'priv', 'pw'].includes(a.name))).toEqual([
      { namespace: ns(), name: 'priv', visibility: 'private', revokedViewers: ['v1', 'v2'] },
      { namespace: ns(), name: 'pw', visibility: 'password', passwordHash: locked },
      { namespace: ns(), name: 'unl', visibility: 'unlisted' },
    ]);
    const warning = await eventually(
      async () => {
        const list = await core.listNamespacedEvent({ namespace: ns(), fieldSelector: 'involvedObject.name=pw' });
        return list.items.find((e) => e.reason === 'ViewerPasswordMissing');
      },
      10_000,
      'a ViewerPasswordMissing event',
    );
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(/^spec\.audience\.password: Secret pw-viewers is missing/);

    // The Secret appears: the hash follows within seconds (by its Secret event; this suite's 2 s resyncs would
    // also find it: gateway-routes-runner.test.ts checks the event path alone).
    const created = Date.now();
    await core.createNamespacedSecret({
      namespace: ns(),
      body: { metadata: { name: 'pw-viewers' }, data: { password: b64('first viewer password') } },
    });
    const opened = await untilTable('the password hash', (t) => access(t, 'pw')?.passwordHash !== locked, 5_000);
    expect(Date.now() - created).toBeLessThan(5_000);
    const hashOf = (t: RouteTable) => access(t, 'pw')?.passwordHash ?? '';
    expect(await verifyViewerPassword('first viewer password', hashOf(opened.table))).toBe(true);
    expect(opened.text).not.toContain('first viewer password');
    expect(opened.text).not.toContain(b64('first viewer password'));

    // Resyncs rebuild the table (every 2 s here): the same bytes, so the Secret is not written again.
    const version = (await routesSecret()).metadata?.resourceVersion;
    await sleep(4_500);
    expect((await routesSecret()).metadata?.resourceVersion).toBe(version);

    await core.patchNamespacedSecret({
      name: 'pw-viewers',
      namespace: ns(),
      body: [{ op: 'replace', path: '/data/password', value: b64('second viewer password') }],
    });
    const changed = await untilTable('the new hash', (t) => hashOf(t) !== hashOf(opened.table), 5_000);
    expect(await verifyViewerPassword('second viewer password', hashOf(changed.table))).toBe(true);
    expect(await verifyViewerPassword('first viewer password', hashOf(changed.table))).toBe(false);

    // Deleted: locked again, never public.
    await core.deleteNamespacedSecret({ name: 'pw-viewers', namespace: ns() });
    await untilTable('locked again', (t) => hashOf(t) === locked, 5_000);
    // A scheduled start over a day old is accepted (CEL has no clock) and told once as a Warning event.
    await streams.apply('stale', { audience: { scheduledStart: '2001-01-01T00:00:00Z' } });
    const stale = await eventually(
      async () => {
        const list = await core.listNamespacedEvent({ namespace: ns(), fieldSelector: 'involvedObject.name=stale' });
        return list.items.find((e) => e.reason === 'ScheduledStartIgnored');
      },
      10_000,
      'a ScheduledStartIgnored event',
    );
    expect([stale.type, stale.message]).toEqual(['Warning', expect.stringMatching(/^spec\.audience\.scheduledStart/)]);
    // A public channel made unlisted gets its entry.
    await streams.apply('pub', { audience: { visibility: 'unlisted' } });
    await untilTable('pub unlisted', (t) => access(t, 'pub')?.visibility === 'unlisted', 5_000);
  });

  it('makes the playback signing keys Secret once: one PKCS#8 P-256 key named k-<yyyymmdd>-<6 hex>.key', async () => {
    const read = () => core.readNamespacedSecret({ name: 'gw-playback-keys', namespace: ns() });
    const keys = await eventually(async () => (await read().catch(() => undefined))?.data, 10_000, 'the keys Secret');
    const names = Object.keys(keys);
    expect(names).toEqual([expect.stringMatching(/^k-\d{8}-[0-9a-f]{6}\.key$/)]);
    const key = createPrivateKey(unb64(keys[names[0] ?? '']));
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const version = (await read()).metadata?.resourceVersion;
    await operator.stop();
    operator = await startOperator(operatorOptions);
    await sleep(3_000);
    expect((await read()).metadata?.resourceVersion).toBe(version);
  });
});
