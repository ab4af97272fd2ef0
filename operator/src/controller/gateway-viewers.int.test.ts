// Viewers through the gateway, summed across replicas, on a real API server: two real gateway processes (the entry
// point, as in their pods) with viewers on each, found as Pods by their labels (IP and http port from the Pod), asked
// with the admin token from the Secret the operator makes, and summed per channel by GatewayViewers. A channel origin
// stands behind both (a node:http server), which also records that the gateway marks its requests so the origin
// does not count the gateway as a viewer. Then one gateway is killed: its viewers stay in the sum until staleMs,
// then drop out.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { startGatewayProcess, type GatewayProcess } from '../../../test/support/gateway-process.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { gatewayAdminToken, GatewayViewers, listGatewayReplicas, type ChannelViewerSum } from './gateway-viewers.ts';

const labels = { 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/instance': 'viewers-test' };
const selector = Object.entries(labels)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
const playlist = '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg-00001.ts\n';

describe('gateway viewers summed across replicas', () => {
  const cluster = useTestCluster('viewers');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const ns = () => cluster.namespace;
  const logger = createLogger('gateway-viewers-test', 'warn');
  const originRequests: { path: string; gateway: string | undefined }[] = [];
  const flvResponses = new Set<http.ServerResponse>();
  let origin: http.Server;
  let dir: string;
  let gateways: GatewayProcess[] = [];
  let viewers: GatewayViewers;
  const changes: ChannelViewerSum[][] = [];
  const flvRequests: http.ClientRequest[] = [];

  // A channel origin: playlists, and an HTTP-FLV stream that never ends.
  const startOrigin = async () => {
    origin = http.createServer((req, res) => {
      const gateway = req.headers['x-livestream-gateway'];
      originRequests.push({ path: req.url ?? '', gateway: Array.isArray(gateway) ? gateway[0] : gateway });
      if (req.url === '/live.flv') {
        res.writeHead(200, { 'content-type': 'video/x-flv' });
        res.write(Buffer.from('FLV\x01\x05\x00\x00\x00\x09', 'latin1'));
        flvResponses.add(res);
        res.once('close', () => flvResponses.delete(res));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' });
      res.end(playlist);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(origin.address() as AddressInfo).port}`;
  };

  // A Pod standing for a gateway replica: no kubelet runs it, its status says where the real process listens.
  // Its admission wants the namespace's default ServiceAccount, which the controller-manager makes a moment later.
  const registerPod = async (name: string, port: number) => {
    await waitFor('the default service account', () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: ns() }).then(
        () => true,
        () => false,
      ),
    );
    await core.createNamespacedPod({
      namespace: ns(),
      body: {
        metadata: { name, labels },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: 'gateway', image: 'none:0', ports: [{ name: 'http', containerPort: port }] }],
        },
      },
    });
    await core.patchNamespacedPodStatus(
      {
        name,
        namespace: ns(),
        body: { status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  };

  const play = (gw: GatewayProcess, channel: string, userAgent: string) =>
    fetch(`http://127.0.0.1:${gw.httpPort}/${ns()}/${channel}/720p/index.m3u8`, {
      headers: { 'user-agent': userAgent },
    }).then(async (r) => {
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(playlist);
    });

  const watchFlv = (gw: GatewayProcess, channel: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(`http://127.0.0.1:${gw.httpPort}/${ns()}/${channel}/live.flv`, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => resolve());
      });
      req.once('error', reject);
      flvRequests.push(req);
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gateway-viewers-'));
    const token = await gatewayAdminToken(core, ns(), 'gw-admin', logger);
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, token + '\n', { mode: 0o600 });
    const backend = await startOrigin();
    const routes = ['ch-a', 'ch-b'].map((name) => ({
      key: `key-of-${name}-0123456789`,
      namespace: ns(),
      name,
      rtmp: '127.0.0.1:1',
      http: backend,
    }));
    gateways = await Promise.all(
      [0, 1].map(() => startGatewayProcess({ routes, env: { LSO_GATEWAY_ADMIN_TOKEN_FILE: tokenFile } })),
    );
    for (const [i, gw] of gateways.entries()) await registerPod(`gateway-${i}`, gw.httpPort);
    viewers = new GatewayViewers({
      replicas: listGatewayReplicas(core, ns(), selector),
      token: () => gatewayAdminToken(core, ns(), 'gw-admin', logger),
      logger,
      intervalMs: 300,
      timeoutMs: 1_000,
      staleMs: 3_000,
    });
    viewers.onChange((c) => changes.push(c));
  });

  afterAll(async () => {
    await viewers?.stop();
    for (const req of flvRequests) req.destroy();
    await Promise.all(gateways.map((g) => g.close()));
    for (const res of flvResponses) res.destroy();
    await new Promise((resolve) => origin?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('makes the admin token once, in a Secret the gateway pods can mount', async () => {
    const secret = await core.readNamespacedSecret({ name: 'gw-admin', namespace: ns() });
    expect(Object.keys(secret.data ?? {})).toEqual(['token']);
    const again = await gatewayAdminToken(core, ns(), 'gw-admin', logger);
    const stored = Buffer.from(secret.data?.token ?? '', 'base64').toString();
    expect(again).toBe(stored);
  });

  it('sums the viewers of every replica per channel', async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    // ch-a: three players on replica a, two on replica b and an HTTP-FLV viewer there; ch-b: one on replica a.
    for (const ua of ['tv', 'phone', 'laptop']) await play(a, 'ch-a', ua);
    for (const ua of ['tv-2', 'phone-2']) await play(b, 'ch-a', ua);
    await play(b, 'ch-a', 'tv-2'); // the same viewer again
    await watchFlv(b, 'ch-a');
    await play(a, 'ch-b', 'tv');
    viewers.start();
    await waitFor('the sums', () => viewers.viewersOf(ns(), 'ch-a') === 6 && viewers.viewersOf(ns(), 'ch-b') === 1, {
      timeoutMs: 10_000,
    });
    expect(viewers.channels()).toEqual([
      { namespace: ns(), name: 'ch-a', viewers: 6 },
      { namespace: ns(), name: 'ch-b', viewers: 1 },
    ]);
    expect(changes.flat()).toContainEqual({ namespace: ns(), name: 'ch-a', viewers: 6 });
    // Each replica's own figure, per replica, in its metrics.
    const series = `livestream_gateway_viewers{namespace="${ns()}",name="ch-a"}`;
    expect(await a.metrics()).toContain(`${series} 3\n`);
    expect(await b.metrics()).toContain(`${series} 3\n`);
    // Every request the origin saw came from a gateway, marked so.
    expect(originRequests.length).toBeGreaterThan(0);
    expect(originRequests.filter((r) => r.gateway !== '1')).toEqual([]);
  });

  it('keeps a replica that stopped answering until staleMs, then drops its viewers', async () => {
    const [, b] = gateways as [GatewayProcess, GatewayProcess];
    b.process.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('replica b to drop out', () => viewers.viewersOf(ns(), 'ch-a') === 3, { timeoutMs: 10_000 });
    const after = Date.now() - killedAt;
    // Not at the first failed poll (one interval, 300 ms): only once its last answer is staleMs (3 s) old, which
    // may have been given up to a round before the kill.
    expect(after).toBeGreaterThanOrEqual(2_000);
    expect(viewers.viewersOf(ns(), 'ch-b')).toBe(1);
    expect(changes.at(-1)).toEqual([{ namespace: ns(), name: 'ch-a', viewers: 3 }]);
  });

  it('lists the routes with the token, without key hashes, and refuses both endpoints without it', async () => {
    const [a] = gateways as [GatewayProcess];
    const token = await gatewayAdminToken(core, ns(), 'gw-admin', logger);
    const routes = await fetch(`http://127.0.0.1:${a.httpPort}/admin/routes`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(routes.status).toBe(200);
    const text = await routes.text();
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    const listed = (JSON.parse(text) as { channels: { name: string; keys: number; http: string }[] }).channels;
    expect(listed.map((c) => [c.name, c.keys])).toEqual([
      ['ch-a', 1],
      ['ch-b', 1],
    ]);
    for (const p of ['/admin/viewers', '/admin/routes']) {
      const res = await fetch(`http://127.0.0.1:${a.httpPort}${p}`, { headers: { authorization: 'Bearer nope' } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });
});
