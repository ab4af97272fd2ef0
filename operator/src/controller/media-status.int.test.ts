// Relays, recording and the transcoder's health in the status, from reports written into a real Redis exactly as
// the pods write them (the contract's encoder) and read by the real operator on a real API server: status.relays
// and RelaysHealthy with RelayFailed/RelayRecovered events; on a recorded session's end a finalize Job (created once,
// with S3 credentials only), also when the transcoder was lost or recording was turned off; and the honest outcomes
// of issue 12: a missing relay key degrades that relay only, an ffmpeg that keeps failing is not Live, and a ladder
// change during a session waits for the next one without claiming its generation.
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { group, plural, version, type LiveStream } from '../../../contract/src/api/index.ts';
import { sessionSettingsFingerprint } from '../../../contract/src/api/session-settings.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import {
  channelConnection,
  liveHeartbeat,
  reportWriter,
  type ReportWriter,
} from '../../../test/support/report-writer.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { finalizeJobName } from './desired/index.ts';
import { heartbeatTtlMs } from './reconciler.ts';

const condition = (ls: LiveStream, type: string) => ls.status?.conditions?.find((c) => c.type === type);

describe('relays, recording and transcoder health in the status', () => {
  const cluster = useTestCluster('media');
  const streams = liveStreams(cluster);
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const batch = cluster.kc.makeApiClient(BatchV1Api);
  let redis: RedisProcess;
  // One connection per channel, with the credential the operator made for it (as the channel's pods connect).
  const connections: Redis[] = [];
  const writerFor = async (name: string): Promise<ReportWriter> => {
    const redis = await channelConnection(cluster.kc.makeApiClient(CoreV1Api), cluster.namespace, name);
    connections.push(redis);
    return reportWriter(redis, cluster.namespace, name);
  };
  let operator: OperatorProcess;
  let transcoder: ReportWriter;
  let relay: ReportWriter;
  // Like a running transcoder, 'rec' heartbeats every 3 s: for its open session (segments growing), or idle.
  let beating: { session: string; segments: number } | 'idle' | 'silent' = 'idle';
  let heartbeats: NodeJS.Timeout | undefined;
  const beat = () => {
    if (beating === 'silent') return;
    const report =
      beating === 'idle'
        ? transcoder.report('heartbeat', '', { ...liveHeartbeat(0), state: 'idle' })
        : transcoder.report('heartbeat', beating.session, liveHeartbeat(++beating.segments));
    report.catch(() => {});
  };
  const until = <T>(what: string, f: (ls: LiveStream) => T | undefined, ms = 15_000) =>
    streams.until('rec', what, f, ms);
  const sessionId = (n: number) => `0${Date.now().toString(36)}-test-${n}`;
  const session = sessionId(1);
  const since = () => new Date().toISOString();
  const patchSpec = (name: string, path: string, value: unknown) =>
    custom.patchNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: cluster.namespace,
      name,
      body: [{ op: 'replace', path, value }],
    });
  const finalizeJob = (ls: LiveStream, s: string) =>
    waitFor(
      'the finalize Job',
      () => batch.readNamespacedJob({ name: finalizeJobName(ls, s), namespace: cluster.namespace }),
      {
        timeoutMs: 10_000,
      },
    );
  /** A new session of 'rec' that uploads a segment, heartbeating, once status shows it Recording. */
  const startRecordedSession = async (s: string) => {
    await transcoder.report('publish-started', s, { resumed: false });
    const progress = { track: '720p', uploaded: 1, lastSequence: 0, pending: 0, spoolBytes: 0, dropped: 0 };
    await transcoder.report('recording-progress', s, progress);
    beating = { session: s, segments: 0 };
    beat();
    await until(`recording session ${s}`, (ls) =>
      ls.status?.recordings?.some((r) => r.session === s && r.state === 'Recording') ? true : undefined,
    );
  };
  /** Ends a session of 'rec' as the transcoder does when the reconnect window runs out; its recording Finalizing. */
  const endRecordedSession = async (s: string, duration: number) => {
    beating = 'idle';
    await transcoder.report('session-ended', s, { duration, bytesIn: 2, peakViewers: 3, reason: 'window-expired' });
    return until(`session ${s} Finalizing`, (ls) =>
      ls.status?.recordings?.find((r) => r.session === s && r.state === 'Finalizing') ? ls : undefined,
    );
  };
  const recordingSpec = {
    enabled: true,
    s3: { bucket: 'vod', prefix: 'rec', endpoint: 'http://minio:9000', credentialsSecretRef: { name: 's3-creds' } },
  };

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
    await streams.apply('rec', {
      relays: [
        { name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt-key' } },
        { name: 'twitch', url: 'rtmp://live.twitch.tv/app', keySecretRef: { name: 'yt-key' }, enabled: false },
      ],
      recording: recordingSpec,
    });
    await until('a first status', (ls) => ls.status?.state);
    transcoder = await writerFor('rec');
    relay = await writerFor('rec');
    heartbeats = setInterval(beat, 3_000);
  });

  afterAll(async () => {
    clearInterval(heartbeats);
    for (const c of connections) c.disconnect();
    await operator?.stop();
    await redis?.stop();
  });

  it('shows each relay, and RelaysHealthy follows them while Live', async () => {
    await transcoder.report('publish-started', session, { resumed: false, width: 640, height: 360, fps: 30 });
    beating = { session, segments: 0 };
    beat();
    await relay.report('relay-state', '', { name: 'youtube', state: 'Active', bytesOut: 1000, since: since() });
    const ok = await until('RelaysActive', (ls) =>
      condition(ls, 'RelaysHealthy')?.reason === 'RelaysActive' ? ls : undefined,
    );
    expect(ok.status?.relays).toEqual([
      expect.objectContaining({ name: 'youtube', state: 'Active', bytesOut: 1000 }),
      { name: 'twitch', state: 'Disabled' },
    ]);

    await relay.report('relay-state', '', {
      name: 'youtube',
      state: 'Retrying',
      lastError: 'Connection refused',
      bytesOut: 1000,
      since: since(),
    });
    const failing = await until('RelayFailing', (ls) =>
      condition(ls, 'RelaysHealthy')?.reason === 'RelayFailing' ? condition(ls, 'RelaysHealthy') : undefined,
    );
    expect(failing.message).toContain('youtube: Connection refused');
    await relay.report('relay-state', '', { name: 'youtube', state: 'Active', bytesOut: 2000, since: since() });
    await until('RelaysActive again', (ls) =>
      condition(ls, 'RelaysHealthy')?.reason === 'RelaysActive' ? true : undefined,
    );
    const events = await cluster.eventReasons('rec');
    expect(events).toContain('RelayFailed');
    expect(events).toContain('RelayRecovered');
  });

  it('adds a relay without touching the transcoder pod, and removing it removes its key from the copy', async () => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const ns = cluster.namespace;
    const keysOf = async () =>
      Object.keys((await core.readNamespacedSecret({ name: 'rec-relay-keys', namespace: ns })).data ?? {})
        .sort()
        .join();
    const keysAre = (keys: string) =>
      waitFor(`relay keys ${keys}`, async () => ((await keysOf()) === keys ? true : undefined), { timeoutMs: 10_000 });
    await keysAre('twitch,youtube');
    const before = await apps.readNamespacedDeployment({ name: 'rec-transcoder', namespace: ns });
    const relays = [
      ...((await streams.get('rec')).spec.relays ?? []),
      { name: 'facebook', url: 'rtmps://live-api-s.facebook.com:443/rtmp', keySecretRef: { name: 'yt-key' } },
    ];
    await patchSpec('rec', '/spec/relays', relays);
    await keysAre('facebook,twitch,youtube');
    const after = await apps.readNamespacedDeployment({ name: 'rec-transcoder', namespace: ns });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    // A key removed from the desired Secret: seen by its desired-hash annotation (ADR 0009), not by a subset test.
    await patchSpec('rec', '/spec/relays', relays.slice(0, 2));
    await keysAre('twitch,youtube');
  });

  it('records the session, and on its end creates one finalize Job with S3 credentials only', async () => {
    await transcoder.report('recording-progress', session, {
      track: '720p',
      uploaded: 4,
      lastSequence: 3,
      pending: 0,
      spoolBytes: 0,
      dropped: 0,
    });
    beat();
    const recording = await until('Recording condition', (ls) =>
      condition(ls, 'Recording')?.reason === 'RecordingActive' ? ls : undefined,
    );
    expect(recording.status?.recordings).toEqual([
      expect.objectContaining({ session, state: 'Recording', segments: 4 }),
    ]);

    const finalizing = await endRecordedSession(session, 42);
    expect(finalizing.status?.recordings?.[0]?.durationSeconds).toBe(42);
    const job = await finalizeJob(finalizing, session);
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
    beat();
    await new Promise((r) => setTimeout(r, 2_000));
    const jobs = await batch.listNamespacedJob({ namespace: cluster.namespace });
    expect(jobs.items).toHaveLength(1);
  });

  it(`closes a session whose transcoder fell silent within the TTL (${heartbeatTtlMs / 1000} s), and finalizes its recording`, async () => {
    const lost = sessionId(2);
    await startRecordedSession(lost);
    // kill -9: nothing more is reported.
    beating = 'silent';
    const silentAt = Date.now();
    const closed = await until(
      'the lost session in status.sessions',
      (ls) => ls.status?.sessions?.find((s) => s.id === lost),
      heartbeatTtlMs + 10_000,
    );
    expect(closed.endReason).toBe('TranscoderLost');
    expect(Date.now() - silentAt).toBeLessThan(heartbeatTtlMs + 5_000);
    const ls = await until('its recording Finalizing', (l) =>
      l.status?.recordings?.find((r) => r.session === lost && r.state === 'Finalizing') ? l : undefined,
    );
    expect(condition(ls, 'Publishing')?.reason).toBe('HeartbeatLost');
    expect(condition(ls, 'Ready')?.status).toBe('False');
    await finalizeJob(ls, lost);
  });

  it('still finalizes a session recorded before recording was turned off', async () => {
    const last = sessionId(3);
    await startRecordedSession(last);
    await patchSpec('rec', '/spec/recording/enabled', false);
    await until('Recording=RecordingDisabled', (ls) =>
      condition(ls, 'Recording')?.reason === 'RecordingDisabled' ? true : undefined,
    );
    const ls = await endRecordedSession(last, 9);
    await finalizeJob(ls, last);
  });

  it('keeps a channel whose relay key Secret is missing Live, with RelaysHealthy=False naming the Secret', async () => {
    await streams.apply('nokey', {
      relays: [{ name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt-key-absent' } }],
    });
    await streams.until('nokey', 'a first status', (ls) => ls.status?.state);
    const writer = await writerFor('nokey');
    const s = sessionId(4);
    await writer.report('publish-started', s, { resumed: false });
    await writer.report('heartbeat', s, liveHeartbeat(1));
    const ls = await streams.until('nokey', 'Live', (l) => (l.status?.state === 'Live' ? l : undefined));
    expect(condition(ls, 'Ready')).toMatchObject({ status: 'True', reason: 'Live' });
    expect(condition(ls, 'RelaysHealthy')).toMatchObject({ status: 'False', reason: 'RelayKeyMissing' });
    expect(condition(ls, 'RelaysHealthy')?.message).toContain('Secret yt-key-absent');
  });

  it('is not Live while ffmpeg keeps failing on what the encoder sends, and says why; Live again once segments flow', async () => {
    await streams.apply('broken', {});
    await streams.until('broken', 'a first status', (ls) => ls.status?.state);
    const writer = await writerFor('broken');
    const s = sessionId(5);
    await writer.report('publish-started', s, { resumed: false });
    await writer.report('heartbeat', s, liveHeartbeat(0));
    await streams.until('broken', 'Live', (l) => (l.status?.state === 'Live' ? true : undefined));
    for (const restarts of [1, 2, 3]) {
      await writer.report('ffmpeg-failed', s, {
        exitCode: 1,
        signal: null,
        restarts,
        message: 'Invalid data found when processing input',
      });
    }
    const failed = await streams.until('broken', 'Failed', (l) => (l.status?.state === 'Failed' ? l : undefined));
    expect(condition(failed, 'Publishing')?.status).toBe('True');
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'TranscoderFailed' });
    expect(condition(failed, 'Transcoding')?.message).toContain('Invalid data found');
    await writer.report('heartbeat', s, liveHeartbeat(1));
    await writer.report('heartbeat', s, liveHeartbeat(2));
    await streams.until('broken', 'Live again', (l) =>
      condition(l, 'Transcoding')?.reason === 'SegmentsWritten' ? true : undefined,
    );
  });

  it('says a ladder change waits for the next session, and claims its generation only then', async () => {
    await streams.apply('ladder', { ladder: { preset: '720p' } });
    const first = await streams.until('ladder', 'a first status', (ls) => (ls.status?.state ? ls : undefined));
    const writer = await writerFor('ladder');
    const s = sessionId(6);
    await writer.report('publish-started', s, { resumed: false, ladder: sessionSettingsFingerprint(first.spec) });
    await writer.report('heartbeat', s, liveHeartbeat(1, { ladder: sessionSettingsFingerprint(first.spec) }));
    await streams.until('ladder', 'SessionMatchesSpec', (l) =>
      condition(l, 'SpecApplied')?.reason === 'SessionMatchesSpec' ? true : undefined,
    );
    await writer.report('heartbeat', s, liveHeartbeat(2, { ladder: sessionSettingsFingerprint(first.spec) }));
    await patchSpec('ladder', '/spec/ladder', { preset: '480p', passthrough: true });
    const waiting = await streams.until('ladder', 'WaitingForNextSession', (l) =>
      condition(l, 'SpecApplied')?.reason === 'WaitingForNextSession' ? l : undefined,
    );
    expect(condition(waiting, 'SpecApplied')?.message).toMatch(/^spec\.ladder changed during session/);
    expect(waiting.metadata.generation).toBe((first.metadata.generation ?? 0) + 1);
    expect(waiting.status?.observedGeneration).toBe(first.metadata.generation);
    await writer.report('session-ended', s, { duration: 5, bytesIn: 5, peakViewers: 0, reason: 'window-expired' });
    await streams.until('ladder', 'the new generation in effect', (l) =>
      l.status?.observedGeneration === l.metadata.generation ? true : undefined,
    );
  });
});
