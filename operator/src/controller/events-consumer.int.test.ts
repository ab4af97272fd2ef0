// The report consumer against a real Redis holding a fleet's streams. The pass that claims abandoned entries and
// trims acknowledged ones goes over every stream (four commands each) every claimIdleMs; it runs on a connection of
// its own beside the reads, so a report is folded within a read round however long the pass takes.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { channelStream } from '../../../contract/src/report-streams.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { liveHeartbeat, reportWriter } from '../../../test/support/report-writer.ts';
import { consumerGroup, EventsConsumer } from './events-consumer.ts';

const fleet = 5_000; // streams with a group, as in bench-fleet, whose pass over them held reads back for seconds
const namespace = 'fleet';
const streams = Array.from({ length: fleet }, (_, i) => channelStream({ namespace, name: `ch-${i}` }));

let redis: RedisProcess;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedisProcess();
  admin = new Redis(redis.url);
  for (let i = 0; i < fleet; i += 500) {
    const pipeline = admin.pipeline();
    for (const s of streams.slice(i, i + 500)) pipeline.xgroup('CREATE', s, consumerGroup, '$', 'MKSTREAM');
    await pipeline.exec();
  }
}, 60_000);

afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

describe('the report consumer with a fleet of streams', () => {
  it('folds each report within a read round while claim-and-trim passes go over every stream', async () => {
    const folded = new Map<number, number>(); // seq -> when folded
    const consumer = new EventsConsumer({
      redisUrl: redis.url,
      consumer: 'op-0',
      logger: createLogger('consumer-test', 'warn'),
      channels: { streams: () => streams, forget: () => {}, resync: () => {} },
      // The first fold: an entry left unacknowledged (nothing writes a status here) is claimed and folded again.
      onReport: (_key, _transition, event) => void (folded.has(event.seq) || folded.set(event.seq, Date.now())),
      claimIdleMs: 500, // a pass every half second: several of them during the writes
    });
    consumer.start();
    const writer = reportWriter(admin, namespace, 'ch-7');
    const written = new Map<number, number>();
    try {
      await new Promise((r) => setTimeout(r, 1_000)); // the first pass is on its way
      for (let seq = 1; seq <= 60; seq++) {
        written.set(seq, Date.now());
        await writer.report('heartbeat', 's1', liveHeartbeat(seq));
        await new Promise((r) => setTimeout(r, 50));
      }
      const deadline = Date.now() + 10_000;
      while (folded.size < written.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await consumer.stop();
    }
    expect(folded.size).toBe(written.size);
    const latencies = [...written].map(([seq, at]) => folded.get(seq)! - at).sort((a, b) => a - b);
    // A read round over 5,000 streams is five XREADGROUPs; a pass is 20,000 commands.
    // Measured: at most ~120 ms beside the passes; ~330 to 390 ms when a pass held the reads back.
    expect(latencies.at(-1)).toBeLessThan(250);
    // Nothing lost: every entry is pending at this consumer (none is acknowledged here, so the passes trim none).
    const pending = (await admin.xpending(streams[7]!, consumerGroup)) as [number, ...unknown[]];
    expect(pending[0]).toBe(written.size);
  }, 60_000);

  it('times each transition from its read to its acknowledgement, and nothing for a report without one', async () => {
    const observed: number[] = [];
    const keys: string[] = [];
    const consumer = new EventsConsumer({
      redisUrl: redis.url,
      consumer: 'op-1',
      logger: createLogger('consumer-test', 'warn'),
      channels: { streams: () => [streams[9]!], forget: () => {}, resync: () => {} },
      onReport: (key) => void keys.push(key),
      transitionToStatus: { observe: (seconds) => void observed.push(seconds) },
    });
    consumer.start();
    const key = `${namespace}/ch-9`;
    const writer = reportWriter(admin, namespace, 'ch-9');
    try {
      await writer.report('heartbeat', '', { ...liveHeartbeat(0), state: 'idle' });
      await writer.report('publish-started', 's1', { resumed: false, width: 1280, height: 720 });
      const deadline = Date.now() + 10_000;
      while (consumer.pendingIds(key).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const [heartbeat, started] = consumer.pendingIds(key);
      await consumer.ack(key, [heartbeat!]);
      expect(observed).toEqual([]);
      await new Promise((r) => setTimeout(r, 100));
      await consumer.ack(key, [started!]);
      await consumer.ack(key, [started!]); // a second ack of the same entry is not timed again
    } finally {
      await consumer.stop();
    }
    expect(keys).toEqual([key, key]);
    expect(observed).toHaveLength(1);
    expect(observed[0]).toBeGreaterThanOrEqual(0.1);
    expect(observed[0]).toBeLessThan(5);
  }, 30_000);
});
