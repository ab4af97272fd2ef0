// Relays and recording in the status, from reports written by the transcoder's own reporter into a real Redis and
// read by the real operator on a real API server: status.relays and RelaysHealthy with RelayFailed/RelayRecovered
// events, and on a recorded session's end a finalize Job (created once, with S3 credentials only).
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { createReporter, type Reporter } from '../../../transcoder/src/report/reporter.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { group, plural, version, type LiveStream } from '../../../contract/src/api/index.ts';
import { finalizeJobName } from './desired/index.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';

describe('relays and recording in the status', () => {
  const cluster = useTestCluster('media');
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let redis: RedisProcess;
  let operator: OperatorProcess;
  let transcoder: Reporter;
  let relay: Reporter;
  const get = () =>
    custom.getNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: cluster.namespace,
      name: 'rec',
    }) as Promise<LiveStream>;
  const until = <T>(what: string, f: (ls: LiveStream) => T | undefined, ms = 15_000) =>
    eventually(async () => f(await get()), ms, what);
  const session = `0${Date.now().toString(36)}-test`;
  const since = () => new Date().toISOString();

  beforeAll(async () => {
    redis = await startRedisProcess();
    await applyLiveStreamCrd(cluster.kubectl);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    for (const [name, data] of [
      ['yt-key', { streamKey: 'relay-key-0123456789' }],
      ['s3-creds', { accessKeyId: 'AKIATEST', secretAccessKey: 'not-a-real-secret' }],
    ] as const) {
      await core.createNamespacedSecret({
        namespace: cluster.namespace,
        body: { metadata: { name }, stringData: data },
      });
    }
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: { LSO_REDIS_URL: redis.url, LSO_RESYNC_SECONDS: '30' },
    });
    await cluster.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({
        apiVersion: `${group}/${version}`,
        kind: 'LiveStream',
        metadata: { name: 'rec', namespace: cluster.namespace },
        spec: {
          relays: [
            { name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt-key' } },
            { name: 'twitch', url: 'rtmp://live.twitch.tv/app', keySecretRef: { name: 'yt-key' }, enabled: false },
          ],
          recording: {
            enabled: true,
            s3: {
              bucket: 'vod',
              prefix: 'rec',
              endpoint: 'http://minio:9000',
              credentialsSecretRef: { name: 's3-creds' },
            },
          },
        },
      }),
    );
    await until('a first status', (ls) => ls.status?.state);
    transcoder = createReporter({ redisUrl: redis.url, namespace: cluster.namespace, name: 'rec' });
    relay = createReporter({ redisUrl: redis.url, namespace: cluster.namespace, name: 'rec' });
  });

  afterAll(async () => {
    await transcoder?.close();
    await relay?.close();
    await operator?.stop();
    await redis?.stop();
  });

  it('shows each relay, and RelaysHealthy follows them while Live', async () => {
    transcoder.report('publish-started', session, { resumed: false, width: 640, height: 360, fps: 30 });
    transcoder.report('heartbeat', session, {
      state: 'live',
      bitrateKbps: 900,
      fps: 30,
      width: 640,
      height: 360,
      viewers: 0,
      bytesIn: 1,
      segments: {},
    });
    relay.report('relay-state', '', { name: 'youtube', state: 'Active', bytesOut: 1000, since: since() });
    const ok = await until('RelaysActive', (ls) =>
      ls.status?.conditions?.find((c) => c.type === 'RelaysHealthy' && c.reason === 'RelaysActive') ? ls : undefined,
    );
    expect(ok.status?.relays).toEqual([
      expect.objectContaining({ name: 'youtube', state: 'Active', bytesOut: 1000 }),
      { name: 'twitch', state: 'Disabled' },
    ]);

    relay.report('relay-state', '', {
      name: 'youtube',
      state: 'Retrying',
      lastError: 'Connection refused',
      bytesOut: 1000,
      since: since(),
    });
    const failing = await until('RelayFailing', (ls) =>
      ls.status?.conditions?.find((c) => c.type === 'RelaysHealthy' && c.reason === 'RelayFailing'),
    );
    expect(failing.message).toContain('youtube: Connection refused');
    relay.report('relay-state', '', { name: 'youtube', state: 'Active', bytesOut: 2000, since: since() });
    await until('RelaysActive again', (ls) =>
      ls.status?.conditions?.find((c) => c.type === 'RelaysHealthy' && c.reason === 'RelaysActive'),
    );
    const events = await cluster.eventReasons('rec');
    expect(events).toContain('RelayFailed');
    expect(events).toContain('RelayRecovered');
  });

  it('adds a relay without touching the transcoder pod: its key reaches the mounted copy', async () => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const ns = cluster.namespace;
    const keysOf = async () =>
      Object.keys((await core.readNamespacedSecret({ name: 'rec-relay-keys', namespace: ns })).data ?? {}).sort();
    await eventually(
      async () => ((await keysOf()).join() === 'twitch,youtube' ? true : undefined),
      10_000,
      'relay keys copied',
    );
    const before = await apps.readNamespacedDeployment({ name: 'rec-transcoder', namespace: ns });
    const ls = await get();
    const relays = [
      ...(ls.spec.relays ?? []),
      { name: 'facebook', url: 'rtmps://live-api-s.facebook.com:443/rtmp', keySecretRef: { name: 'yt-key' } },
    ];
    await custom.patchNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: ns,
      name: 'rec',
      body: [{ op: 'replace', path: '/spec/relays', value: relays }],
    });
    await eventually(
      async () => ((await keysOf()).join() === 'facebook,twitch,youtube' ? true : undefined),
      10_000,
      'third key copied',
    );
    const after = await apps.readNamespacedDeployment({ name: 'rec-transcoder', namespace: ns });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    // And removing it removes its key from the copy.
    await custom.patchNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: ns,
      name: 'rec',
      body: [{ op: 'replace', path: '/spec/relays', value: relays.slice(0, 2) }],
    });
    await eventually(
      async () => ((await keysOf()).join() === 'twitch,youtube' ? true : undefined),
      10_000,
      'third key removed',
    );
  });

  it('records the session, and on its end creates one finalize Job with S3 credentials only', async () => {
    transcoder.report('recording-progress', session, {
      track: '720p',
      uploaded: 4,
      lastSequence: 3,
      pending: 0,
      spoolBytes: 0,
      dropped: 0,
    });
    transcoder.report('heartbeat', session, {
      state: 'live',
      bitrateKbps: 900,
      fps: 30,
      width: 640,
      height: 360,
      viewers: 0,
      bytesIn: 2,
      segments: {},
    });
    const recording = await until('Recording condition', (ls) =>
      ls.status?.conditions?.find((c) => c.type === 'Recording' && c.reason === 'RecordingActive') ? ls : undefined,
    );
    expect(recording.status?.recordings).toEqual([
      expect.objectContaining({ session, state: 'Recording', segments: 4 }),
    ]);

    transcoder.report('session-ended', session, { duration: 42, bytesIn: 2, peakViewers: 3, reason: 'window-expired' });
    const finalizing = await until('Finalizing', (ls) =>
      ls.status?.recordings?.find((r) => r.session === session && r.state === 'Finalizing') ? ls : undefined,
    );
    expect(finalizing.status?.recordings?.[0]?.durationSeconds).toBe(42);
    const batch = cluster.kc.makeApiClient(BatchV1Api);
    const job = await eventually(
      () => batch.readNamespacedJob({ name: finalizeJobName(finalizing, session), namespace: cluster.namespace }),
      10_000,
      'the finalize Job',
    );
    const pod = job.spec?.template.spec;
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'LiveStream', name: 'rec', controller: true });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.containers[0]?.command).toEqual(['node', 'transcoder/src/recording/finalize-main.ts']);
    expect(pod?.containers[0]?.env).toEqual(
      expect.arrayContaining([
        { name: 'LSO_SESSION', value: session },
        { name: 'LSO_S3_BUCKET', value: 'vod' },
      ]),
    );
    expect(pod?.volumes?.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(['s3-creds']);
    // A later reconcile does not create a second one.
    transcoder.report('heartbeat', '', {
      state: 'idle',
      bitrateKbps: 0,
      fps: 0,
      width: 0,
      height: 0,
      viewers: 0,
      bytesIn: 0,
      segments: {},
    });
    await new Promise((r) => setTimeout(r, 2_000));
    const jobs = await batch.listNamespacedJob({ namespace: cluster.namespace });
    expect(jobs.items).toHaveLength(1);
  });
});
