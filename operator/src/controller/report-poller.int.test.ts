// Reports without Redis, end to end without a node: the real operator (no Redis) makes the channel's Deployment,
// ConfigMap and report token Secret; the real transcoder and relay processes run as the two containers of its pod
// with the env the Deployment gives them (the token resolved from the Secret it references, as the kubelet does), a
// real ffmpeg publishes, and the operator's poller (its factory: the pod informer on a real API server, the pod's IP,
// each channel's token from an informer cache of the operator's labelled Secrets) reads both containers' report logs
// and folds them. The Pod object is real; with no kubelet here its status (IP 127.0.0.1, Running) is written by the
// test, and its containers' report ports are the processes' local ones. A request with another channel's token, or
// none, is refused by both containers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  type KubernetesObject,
  type V1Container,
  type V1Deployment,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../../hack/cluster/processes.ts';
import * as contract from '../../../contract/src/pod-contract.ts';
import { reportLogHeaders, reportLogQuery, reportTokenPattern } from '../../../contract/src/report-log.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { ResilientInformer } from '../runtime/informer.ts';
import { childSelector } from '../watches.ts';
import { publishPhase, type PublishTransition } from './publish-state.ts';
import { reportTokenLookup } from './reconcile/report-token.ts';
import { startReportPoller, type ReportPoller } from './report-poller.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const windowSeconds = 3;

interface Proc {
  child: ChildProcess;
  output: () => string;
  signal: (sig: NodeJS.Signals) => Promise<void>;
}

function run(script: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: repo,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    signal: async (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      await exited;
    },
  };
}

/** The Secret data an env var references, as the kubelet resolves it; the test fails on a literal. */
async function secretEnv(core: CoreV1Api, namespace: string, container: V1Container, name: string): Promise<string> {
  const ref = container.env?.find((e) => e.name === name);
  expect(ref?.value, `${container.name}: ${name} is never a literal`).toBeUndefined();
  const { name: secret = '', key = '' } = ref?.valueFrom?.secretKeyRef ?? {};
  const data = (await core.readNamespacedSecret({ name: secret, namespace })).data?.[key];
  expect(data, `${container.name}: ${name} from Secret ${secret}`).toBeDefined();
  return Buffer.from(data ?? '', 'base64').toString('utf8');
}

describe('reports without Redis: the poller reads the pod', () => {
  const cluster = useTestCluster('poller');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  const streams = liveStreams(cluster);
  const namespace = cluster.namespace;
  const key = `${namespace}/show`;
  let operator: OperatorProcess;
  let secrets: ResilientInformer<V1Secret>;
  let deployment: V1Deployment;
  /** The token each container got from the Secret its env references. */
  const tokens = { transcoder: '', relay: '' };
  let dir: string;
  let ports: { rtmp: number; http: number; reports: number; relay: number };
  let streamKey: string;
  let transcoder: Proc;
  let relay: Proc;
  let poller: ReportPoller;
  let publisher: Publisher | undefined;
  const transitions: PublishTransition[] = [];
  const reported: string[] = [];

  const startTranscoder = () =>
    run('transcoder/src/main.ts', ['--config', join(dir, 'livestream.json'), '--stream-key-file', join(dir, 'key')], {
      LSO_RTMP_PORT: String(ports.rtmp),
      LSO_HTTP_PORT: String(ports.http),
      LSO_REPORTS_PORT: String(ports.reports),
      LSO_HLS_DIR: join(dir, 'hls'),
      LSO_X264_PRESET: 'ultrafast',
      LSO_REPORT_TOKEN: tokens.transcoder,
      HOME: dir,
    });
  const observation = () => poller.observation(key);
  const until = <T>(what: string, probe: () => T | undefined, timeoutMs = 20_000) =>
    waitFor(what, () => Promise.resolve(probe()), { timeoutMs }).catch((err: unknown) => {
      throw new Error(`${String(err)}\ntranscoder:\n${transcoder.output().slice(-3_000)}`);
    });
  const publish = () =>
    startPublisher({
      url: `rtmp://127.0.0.1:${ports.rtmp}/live/${streamKey}`,
      size: '320x180',
      fps: 15,
      gopSeconds: 1,
      videoKbps: 300,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lso-poller-'));
    await mkdir(join(dir, 'relays'));
    const [rtmp, http, reports, relayPort] = await freePorts('127.0.0.1', 4);
    ports = { rtmp: rtmp!, http: http!, reports: reports!, relay: relayPort! };
    streamKey = `k${Math.random().toString(36).slice(2)}x`.padEnd(24, '0');
    await applyLiveStreamCrd(cluster.kubectl);
    // The real operator, without Redis: it makes the channels' children, the token Secrets included.
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace,
      env: { LSO_TRANSCODER_IMAGE: 'livestream-transcoder:test' },
    });
    await streams.apply('show', {
      ladder: {
        renditions: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 300, fps: 15 }],
        passthrough: false,
      },
      hls: { segmentSeconds: 1 },
      reconnectWindowSeconds: windowSeconds,
    });
    await streams.apply('other', { ladder: { preset: '480p' } });
    deployment = await waitFor(
      'the Deployment of show',
      () => apps.readNamespacedDeployment({ name: 'show-transcoder', namespace }).catch(() => undefined),
      { timeoutMs: 20_000 },
    );
    // The pod's files and env as the kubelet would give them: the operator's ConfigMap, its Secrets.
    const configMap = await core.readNamespacedConfigMap({ name: 'show-config', namespace });
    await writeFile(join(dir, 'livestream.json'), configMap.data?.[contract.configFileName] ?? '');
    const containers = deployment.spec?.template.spec?.containers ?? [];
    for (const name of ['transcoder', 'relay'] as const) {
      const container = containers.find((c) => c.name === name)!;
      tokens[name] = await secretEnv(core, namespace, container, contract.env.reportToken);
    }
    await writeFile(join(dir, 'key'), streamKey, { mode: 0o600 });
    transcoder = startTranscoder();
    relay = run('transcoder/src/relay/main.ts', ['--config', join(dir, 'livestream.json')], {
      LSO_RTMP_PORT: String(ports.rtmp),
      LSO_RELAY_METRICS_PORT: String(ports.relay),
      LSO_RELAY_KEYS_DIR: join(dir, 'relays'),
      LSO_RELAY_RUN_DIR: dir,
      LSO_RELAY_HEARTBEAT_MS: '1000',
      LSO_REPORT_TOKEN: tokens.relay,
      HOME: dir,
    });

    // The transcoder pod as the informer sees it: the operator's labels, an IP, Running.
    const body: V1Pod = {
      metadata: {
        name: 'show-transcoder-abc',
        labels: {
          'app.kubernetes.io/name': 'livestream',
          'app.kubernetes.io/instance': 'show',
          'app.kubernetes.io/component': 'transcoder',
          'app.kubernetes.io/managed-by': 'livestream-operator',
        },
      },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'transcoder', image: 'none:test' }] },
    };
    // The namespace's default ServiceAccount appears a moment after the namespace.
    const pod = await waitFor(
      'the Pod created',
      () => core.createNamespacedPod({ namespace, body }).catch(() => undefined),
      { timeoutMs: 20_000 },
    );
    // The scheduler writes the status too (Unschedulable): read it again until our write lands.
    await waitFor(
      'the Pod Running at 127.0.0.1',
      async () => {
        const current = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace });
        current.status = { ...current.status, phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] };
        return core
          .replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace, body: current })
          .catch(() => undefined);
      },
      { timeoutMs: 20_000 },
    );

    // The operator's cache of its own Secrets (label-selected, as watches.ts watches them).
    secrets = new ResilientInformer<V1Secret>({
      kc: cluster.kc,
      path: `/api/v1/namespaces/${namespace}/secrets`,
      labelSelector: childSelector,
      list: () => core.listNamespacedSecret({ namespace, labelSelector: childSelector }),
      onChange: () => {},
    });
    secrets.start();
    await secrets.waitForSync();
    poller = startReportPoller({
      kc: cluster.kc,
      namespace,
      logger: pino({ level: 'silent' }),
      reportToken: reportTokenLookup({
        child: <T extends KubernetesObject>(_resource: string, ns: string, name: string) =>
          secrets.get(name, ns) as T | undefined,
      }),
      onReport: (k, transition, event) => {
        reported.push(`${k} ${event.type}`);
        if (transition.kind !== 'none') transitions.push(transition);
      },
      ports: { transcoder: ports.reports, relay: ports.relay },
    });
  });

  afterAll(async () => {
    await publisher?.kill();
    await poller?.stop();
    await secrets?.stop();
    await operator?.stop();
    await transcoder?.signal('SIGTERM');
    await relay?.signal('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the operator made the channel's token Secret, and the pod's containers get the token from it", async () => {
    const secret = await core.readNamespacedSecret({ name: 'show-reports', namespace });
    const ls = await streams.get('show');
    expect(secret.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('livestream-operator');
    expect(secret.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'LiveStream', uid: ls.metadata.uid }),
    ]);
    const token = Buffer.from(secret.data?.token ?? '', 'base64').toString('utf8');
    expect(token).toMatch(reportTokenPattern);
    expect(tokens).toEqual({ transcoder: token, relay: token });
    const other = await waitFor(
      "the other channel's Secret",
      () => core.readNamespacedSecret({ name: 'other-reports', namespace }).catch(() => undefined),
      { timeoutMs: 15_000 },
    );
    expect(Buffer.from(other.data?.token ?? '', 'base64').toString('utf8')).not.toBe(token);

    const pod = deployment.spec!.template.spec!;
    const transcoderContainer = pod.containers.find((c) => c.name === 'transcoder')!;
    expect(transcoderContainer.ports).toContainEqual({ name: 'reports', containerPort: 8082, protocol: 'TCP' });
    const service = await core.readNamespacedService({ name: 'show', namespace });
    expect(service.spec?.ports?.map((p) => p.port)).not.toContain(8082);
    // The token is in the Secret only: not in the pod spec, the status, the events or the operator's log.
    expect(JSON.stringify(deployment)).not.toContain(token);
    expect(JSON.stringify(ls)).not.toContain(token);
    const events = await core.listNamespacedEvent({ namespace });
    expect(JSON.stringify(events.items)).not.toContain(token);
    expect(operator.output()).not.toContain(token);
  }, 30_000);

  it("both containers refuse a request without the channel's token: none, another channel's, a guess", async () => {
    const other = await core.readNamespacedSecret({ name: 'other-reports', namespace });
    const otherToken = Buffer.from(other.data?.token ?? '', 'base64').toString('utf8');
    const refused: Record<string, string>[] = [
      {},
      reportLogHeaders(otherToken),
      reportLogHeaders(`${tokens.transcoder.slice(0, -2)}xx`),
      { authorization: `Basic ${tokens.transcoder}` },
    ];
    await until('both logs served', () =>
      poller.unreachable(key) === undefined && reported.length > 0 ? true : undefined,
    );
    for (const port of [ports.reports, ports.relay]) {
      const url = `http://127.0.0.1:${port}${reportLogQuery({ boot: '', after: 0 })}`;
      for (const headers of refused) {
        const res = await fetch(url, { headers });
        expect(res.status, `${port} ${JSON.stringify(Object.keys(headers))}`).toBe(401);
        expect(await res.text()).not.toMatch(/boot|entries/);
      }
      const res = await fetch(url, { headers: reportLogHeaders(tokens.transcoder) });
      expect(res.status).toBe(200);
      expect(await res.json()).toHaveProperty('entries');
    }
    // A reconcile never rotates the token (the operator resyncs every 2 s here).
    await new Promise((r) => setTimeout(r, 4_500));
    const again = await core.readNamespacedSecret({ name: 'show-reports', namespace });
    expect(Buffer.from(again.data?.token ?? '', 'base64').toString('utf8')).toBe(tokens.transcoder);
  }, 40_000);

  it("folds both containers' reports: idle, then live with heartbeats, then the session's end", async () => {
    await until('an idle heartbeat and a relay heartbeat folded', () =>
      reported.includes(`${key} heartbeat`) && reported.includes(`${key} relay-heartbeat`) ? true : undefined,
    );
    expect(observation()).toMatchObject({ state: 'idle', session: '' });
    expect(transcoder.output()).toContain('reports are kept in memory for the operator to poll');

    publisher = publish();
    const live = await until('live', () => (observation()?.state === 'live' ? observation() : undefined));
    const session = live.session;
    expect(session).not.toBe('');
    expect(transitions).toContainEqual({ kind: 'started', session });
    const beat = await until('a heartbeat with figures', () => {
      const o = observation();
      return o?.figures.width === 320 && o.figures.bitrateKbps > 0 ? o : undefined;
    });
    // Heartbeats keep arriving: the transcoder is seen alive, as the heartbeat TTL requires.
    const seenAt = beat.lastReportAt;
    await until('the next heartbeat', () => ((observation()?.lastReportAt ?? 0) > seenAt + 3_000 ? true : undefined));
    expect(publishPhase(observation(), Date.now(), 15_000).phase).toBe('live');

    await publisher.stop();
    publisher = undefined;
    await until('reconnecting', () => (observation()?.state === 'reconnecting' ? true : undefined), 10_000);
    const ended = await until(
      'the session ended',
      () => transitions.find((t) => t.kind === 'ended' && t.summary.id === session),
      (windowSeconds + 10) * 1000,
    );
    expect(ended).toMatchObject({ summary: { id: session, endReason: 'window-expired' } });
    expect(observation()).toMatchObject({ state: 'idle', session: '' });
    expect(observation()?.ended[0]?.id).toBe(session);
  }, 90_000);

  it('a pod that cannot be reached folds nothing, says why, and its open session is closed by the TTL', async () => {
    publisher = publish();
    const live = await until('live again', () => (observation()?.state === 'live' ? observation() : undefined));
    await transcoder.signal('SIGKILL');
    const reason = await until('unreachable', () => poller.unreachable(key), 10_000);
    expect(reason).toContain(`http://127.0.0.1:${ports.reports}`);
    expect(reason).toMatch(/fetch failed|ECONNREFUSED/);
    // The relay container still answers: only the transcoder's endpoint is named.
    expect(reason).not.toContain(`:${ports.relay}`);
    const silentSince = observation()!.lastReportAt;
    const ttlMs = 3_000;
    expect(poller.expire(key, silentSince + ttlMs, ttlMs)).toEqual({ kind: 'none' });
    const lost = poller.expire(key, silentSince + ttlMs + 1, ttlMs);
    expect(lost).toMatchObject({ kind: 'ended', summary: { id: live.session, endReason: 'TranscoderLost' } });

    // The container comes back (another boot, seq from 1): read from the start of its new log.
    await publisher.kill();
    publisher = undefined;
    transcoder = startTranscoder();
    await until('read again', () => (poller.unreachable(key) === undefined ? true : undefined), 40_000);
    await until('an idle heartbeat of the new process', () =>
      (observation()?.lastReportAt ?? 0) > silentSince && observation()?.state === 'idle' ? true : undefined,
    );
  }, 90_000);

  it('stops polling a pod that is gone', async () => {
    // The relay container still heartbeats every second: while its pod is polled, reports keep coming.
    const count = reported.length;
    await until('relay reports', () => (reported.length >= count + 2 ? true : undefined), 10_000);
    await core.deleteNamespacedPod({ name: 'show-transcoder-abc', namespace, gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 1_500)); // the informer sees the deletion
    const after = reported.length;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(reported.length).toBe(after);
    expect(poller.unreachable(key)).toBeUndefined();
  }, 30_000);
});
