import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.ts';

describe('WorkQueue', () => {
  it('dedupes waiting keys and never runs one key twice at once', async () => {
    const running = new Set<string>();
    const runs: string[] = [];
    let overlap = false;
    const q = new WorkQueue({
      concurrency: 4,
      process: async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        runs.push(key);
        await sleep(20);
        running.delete(key);
      },
    });
    q.add('a');
    q.add('a');
    q.add('b');
    q.start();
    await sleep(5);
    q.add('a'); // in flight: runs once more afterwards
    q.add('a');
    await sleep(80);
    await q.shutdown();
    expect(overlap).toBe(false);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.filter((k) => k === 'b')).toHaveLength(1);
  });

  it('retries failures with growing delays and honours requeue-after', async () => {
    const times: number[] = [];
    let requeued = 0;
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { baseMs: 20, maxMs: 1000, jitter: 0 },
      process: (key) => {
        if (key === 'flaky') {
          times.push(Date.now());
          return times.length < 3 ? Promise.reject(new Error('boom')) : Promise.resolve();
        }
        requeued++;
        return Promise.resolve(requeued < 2 ? { requeueAfterMs: 30 } : undefined);
      },
    });
    q.start();
    q.add('flaky');
    q.add('later');
    await sleep(200);
    await q.shutdown();
    expect(times).toHaveLength(3);
    const gaps = [times[1]! - times[0]!, times[2]! - times[1]!];
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(requeued).toBe(2);
  });

  it('takes urgent keys before normal ones, moves a waiting key ahead once, and keeps an in-flight key urgent', async () => {
    const runs: string[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      process: async (key) => {
        runs.push(key);
        if (key === 'n1' && runs.length === 3) {
          q.add('n1', 'urgent'); // in flight: runs again, before the normal keys still waiting
          q.add('n1');
        }
        await sleep(5);
      },
    });
    for (const key of ['n1', 'n2', 'n3', 'n4']) q.add(key);
    q.add('u1', 'urgent');
    q.add('n3', 'urgent');
    q.add('n3'); // a normal add does not move it back
    q.add('u1', 'urgent');
    expect(q.depth).toBe(5);
    q.start();
    await sleep(80);
    await q.shutdown();
    expect(runs).toEqual(['u1', 'n3', 'n1', 'n1', 'n2', 'n4']);
  });

  it('takes low keys (resyncs) only when no other waits, and moves one ahead when an event adds it', async () => {
    const runs: string[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      process: async (key) => {
        runs.push(key);
        if (key === 'r1' && !runs.includes('e1')) {
          q.add('r1', 'low'); // in flight: runs again, in the low lane
          q.add('e1'); // an event while the resync runs goes before the rest of it
        }
        await sleep(5);
      },
    });
    for (const key of ['r1', 'r2', 'r3', 'r4']) q.add(key, 'low');
    q.add('r3'); // an event for a key the resync queued
    q.add('r3', 'low'); // the resync again does not move it back
    q.add('u1', 'urgent');
    expect(q.depth).toBe(5);
    q.start();
    await sleep(100);
    await q.shutdown();
    expect(runs).toEqual(['u1', 'r3', 'r1', 'e1', 'r2', 'r4', 'r1']);
  });
});
