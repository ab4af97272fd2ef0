// Sends reports to the Redis stream `livestream:events` without ever blocking or failing the stream: report() only
// queues; one writer loop delivers the queue in order (XADD batches in a pipeline) whenever Redis is ready. ioredis's
// own offline queue is off so that ordering and the bound on memory are ours (see report-buffer.ts).
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TranscoderMetrics } from '../telemetry/metrics.ts';
import {
  encodeEvent,
  eventsStream,
  eventsStreamMaxLen,
  isLifecycleEvent,
  type EventDataByType,
  type EventType,
  type TranscoderEvent,
} from '../../../contract/src/reports.ts';
import { ReportBuffer } from './report-buffer.ts';

export interface ReporterOptions {
  redisUrl?: string | undefined; // absent: reports are discarded (logged once), e.g. when running without Redis
  namespace: string;
  name: string;
  maxBuffered?: number; // default 10,000 reports (~3 MB): 13 hours of heartbeats at one per 5 s
  metrics?: TranscoderMetrics;
  logger?: Logger;
  batchSize?: number; // XADDs per pipeline round trip, default 100
}

export interface Reporter {
  report<T extends EventType>(type: T, session: string, data: EventDataByType[T]): void;
  // Tries to deliver what is buffered (up to flushTimeoutMs, default 3 s), then disconnects.
  close(options?: { flushTimeoutMs?: number }): Promise<void>;
  readonly buffered: number;
}

interface Pending extends TranscoderEvent {
  lifecycle: boolean;
}

// Reconnect delay: exponential from 100 ms to 5 s, with jitter so many pods do not reconnect in lockstep.
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(100 * 2 ** Math.min(attempt, 10), 5_000);
  return Math.round(base * (0.75 + random() * 0.5));
}

export function createReporter(options: ReporterOptions): Reporter {
  const { namespace, name, metrics, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const buffer = new ReportBuffer<Pending>(options.maxBuffered ?? 10_000);
  let seq = 0;
  let inFlight = 0;
  let closed = false;
  let draining: Promise<void> | undefined;

  const updateGauge = (): void => metrics?.reportsBuffered.set(buffer.length + inFlight);
  let dropsSinceLog = 0;
  const countDrops = (dropped: readonly Pending[]): void => {
    if (dropped.length === 0) return;
    metrics?.reportsDroppedTotal.inc(dropped.length);
    // One warning per outage, not one per report.
    if (dropsSinceLog === 0) logger?.warn({ bound: buffer.max }, 'report buffer full: dropping reports');
    dropsSinceLog += dropped.length;
  };

  if (!options.redisUrl) {
    logger?.info('no Redis URL: reports are not sent');
    return {
      report() {},
      close: async () => {},
      get buffered() {
        return 0;
      },
    };
  }

  const redis = new Redis(options.redisUrl, {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => (closed ? null : reconnectDelayMs(attempt)),
    connectTimeout: 5_000,
    lazyConnect: false,
  });

  // ioredis emits `error` on every failed reconnect attempt: log the transition, not each attempt.
  let down = false;
  redis.on('error', (err: Error) => {
    if (down || closed) return;
    down = true;
    logger?.warn({ err: err.message, buffered: buffer.length }, 'Redis unreachable: buffering reports');
  });
  redis.on('ready', () => {
    if (down) {
      logger?.info({ buffered: buffer.length, dropped: dropsSinceLog }, 'Redis reachable again: delivering reports');
    }
    down = false;
    dropsSinceLog = 0;
    kick();
  });

  const waitForReady = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      redis.once('ready', done);
    });

  async function deliverBatch(): Promise<void> {
    const batch = buffer.takeFront(batchSize);
    inFlight = batch.length;
    let delivered = 0;
    try {
      const pipeline = redis.pipeline();
      for (const event of batch) {
        pipeline.xadd(eventsStream, 'MAXLEN', '~', eventsStreamMaxLen, '*', ...encodeEvent(event));
      }
      const results = (await pipeline.exec()) ?? [];
      // Commands on one connection complete in order: keep the delivered prefix, retry the rest.
      while (delivered < batch.length && results[delivered] && !results[delivered]![0]) delivered++;
    } catch {
      // connection lost or not writable: everything in the batch is retried after reconnecting
    } finally {
      inFlight = 0;
      countDrops(buffer.returnFront(batch.slice(delivered)));
      updateGauge();
    }
    if (delivered < batch.length) await waitForReady(1_000);
  }

  async function drain(): Promise<void> {
    while (buffer.length > 0) {
      if (redis.status !== 'ready') {
        if (closed) return;
        await waitForReady(1_000);
        continue;
      }
      await deliverBatch();
      if (closed && redis.status !== 'ready') return;
    }
  }

  // Single writer: at most one drain loop runs; report() and `ready` only start one if none is running.
  function kick(): void {
    if (draining || buffer.length === 0) return;
    draining = drain()
      .catch((err: unknown) => logger?.error({ err }, 'report writer failed'))
      .finally(() => {
        draining = undefined;
        if (buffer.length > 0 && redis.status === 'ready' && !closed) kick();
      });
  }

  return {
    report(type, session, data) {
      try {
        if (closed) return;
        seq++;
        const event: Pending = {
          type,
          namespace,
          name,
          session,
          seq,
          ts: Date.now(),
          data,
          lifecycle: isLifecycleEvent(type),
        };
        countDrops(buffer.push(event));
        updateGauge();
        kick();
      } catch (err) {
        logger?.error({ err }, 'report failed');
      }
    },

    async close({ flushTimeoutMs = 3_000 } = {}) {
      if (closed) return;
      kick();
      if (draining) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, flushTimeoutMs)));
        await Promise.race([draining, timeout]);
        clearTimeout(timer);
      }
      closed = true;
      const undelivered = buffer.length + inFlight;
      if (undelivered > 0) logger?.warn({ undelivered }, 'closing reporter with undelivered reports');
      if (redis.status === 'ready') {
        await redis.quit().catch(() => redis.disconnect());
      } else {
        redis.disconnect();
      }
    },

    get buffered() {
      return buffer.length + inFlight;
    },
  };
}
