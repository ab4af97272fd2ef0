// Issue 12: a report that does not match the protocol cannot wedge the consumer. Real API server, real Redis, the
// real operator as a process: a valid report, a poison `session-ended` with `data: {}`, and a second valid report,
// written in one transaction so the operator reads them in one batch (the poison sits between the two).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { liveStreams } from '../../../test/support/livestreams.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { eventually, startOperator, type OperatorProcess } from '../../../test/support/operator-process.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { encodeEvent, type TranscoderEvent } from '../../../contract/src/reports.ts';
import { channelStream } from '../../../contract/src/report-streams.ts';
import { consumerGroup } from './events-consumer.ts';

const invalidMetric = /^livestream_operator_reports_invalid_total\{type="session-ended"\} (\d+)$/m;

describe('a poison report between two valid ones', () => {
  const cluster = useTestCluster('poison');
  const streams = liveStreams(cluster);
  let redis: RedisProcess;
  let client: Redis;
  let operator: OperatorProcess;
  const ended = (session: string, seq: number, ts: number): TranscoderEvent<'session-ended'> => ({
    type: 'session-ended',
    namespace: cluster.namespace,
    name: 'show',
    session,
    seq,
    ts,
    data: { duration: 30, bytesIn: 1000 * seq, peakViewers: seq, reason: 'shutdown' },
  });

  beforeAll(async () => {
    redis = await startRedisProcess();
    client = new Redis(redis.url);
    await applyLiveStreamCrd(cluster.kubectl);
    operator = await startOperator({
      kubeconfig: cluster.kubeconfig,
      namespace: cluster.namespace,
      env: { LSO_REDIS_URL: redis.url },
    });
    await streams.apply('show', {});
    await streams.until('show', 'a first status', (ls) => ls.status?.state);
  });

  afterAll(async () => {
    client?.disconnect();
    await operator?.stop();
    await redis?.stop();
  });

  it('acks and counts the poison once, and both valid reports land in status', async () => {
    const now = Date.now();
    const poison = encodeEvent(ended('s-poison', 2, now - 20_000)).map((v, i, all) =>
      all[i - 1] === 'data' ? '{}' : v,
    );
    // Written as admin in one MULTI (which the channel's user may not run), into the channel's own stream.
    const stream = channelStream({ namespace: cluster.namespace, name: 'show' });
    await client
      .multi()
      .xadd(stream, '*', ...encodeEvent(ended('s-first', 1, now - 30_000)))
      .xadd(stream, '*', ...poison)
      .xadd(stream, '*', ...encodeEvent(ended('s-second', 3, now - 10_000)))
      .exec();

    // Well within the consumer's 10 s re-claim interval: nothing waits for a retry of the poison.
    const sessions = await streams.until(
      'show',
      'both valid sessions in status',
      (ls) => {
        const ids = ls.status?.sessions?.map((s) => s.id) ?? [];
        return ids.includes('s-first') && ids.includes('s-second') ? ids : undefined;
      },
      8_000,
    );
    expect(sessions).not.toContain('s-poison');

    const pending = await eventually(
      async () => {
        const summary = (await client.xpending(stream, consumerGroup)) as [number, ...unknown[]];
        return summary[0] === 0 ? summary[0] : undefined;
      },
      8_000,
      'no pending report',
    );
    expect(pending).toBe(0);

    const metrics = await operator.metrics();
    expect(metrics.match(invalidMetric)?.[1]).toBe('1');
    // Logged once, with its type and why, never its data; and not as a Redis outage.
    const lines = operator
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; type?: string; reason?: string });
    const logged = lines.filter((l) => l.msg?.startsWith('invalid report'));
    expect(logged.map((l) => [l.type, l.reason?.split(':')[0]])).toEqual([['session-ended', 'data.duration']]);
    expect(lines.filter((l) => l.msg?.includes('cannot read reports from Redis'))).toEqual([]);
  });
});
