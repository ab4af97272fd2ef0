// Issue 5 end to end without a node: real API server, real Redis, the real operator, the real transcoder run as a
// local process configured exactly as its pod, and a real ffmpeg publisher. `kubectl get livestreams` must match
// what a viewer sees.
import { readdir } from 'node:fs/promises';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { channelStream } from '../../../contract/src/report-streams.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { startTranscoderLikeItsPod, type TranscoderProcess } from '../../../test/support/transcoder-process.ts';
import { group, plural, version, type LiveStream } from '../../../contract/src/api/index.ts';
import { consumerGroup } from './events-consumer.ts';
import { heartbeatTtlMs } from './reconciler.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';

const windowSeconds = 5;

describe('publish state in the LiveStream status', () => {
  const cluster = useTestCluster('publish');
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  let redis: RedisProcess;
  let operator: OperatorProcess;
  let transcoder: TranscoderProcess;
  let publisher: Publisher | undefined;
  const get = () =>
    custom.getNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: cluster.namespace,
      name: 'show',
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
      env: { LSO_REDIS_URL: redis.url, LSO_RESYNC_SECONDS: '30' },
    });
  const firstSegmentAt = async () => {
    for (;;) {
      const files = await readdir(transcoder.hlsDir, { recursive: true }).catch(() => [] as string[]);
      if (files.some((f) => f.endsWith('.ts'))) return Date.now();
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    redis = await startRedisProcess();
    await applyLiveStreamCrd(cluster.kubectl);
    operator = await startOp();
    await cluster.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({
        apiVersion: `${group}/${version}`,
        kind: 'LiveStream',
        metadata: { name: 'show', namespace: cluster.namespace },
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
    transcoder = await startTranscoderLikeItsPod(cluster.kc, cluster.namespace, 'show');
  });

  afterAll(async () => {
    await publisher?.kill();
    await transcoder?.stop();
    await operator?.stop();
    await redis?.stop();
  });

  it('is Idle once the transcoder reports, and Live with bitrate and resolution within 3 s of the first segment', async () => {
    await whenState('Idle', 20_000);
    publisher = startPublisher({ url: transcoder.publishUrl, size: '320x240', fps: 15, gopSeconds: 1, videoKbps: 300 });
    const segmentAt = await firstSegmentAt();
    const live = await eventually(
      async () => {
        const ls = await get();
        return ls.status?.state === 'Live' &&
          (ls.status.bitrateKbps ?? 0) > 0 &&
          ls.status.session?.resolution === '320x240'
          ? ls
          : undefined;
      },
      20_000,
      'Live with figures',
    );
    const lag = (Date.now() - segmentAt) / 1000;
    expect(lag).toBeLessThan(3);
    expect(live.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Live' });
    expect(live.status?.session?.fps).toBeGreaterThan(10);
    // The transcoder's heartbeat names the settings its ladder was planned from: the operator agrees they are the spec's.
    await eventually(
      async () =>
        (await get()).status?.conditions?.find((c) => c.type === 'SpecApplied' && c.reason === 'SessionMatchesSpec'),
      10_000,
      'SpecApplied=True (SessionMatchesSpec) from the real transcoder',
    );
    const table = await cluster.kubectl(['get', 'livestreams', '-n', cluster.namespace]);
    expect(table).toMatch(/show\s+Live\s+True\s+rtmp:\/\/show\.\S+\s+\d+\s+[1-9]\d*/);
    console.log(`live ${lag.toFixed(2)} s after the first segment`);
  });

  it('is Reconnecting during the window after the publisher stops, then Idle, with the session in history', async () => {
    const session = (await get()).status?.session?.id;
    expect(session).toBeTruthy();
    await publisher?.stop();
    const stoppedAt = Date.now();
    await whenState('Reconnecting', 5_000);
    const idle = await whenState('Idle', (windowSeconds + 8) * 1000);
    const after = (Date.now() - stoppedAt) / 1000;
    expect(after).toBeLessThan(windowSeconds + 3 + 2); // window + 3 s, plus the publisher's own shutdown
    expect(idle.status?.conditions?.find((c) => c.type === 'Publishing')?.reason).toBe('NoPublisher');
    // The transcoder's session-ended report may land a moment after the window closes.
    const entry = await eventually(
      async () => (await get()).status?.sessions?.find((s) => s.id === session),
      3_000,
      'history',
    );
    expect(entry?.durationSeconds).toBeGreaterThan(3);
    expect(entry?.endReason).toBe('window-expired');
    const events = await cluster.eventReasons('show');
    expect(events).toContain('PublishStarted');
    expect(events).toContain('PublishEnded');
  });

  it(`is no longer Live within the heartbeat TTL (${heartbeatTtlMs / 1000} s) after kill -9 of the transcoder, its session closed, and recovers`, async () => {
    publisher = startPublisher({ url: transcoder.publishUrl, size: '320x240', fps: 15, gopSeconds: 1, videoKbps: 300 });
    const live = await whenState('Live', 20_000);
    const session = live.status?.session?.id;
    await transcoder.kill9();
    const killedAt = Date.now();
    const stale = await eventually(
      async () => {
        const ls = await get();
        return ls.status?.state !== 'Live' && ls.status?.sessions?.some((s) => s.id === session) ? ls : undefined;
      },
      heartbeatTtlMs + 5_000,
      'not Live, the session in status.sessions',
    );
    const closedAfter = (Date.now() - killedAt) / 1000;
    expect(closedAfter).toBeLessThan(heartbeatTtlMs / 1000 + 5);
    expect(stale.status?.conditions?.find((c) => c.type === 'Publishing')?.reason).toBe('HeartbeatLost');
    expect(stale.status?.sessions?.find((s) => s.id === session)?.endReason).toBe('TranscoderLost');
    await publisher.kill();
    await transcoder.restart();
    publisher = startPublisher({ url: transcoder.publishUrl, size: '320x240', fps: 15, gopSeconds: 1, videoKbps: 300 });
    await whenState('Live', 30_000);
  });

  it('loses no report when the operator is killed mid-stream: pending ones are claimed and the status converges', async () => {
    const session = (await get()).status?.session?.id;
    await operator.kill();
    // While no operator runs, the session ends (publisher gone, window expires): its reports wait in Redis.
    await publisher?.stop();
    await new Promise((r) => setTimeout(r, (windowSeconds + 2) * 1000));
    operator = await startOp();
    const idle = await whenState('Idle', 30_000);
    expect(idle.status?.sessions?.some((s) => s.id === session)).toBe(true);
    // Every report read by the dead replica or since has been acknowledged once written.
    const client = new Redis(redis.url);
    try {
      await eventually(
        async () => {
          const summary = (await client.xpending(
            channelStream({ namespace: cluster.namespace, name: 'show' }),
            consumerGroup,
          )) as [number, ...unknown[]];
          return summary[0] === 0 ? true : undefined;
        },
        20_000,
        'no pending report',
      );
    } finally {
      client.disconnect();
    }
  });

  it('recovers when Redis restarts mid-stream, without restarting anything', async () => {
    publisher = startPublisher({ url: transcoder.publishUrl, size: '320x240', fps: 15, gopSeconds: 1, videoKbps: 300 });
    await whenState('Live', 30_000);
    const operatorPid = operator.child.pid;
    await redis.stop();
    await new Promise((r) => setTimeout(r, 3_000));
    await redis.start();
    // Reports flow again: the figures move and the status stays (or comes back to) Live.
    const before = (await get()).status?.session?.bytesIn ?? 0;
    await eventually(
      async () => {
        const ls = await get();
        return ls.status?.state === 'Live' && (ls.status.session?.bytesIn ?? 0) > before ? true : undefined;
      },
      30_000,
      'Live with moving figures after the Redis restart',
    );
    expect(operator.child.pid).toBe(operatorPid);
    expect(operator.child.exitCode).toBeNull();
  });
});
