// The portal directory fed to the gateway, on a real API server, with two real gateway processes (the entry point,
// as in their pods) found as Pods by their labels (IP and http port from the Pod) and pushed to with the admin token
// from the Secret the operator makes. What a replica holds is read back from the gateway itself: its directory page,
// its stream pages, and its answer to an update it must refuse (409 with the generation and sequence it holds).
// First the runner on a real informer of LiveStreams (status written here, as no transcoder runs): a channel going
// Live and Idle, a deletion, a replica restarting while nothing changes (its heartbeat is refused, the reset refills
// it), a Pod whose address accepts connections and never answers. Then the operator process itself (main.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { group, plural, version, type LiveStream } from '../../../contract/src/api/index.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { adminDirectoryPath, parseDirectoryAnswer } from '../../../contract/src/portal-directory.ts';
import { startGatewayProcess, type GatewayProcess } from '../../../test/support/gateway-process.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { useTestCluster, type TestCluster } from '../../../test/support/test-namespace.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { Controller } from '../runtime/controller.ts';
import { createOperatorMetrics } from '../telemetry/metrics.ts';
import { watchSpecs } from '../watches.ts';
import { notifyLiveStreamEvents, startGatewayDirectory, type GatewayDirectory } from './gateway-directory-runner.ts';
import { gatewayAdminToken } from './gateway-viewers.ts';

const logger = createLogger('gateway-directory-test', 'warn');

/** Gateway processes registered as Pods of `instance`, with the admin token of the Secret `gw-admin`. */
function gatewayRig(cluster: TestCluster, instance: string) {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const labels = { 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/instance': instance };
  const rig = {
    selector: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    gateways: [] as GatewayProcess[],
    dir: '',
    token: '',
    tokenFile: '',
    /** Where each replica's Pod says it listens: a forwarder to its process, so a restarted one keeps the address. */
    forwarders: [] as { server: net.Server; port: number }[],
    hung: undefined as net.Server | undefined,
    hungSockets: [] as net.Socket[],
    async setUp(replicas: number) {
      await applyLiveStreamCrd(cluster.kubectl);
      rig.dir = await mkdtemp(path.join(tmpdir(), 'gateway-directory-'));
      // The Secret made as the operator makes it (the same function), so the gateways can start with its token.
      rig.token = await gatewayAdminToken(core, cluster.namespace, 'gw-admin', logger);
      rig.tokenFile = path.join(rig.dir, 'token');
      await writeFile(rig.tokenFile, rig.token + '\n', { mode: 0o600 });
      rig.gateways = await Promise.all(Array.from({ length: replicas }, () => rig.start()));
      for (const i of rig.gateways.keys()) {
        const forwarder = await rig.forwarder(i);
        rig.forwarders.push(forwarder);
        await rig.registerPod(`gateway-${i}`, forwarder.port);
      }
    },
    async tearDown() {
      await Promise.all(rig.gateways.map((g) => g.close()));
      for (const s of rig.hungSockets) s.destroy();
      for (const f of rig.forwarders) f.server.close();
      await new Promise((resolve) => (rig.hung ? rig.hung.close(resolve) : resolve(undefined)));
      if (rig.dir) await rm(rig.dir, { recursive: true, force: true });
    },
    start: () => startGatewayProcess({ routes: [], env: { LSO_GATEWAY_ADMIN_TOKEN_FILE: rig.tokenFile } }),
    /** Forwards each connection to replica `i`'s process as it is when the connection comes. */
    async forwarder(i: number) {
      const server = net.createServer((client) => {
        const upstream = net.connect(rig.gateways[i]?.httpPort ?? 1, '127.0.0.1');
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, port: (server.address() as AddressInfo).port };
    },
    // A Pod standing for a gateway replica: no kubelet runs it, its status says where the process listens.
    async registerPod(name: string, port: number) {
      await core.createNamespacedPod({
        namespace: cluster.namespace,
        body: {
          metadata: { name, labels },
          spec: {
            automountServiceAccountToken: false,
            containers: [{ name: 'gateway', image: 'none:0', ports: [{ name: 'http', containerPort: port }] }],
          },
        },
      });
      const status = { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] };
      await core.patchNamespacedPodStatus(
        { name, namespace: cluster.namespace, body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    },
    /** A Pod whose address accepts TCP connections and never answers nor closes them. */
    async registerHungPod(name: string) {
      const server = net.createServer((socket) => rig.hungSockets.push(socket));
      rig.hung = server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      await rig.registerPod(name, (server.address() as AddressInfo).port);
    },
    /** A GET on one replica: its status and body. */
    async get(gw: GatewayProcess, pathname: string) {
      const res = await fetch(`http://127.0.0.1:${gw.httpPort}${pathname}`);
      return { status: res.status, body: await res.text() };
    },
    onEvery: (what: string, check: (gw: GatewayProcess) => Promise<boolean>, timeoutMs = 10_000) =>
      waitFor(what, async () => (await Promise.all(rig.gateways.map(check))).every(Boolean), {
        timeoutMs,
        intervalMs: 25,
      }),
    /** The stream page of `name` shows `title`. */
    titled: (name: string, title: string) => async (gw: GatewayProcess) => {
      const p = await rig.get(gw, `/${cluster.namespace}/${name}/`);
      return p.status === 200 && p.body.includes(title);
    },
    /** The directory page lists `title` (a public channel on air) or, with `listed` false, does not. */
    inDirectory:
      (title: string, listed = true) =>
      async (gw: GatewayProcess) =>
        (await rig.get(gw, '/')).body.includes(title) === listed,
    /** What a replica holds: an update it cannot take (unknown generation, no reset) is answered 409 with it. */
    async held(gw: GatewayProcess) {
      const probe = { generation: 'probe', sequence: 0, reset: false, upserts: [], deletes: [] };
      const res = await fetch(`http://127.0.0.1:${gw.httpPort}${adminDirectoryPath}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(probe),
      });
      expect(res.status).toBe(409);
      return parseDirectoryAnswer(await res.json());
    },
  };
  return rig;
}

/** The value of one series in a Prometheus text exposition (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
const pushSeries = (kind: string, outcome: string) =>
  `livestream_operator_gateway_directory_pushes_total{kind="${kind}",outcome="${outcome}"}`;

describe('the directory runner on a real LiveStream informer', () => {
  const cluster = useTestCluster('directory');
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const streams = liveStreams(cluster);
  const rig = gatewayRig(cluster, 'directory-runner');
  const metrics = createOperatorMetrics();
  let controller: Controller<LiveStream>;
  let directory: GatewayDirectory | undefined;
  const pushes = async (kind: string, outcome: string) =>
    sample(await metrics.registry.metrics(), pushSeries(kind, outcome));
  const writeStatus = (name: string, status: Record<string, unknown>) =>
    custom.patchNamespacedCustomObjectStatus(
      { group, version, plural, namespace: cluster.namespace, name, body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

  beforeAll(async () => {
    await rig.setUp(2);
    // The LiveStream informer main.ts runs, telling the runner of each event as main.ts does; nothing reconciles.
    const { primary } = watchSpecs(cluster.kc, cluster.namespace, false);
    controller = new Controller<LiveStream>({
      kc: cluster.kc,
      primary: notifyLiveStreamEvents(primary, () => directory?.changed()),
      secondaries: [],
      concurrency: 2,
      resyncMs: 60_000,
      metrics,
      logger,
    });
    await controller.start(() => Promise.resolve(), 30_000);
    const target = {
      namespace: cluster.namespace,
      routesSecret: 'unused-routes',
      routingSecret: 'unused-routing',
      podSelector: rig.selector,
      adminSecret: 'gw-admin',
    };
    directory = startGatewayDirectory({ kc: cluster.kc, target, cache: controller, logger, metrics });
  });

  afterAll(async () => {
    await directory?.stop();
    await controller?.stop();
    await rig.tearDown();
  });

  it('lists every channel on every replica, whatever its visibility', async () => {
    await streams.apply('show', { audience: { title: 'Friday show', visibility: 'public' } });
    await streams.apply('quiet', { audience: { title: 'Quiet room', visibility: 'unlisted' } });
    await rig.onEvery('both channels on both replicas', async (gw) =>
      (await Promise.all([rig.titled('show', 'Friday show')(gw), rig.titled('quiet', 'Quiet room')(gw)])).every(
        Boolean,
      ),
    );
    // Both replicas hold this runner's generation.
    const [a, b] = await Promise.all(rig.gateways.map((gw) => rig.held(gw)));
    expect(a?.generation).toBe(directory?.generation);
    expect(b?.generation).toBe(directory?.generation);
  });

  it('shows a channel going Live in the directory within 2 s, and takes it out within 2 s of going Idle', async () => {
    let started = Date.now();
    await writeStatus('show', {
      state: 'Live',
      viewers: 3,
      session: { id: 's1', startedAt: new Date().toISOString() },
    });
    await rig.onEvery('show in the directory', rig.inDirectory('Friday show'));
    const live = Date.now() - started;
    // The unlisted channel, live too, is not listed.
    await writeStatus('quiet', { state: 'Live', session: { id: 'q1', startedAt: new Date().toISOString() } });
    started = Date.now();
    const endedAt = new Date().toISOString();
    await writeStatus('show', { state: 'Idle', session: null, sessions: [{ id: 's1', endedAt }] });
    await rig.onEvery('show out of the directory', rig.inDirectory('Friday show', false));
    const idle = Date.now() - started;
    console.log(`gateway directory: Live on both replicas in ${live} ms, Idle in ${idle} ms (status write to page)`);
    expect(live).toBeLessThan(2_000);
    expect(idle).toBeLessThan(2_000);
    for (const gw of rig.gateways) expect((await rig.get(gw, '/')).body).not.toContain('Quiet room');
    expect((await rig.get(rig.gateways[0]!, `/${cluster.namespace}/show/`)).body).toContain('The stream ended at');
  });

  it('removes a deleted channel from every replica', async () => {
    await cluster.kubectl(['delete', 'livestream', 'quiet', '-n', cluster.namespace, '--wait=false']);
    await rig.onEvery('quiet gone', async (gw) => (await rig.get(gw, `/${cluster.namespace}/quiet/`)).status === 404);
    await rig.onEvery('show still there', rig.titled('show', 'Friday show'));
  });

  it('refills a replica that restarted while nothing changed', async () => {
    const old = rig.gateways[1]!;
    const conflictsBefore = await pushes('update', 'conflict');
    const resetsBefore = await pushes('reset', 'ok');
    // The same pod (same uid, same address, the forwarder switched to a fresh process before the old one stops):
    // only its answers tell that it forgot everything.
    const restarted = await rig.start();
    rig.gateways[1] = restarted;
    const startedAt = Date.now();
    await old.close();
    expect((await rig.get(restarted, `/${cluster.namespace}/show/`)).status).toBe(404);
    await rig.onEvery('show back on the restarted replica', rig.titled('show', 'Friday show'), 15_000);
    console.log(`gateway directory: a restarted replica refilled ${Date.now() - startedAt} ms after it was ready`);
    // The runner counts its push once the answer is in: a moment after the replica applied it.
    await waitFor('the reset counted', async () => (await pushes('reset', 'ok')) === resetsBefore + 1);
    expect(await pushes('update', 'conflict')).toBeGreaterThan(conflictsBefore);
    expect((await rig.held(restarted)).generation).toBe(directory?.generation);
  });

  it('a replica that accepts connections and never answers does not slow the others', async () => {
    await rig.registerHungPod('gateway-hung');
    // Found within the runner's pod listing interval (5 s), then tried until its timeout (2 s).
    await waitFor('a timeout from the hung replica', async () => (await pushes('reset', 'timeout')) >= 1, {
      timeoutMs: 20_000,
    });
    expect(rig.hungSockets.length).toBeGreaterThanOrEqual(1);
    const started = Date.now();
    await writeStatus('show', { state: 'Live', session: { id: 's2', startedAt: new Date().toISOString() } });
    await rig.onEvery('show live again past the hung replica', rig.inDirectory('Friday show'));
    const ms = Date.now() - started;
    console.log(`gateway directory: Live on both replicas in ${ms} ms with a hung third one`);
    expect(ms).toBeLessThan(2_000);
  });
});

describe('the operator process pushes the directory (main.ts)', () => {
  const cluster = useTestCluster('directory-op');
  const streams = liveStreams(cluster);
  const rig = gatewayRig(cluster, 'directory-operator');
  let operator: OperatorProcess;

  beforeAll(async () => {
    await rig.setUp(1);
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: {
        LSO_TRANSCODER_IMAGE: 'livestream-transcoder:test',
        LSO_GATEWAY_ROUTES_SECRET: 'gw-routes',
        LSO_GATEWAY_ROUTING_SECRET: 'gw-routing',
        LSO_GATEWAY_ADMIN_SECRET: 'gw-admin',
        LSO_GATEWAY_NAMESPACE: cluster.namespace,
        LSO_GATEWAY_POD_SELECTOR: rig.selector,
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await rig.tearDown();
  });

  it('lists a LiveStream on the gateway and follows a change of its title', async () => {
    await streams.apply('show', { audience: { title: 'Friday show' } });
    await rig.onEvery('show on the replica', rig.titled('show', 'Friday show'), 20_000);
    const started = Date.now();
    await streams.apply('show', { audience: { title: 'Saturday show' } });
    await rig.onEvery('the new title', rig.titled('show', 'Saturday show'));
    const ms = Date.now() - started;
    console.log(`gateway directory (operator process): a title change on the replica ${ms} ms after kubectl apply`);
    expect(ms).toBeLessThan(2_000);
    const text = await operator.metrics();
    expect(sample(text, pushSeries('reset', 'ok'))).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'livestream_operator_gateway_directory_listings')).toBe(1);
  });
});
