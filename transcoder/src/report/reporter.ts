// Sends reports to the channel's own Redis stream (`livestream:events:<namespace>:<name>`, contract/src/report-streams.ts)
// without ever blocking or failing the stream: report() only queues; one writer loop delivers the queue in order (XADD
// batches in a pipeline) whenever Redis is ready. ioredis's own offline queue is off so that ordering and the bound on
// memory are ours (see report-buffer.ts). The URL carries the channel's ACL user, which may only XADD to that stream
// (and PING): the connection sends nothing else (no INFO ready check, no CLIENT SETINFO).
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { TranscoderMetrics } from '../telemetry/metrics.ts';
import { channelStream } from '../../../contract/src/report-streams.ts';
import {
  encodeEvent,
  eventsStreamMaxLen,
  isLifecycleEvent,
  type EventDataByType,
  type EventType,
  type TranscoderEvent,
} from '../../../contract/src/reports.ts';
import { ReportBuffer } from './report-buffer.ts';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';

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

// Reconnect delay: exponential from 100 ms to 5 s, jittered so many pods do not reconnect in lockstep.
export const reconnectBackoff: BackoffPolicy = { baseMs: 100, maxMs: 5_000, jitter: 0.3 };

export function createReporter(options: ReporterOptions): Reporter {
  if (options.redisUrl) return new RedisReporter(options.redisUrl, options);
  options.logger?.info('no Redis URL: reports are not sent');
  return discardingReporter;
}

const discardingReporter: Reporter = {
  report() {},
  close: async () => {},
  buffered: 0,
};

// ioredis's own queueing and resending are off: the buffer and the single writer below decide order and memory.
function connectionOptions(stopped: () => boolean): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => (stopped() ? null : backoffDelay(attempt, reconnectBackoff)),
    connectTimeout: 5_000,
    lazyConnect: false,
    // The channel user may not run INFO or CLIENT SETINFO (contract/src/report-streams.ts: channelAclRules).
    enableReadyCheck: false,
    disableClientInfo: true,
  };
}

class RedisReporter implements Reporter {
  private readonly options: ReporterOptions;
  private readonly batchSize: number;
  private readonly buffer: ReportBuffer<Pending>;
  private readonly redis: Redis;
  private readonly stream: string;
  private seq = 0;
  private inFlight = 0;
  private closed = false;
  private down = false;
  private dropsSinceLog = 0;
  private draining: Promise<void> | undefined;

  constructor(redisUrl: string, options: ReporterOptions) {
    this.options = options;
    this.batchSize = options.batchSize ?? 100;
    this.buffer = new ReportBuffer<Pending>(options.maxBuffered ?? 10_000);
    this.stream = channelStream(options);
    this.redis = new Redis(
      redisUrl,
      connectionOptions(() => this.closed),
    );
    this.redis.on('error', (err: Error) => this.onError(err));
    this.redis.on('ready', () => this.onReady());
  }

  get buffered(): number {
    return this.buffer.length + this.inFlight;
  }

  report<T extends EventType>(type: T, session: string, data: EventDataByType[T]): void {
    try {
      if (this.closed) return;
      this.seq++;
      const { namespace, name } = this.options;
      const event: Pending = {
        type,
        namespace,
        name,
        session,
        seq: this.seq,
        ts: Date.now(),
        data,
        lifecycle: isLifecycleEvent(type),
      };
      this.countDrops(this.buffer.push(event));
      this.updateGauge();
      this.kick();
    } catch (err) {
      this.options.logger?.error({ err }, 'report failed');
    }
  }

  async close({ flushTimeoutMs = 3_000 } = {}): Promise<void> {
    if (this.closed) return;
    this.kick();
    if (this.draining) await settledWithin(this.draining, flushTimeoutMs);
    this.closed = true;
    const undelivered = this.buffered;
    if (undelivered > 0) this.options.logger?.warn({ undelivered }, 'closing reporter with undelivered reports');
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }

  // ioredis emits `error` on every failed reconnect attempt: log the transition, not each attempt.
  private onError(err: Error): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.options.logger?.warn(
      { err: err.message, buffered: this.buffer.length },
      'Redis unreachable: buffering reports',
    );
  }

  private onReady(): void {
    if (this.down) {
      const progress = { buffered: this.buffer.length, dropped: this.dropsSinceLog };
      this.options.logger?.info(progress, 'Redis reachable again: delivering reports');
    }
    this.down = false;
    this.dropsSinceLog = 0;
    this.kick();
  }

  private updateGauge(): void {
    this.options.metrics?.reportsBuffered.set(this.buffered);
  }

  private countDrops(dropped: readonly Pending[]): void {
    if (dropped.length === 0) return;
    this.options.metrics?.reportsDroppedTotal.inc(dropped.length);
    // One warning per outage, not one per report.
    if (this.dropsSinceLog === 0)
      this.options.logger?.warn({ bound: this.buffer.max }, 'report buffer full: dropping reports');
    this.dropsSinceLog += dropped.length;
  }

  // Single writer: at most one drain loop runs; report() and `ready` only start one if none is running.
  private kick(): void {
    if (this.draining || this.buffer.length === 0) return;
    this.draining = this.drain()
      .catch((err: unknown) => this.options.logger?.error({ err }, 'report writer failed'))
      .finally(() => {
        this.draining = undefined;
        if (this.buffer.length > 0 && this.redis.status === 'ready' && !this.closed) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      if (this.redis.status !== 'ready') {
        if (this.closed) return;
        await this.waitForReady(1_000);
        continue;
      }
      await this.deliverBatch();
      if (this.closed && this.redis.status !== 'ready') return;
    }
  }

  private async deliverBatch(): Promise<void> {
    const batch = this.buffer.takeFront(this.batchSize);
    this.inFlight = batch.length;
    let delivered = 0;
    try {
      delivered = await this.xaddAll(batch);
    } catch {
      // connection lost or not writable: everything in the batch is retried after reconnecting
    } finally {
      this.inFlight = 0;
      this.countDrops(this.buffer.returnFront(batch.slice(delivered)));
      this.updateGauge();
    }
    if (delivered < batch.length) await this.waitForReady(1_000);
  }

  // One pipeline round trip; returns how many of the batch, from the front, were delivered.
  private async xaddAll(batch: readonly Pending[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const event of batch) {
      pipeline.xadd(this.stream, 'MAXLEN', '~', eventsStreamMaxLen, '*', ...encodeEvent(event));
    }
    const results = (await pipeline.exec()) ?? [];
    // Commands on one connection complete in order: keep the delivered prefix, retry the rest.
    let delivered = 0;
    while (delivered < batch.length && results[delivered] && !results[delivered]![0]) delivered++;
    return delivered;
  }

  private waitForReady(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.redis.once('ready', done);
    });
  }
}

// Waits for `work` to settle, or `ms`, whichever comes first.
async function settledWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([work, timeout]);
  clearTimeout(timer);
}
