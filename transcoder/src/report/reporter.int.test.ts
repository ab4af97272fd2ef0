// The reporter against a real redis-server that is stopped and started again mid-run, connected as its channel's
// ACL user (the contract's rules, as the operator applies them): XADD to its own stream and PING are all it may do,
// so these tests also prove the reporter sends nothing else. A restarted Redis has lost the user until it is applied
// again (the operator does that after it reconnects).
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyChannelUser, startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { createTranscoderMetrics, type TranscoderMetrics } from '../telemetry/metrics.ts';
import { channelStream } from '../../../contract/src/report-streams.ts';
import { parseEvent, type HeartbeatData, type TranscoderEvent } from '../../../contract/src/reports.ts';
import { createReporter, type Reporter } from './reporter.ts';

let redis: RedisProcess;
let reader: Redis;
let reporter: Reporter | undefined;
let metrics: TranscoderMetrics;
let logLines: string[];
let channelUrl: string;
const news = { namespace: 'media', name: 'news' };
const eventsStream = channelStream(news);
const password = 'reporter-test-password-0123';
/** What the operator does after (re)connecting to Redis. */
const applyUser = async () => (channelUrl = await applyChannelUser(reader, redis.url, news, password));
/** Starts Redis again and applies the user `afterMs` later (the reporter reconnects first and is refused). */
async function restartRedis(afterMs: number): Promise<void> {
  await redis.start();
  await new Promise((r) => setTimeout(r, afterMs));
  await waitFor('admin reconnected', () => reader.ping());
  await applyUser();
}

const heartbeat = (n: number): HeartbeatData => ({
  state: 'live',
  bitrateKbps: 1000 + n,
  fps: 30,
  width: 1280,
  height: 720,
  viewers: n,
  bytesIn: n * 1000,
  segments: { '720p': n },
});

async function readAll(): Promise<TranscoderEvent[]> {
  const entries = await reader.xrange(eventsStream, '-', '+');
  return entries.map(([, fields]) => parseEvent(fields));
}

function makeReporter(maxBuffered?: number): Reporter {
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      logLines.push(...chunk.toString().trim().split('\n'));
      cb();
    },
  });
  reporter = createReporter({
    redisUrl: channelUrl,
    namespace: 'media',
    name: 'news',
    metrics,
    logger: pino({ level: 'info' }, out),
    ...(maxBuffered ? { maxBuffered } : {}),
  });
  return reporter;
}

beforeAll(async () => {
  redis = await startRedisProcess();
  reader = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
  reader.on('error', () => {}); // the reader reconnects by itself after the outages below
  await reader.connect();
});

afterAll(async () => {
  reader?.disconnect();
  await redis?.stop();
});

beforeEach(async () => {
  await redis.start();
  await reader.ping();
  await reader.del(eventsStream);
  await applyUser();
  await reader.call('ACL', 'LOG', 'RESET');
  metrics = createTranscoderMetrics(new Registry(), { defaultMetrics: false });
  logLines = [];
});

afterEach(async () => {
  await reporter?.close({ flushTimeoutMs: 500 });
  reporter = undefined;
});

describe('reporter', () => {
  it('writes every report to the stream with the contract fields and increasing seq', async () => {
    const r = makeReporter();
    r.report('publish-started', 's1', { resumed: false, width: 1280, height: 720, fps: 30 });
    for (let i = 1; i <= 20; i++) r.report('heartbeat', 's1', heartbeat(i));
    r.report('publish-ended', 's1', { reconnectWindowSeconds: 30, bytesIn: 123 });
    r.report('session-ended', 's1', { duration: 12, bytesIn: 123, peakViewers: 7, reason: 'window-expired' });
    await waitFor('delivery', async () => (await reader.xlen(eventsStream)) === 23);
    const events = await readAll();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(events[0]).toMatchObject({ type: 'publish-started', namespace: 'media', name: 'news', session: 's1' });
    expect(events[22]).toMatchObject({ type: 'session-ended', data: { peakViewers: 7, reason: 'window-expired' } });
    expect(events.every((e, i) => i === 0 || e.ts >= events[i - 1]!.ts)).toBe(true);
    const raw = await reader.xrange(eventsStream, '-', '+', 'COUNT', 1);
    expect(raw[0]![1].filter((_, i) => i % 2 === 0)).toEqual([
      'type',
      'namespace',
      'name',
      'session',
      'seq',
      'ts',
      'data',
    ]);
    expect(r.buffered).toBe(0);
    // Nothing the reporter sent was refused: its connection needs no more than the channel's rules grant.
    expect(await reader.call('ACL', 'LOG')).toEqual([]);
  });

  it('buffers while Redis is down and delivers everything in order when it returns', async () => {
    const r = makeReporter();
    let n = 0;
    const tick = setInterval(() => r.report('heartbeat', 's2', heartbeat(++n)), 20);
    try {
      await waitFor('some heartbeats delivered', async () => (await reader.xlen(eventsStream)) >= 10);
      await redis.stop();
      const t0 = Date.now();
      r.report('publish-ended', 's2', { reconnectWindowSeconds: 30, bytesIn: 1 });
      expect(Date.now() - t0).toBeLessThan(5); // report() never waits for Redis
      await waitFor('reports buffered', () => r.buffered >= 50);
      r.report('publish-started', 's2', { resumed: true });
      expect(await metrics.reportsBuffered.get()).toMatchObject({ values: [{ value: r.buffered }] });
      // A fresh, empty server: only what was buffered (and later reports) can appear; the user comes 1.5 s after.
      await restartRedis(1_500);
      await waitFor('buffer drained', () => r.buffered === 0);
    } finally {
      clearInterval(tick);
    }
    const lastSeq = n + 2;
    await waitFor('last report', async () => (await readAll()).at(-1)?.seq === lastSeq);
    const events = await readAll();
    const seqs = events.map((e) => e.seq);
    // In order and without gaps from the first report buffered during the outage to the last one made.
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    expect(events.some((e) => e.type === 'publish-ended')).toBe(true);
    expect(events.some((e) => e.type === 'publish-started')).toBe(true);
    expect((await metrics.reportsDroppedTotal.get()).values[0]?.value ?? 0).toBe(0);
    // One warning for the outage and one notice for the recovery, not one line per reconnect attempt.
    expect(logLines.filter((l) => l.includes('Redis unreachable')).length).toBe(1);
    expect(logLines.filter((l) => l.includes('Redis reachable again')).length).toBe(1);
  }, 60_000);

  it('when the buffer bound is hit, drops old heartbeats first and counts every drop', async () => {
    const r = makeReporter(6);
    r.report('heartbeat', 's3', heartbeat(0));
    await waitFor('first delivery', async () => (await reader.xlen(eventsStream)) === 1);
    await redis.stop();
    await waitFor('writer noticed the outage', () => logLines.some((l) => l.includes('Redis unreachable')));
    r.report('publish-ended', 's3', { reconnectWindowSeconds: 30, bytesIn: 1 }); // seq 2
    for (let i = 1; i <= 10; i++) r.report('heartbeat', 's3', heartbeat(i)); // seq 3..12
    r.report('publish-started', 's3', { resumed: true }); // seq 13
    r.report('ffmpeg-failed', 's3', { exitCode: 1, signal: null, restarts: 1 }); // seq 14
    expect(r.buffered).toBe(6);
    expect((await metrics.reportsDroppedTotal.get()).values[0]?.value).toBe(13 - 6);
    await restartRedis(0);
    await waitFor('buffer drained', () => r.buffered === 0);
    await waitFor('all delivered', async () => (await reader.xlen(eventsStream)) === 6);
    const events = await readAll();
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [2, 'publish-ended'],
      [10, 'heartbeat'],
      [11, 'heartbeat'],
      [12, 'heartbeat'],
      [13, 'publish-started'],
      [14, 'ffmpeg-failed'],
    ]);
  }, 60_000);

  it('flushes what it can on close, and never throws without Redis', async () => {
    const r = makeReporter();
    for (let i = 1; i <= 100; i++) r.report('heartbeat', 's4', heartbeat(i));
    await r.close();
    reporter = undefined;
    expect(await reader.xlen(eventsStream)).toBe(100);

    await redis.stop();
    const offline = makeReporter();
    offline.report('publish-refused', '', { reason: 'bad_key' });
    const t0 = Date.now();
    await offline.close({ flushTimeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(logLines.some((l) => l.includes('undelivered'))).toBe(true);
  });

  it('is a no-op without a Redis URL', async () => {
    const r = createReporter({ namespace: 'media', name: 'news' });
    r.report('heartbeat', 's5', heartbeat(1));
    expect(r.buffered).toBe(0);
    await r.close();
  });
});
