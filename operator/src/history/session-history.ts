// The session history: fed by the operator from the same steps that make its events (report-events.ts), written to
// PostgreSQL in batches. record() turns a step into rows (session-rows.ts, pure), journals them on disk
// (history-spool.ts) and adds them to the pending rows; a loop migrates the schema once, then writes what is pending
// every flush interval in one transaction, and deletes what is past retention. A failed write keeps the rows pending
// and retries after the project's backoff; nothing is dropped unless the spool's bound is reached, and then counted.
import type { Logger } from 'pino';
import pg from 'pg';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import type { AnyEvent } from '../../../contract/src/reports.ts';
import type { PublishObservation, PublishTransition } from '../controller/publish-state.ts';
import { splitKey } from '../runtime/controller.ts';
import { databaseTarget, type HistoryConfig } from './history-config.ts';
import type { HistoryMetrics } from './history-metrics.ts';
import { HistorySpool } from './history-spool.ts';
import { deleteOlderThan, migrateHistory, writeBatch } from './history-store.ts';
import {
  batchRows,
  defaultViewerSpan,
  emptyBatch,
  historyStep,
  isEmptyBatch,
  mergeBatch,
  mergeInto,
  type ChannelTrack,
  type HistoryBatch,
  type ViewerSpan,
} from './session-rows.ts';

/** The database side, as the history uses it (PostgreSQL in production, a fake in unit tests). */
export interface HistoryDatabase {
  migrate(): Promise<void>;
  write(batch: HistoryBatch): Promise<void>;
  deleteOlderThan(cutoffMs: number): Promise<{ sessions: number; minutes: number }>;
  end(): Promise<void>;
}

export interface SessionHistoryOptions {
  database: HistoryDatabase;
  spool: HistorySpool;
  logger: Logger;
  /** The LiveStream of a key from the cache: its uid and status.recordings. */
  liveStream?: (key: string) => LiveStream | undefined;
  flushIntervalMs?: number;
  /** 0 keeps everything */
  retentionDays?: number;
  retentionIntervalMs?: number;
  backoff?: BackoffPolicy;
  metrics?: HistoryMetrics;
  span?: ViewerSpan;
  now?: () => number;
}

const dayMs = 86_400_000;
const defaultBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 10_000, jitter: 0.3 };

export class SessionHistory {
  private readonly opts: SessionHistoryOptions;
  private readonly tracks = new Map<string, ChannelTrack>();
  private pending: HistoryBatch = emptyBatch();
  private inflight: HistoryBatch = emptyBatch();
  private migrated = false;
  private failures = 0;
  private nextAttemptAt = 0;
  private nextRetentionAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;
  private closed = false;
  private loggedFailure = false;

  constructor(opts: SessionHistoryOptions) {
    this.opts = opts;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Loads what an earlier process left in the spool and starts the write loop. */
  start(): void {
    mergeInto(this.pending, this.opts.spool.load());
    const left = batchRows(this.pending);
    if (left > 0) this.opts.logger.info({ rows: left }, 'session history: rows from the spool will be written');
    this.schedule();
  }

  /**
   * One step of the operator's report folding (or an expiry it decided): the rows it adds are on disk when this
   * returns. `obs` is the observation after the step; `event` the report applied, absent for an expiry.
   */
  record(key: string, transition: PublishTransition, obs?: PublishObservation, event?: AnyEvent): void {
    if (this.closed) return;
    const { namespace, name } = splitKey(key);
    const ls = this.opts.liveStream?.(key);
    const uid = ls?.metadata?.uid;
    const recordings = ls?.status?.recordings;
    const input = {
      namespace,
      name,
      transition,
      ...(uid !== undefined && { uid }),
      ...(obs !== undefined && { obs }),
      ...(event !== undefined && { event }),
      ...(recordings !== undefined && { recordings }),
    };
    const { track, batch } = historyStep(this.tracks.get(key), input, this.opts.span ?? defaultViewerSpan);
    this.tracks.set(key, track);
    if (isEmptyBatch(batch)) return;
    const result = this.opts.spool.append(batch, () => mergeBatch(mergeBatch(this.inflight, this.pending), batch));
    if (result === 'full') {
      this.opts.metrics?.rowsDropped.inc(batchRows(batch));
      this.logOnce('spool full', () =>
        this.opts.logger.error(
          { spoolBytes: this.opts.spool.bytes() },
          'session history spool is full while the database is unreachable: new rows are dropped until it is back',
        ),
      );
      return;
    }
    mergeInto(this.pending, batch);
    this.gauges();
  }

  /** A LiveStream that no longer exists: its track goes (its rows stay, until retention). */
  forget(key: string): void {
    this.tracks.delete(key);
  }

  /** Rows recorded and not committed yet. */
  pendingRows(): number {
    return batchRows(this.pending) + batchRows(this.inflight);
  }

  /** One round now: migrate if needed, write what is pending, retention when due. Resolves when it is done. */
  async flush(): Promise<void> {
    while (this.busy) await this.busy;
    const run = this.round();
    this.busy = run;
    try {
      await run;
    } finally {
      this.busy = undefined;
    }
  }

  /** Stops the loop, gives the pending rows one last try within `timeoutMs`; what is left stays in the spool. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const last = (async () => {
      while (this.busy) await this.busy;
      if (this.pendingRows() > 0 && this.now() >= this.nextAttemptAt) await this.flush();
    })();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([last, new Promise<void>((r) => (timeout = setTimeout(r, timeoutMs)))]);
    clearTimeout(timeout);
    await this.opts.database.end().catch(() => {});
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      if (this.busy) return this.schedule();
      void this.flush().finally(() => this.schedule());
    }, this.opts.flushIntervalMs ?? 1_000);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    if (this.now() < this.nextAttemptAt) return;
    try {
      if (!this.migrated) {
        await this.opts.database.migrate();
        this.migrated = true;
      }
      await this.writePending();
      await this.retention();
      if (this.failures > 0) this.opts.logger.info({ failures: this.failures }, 'session history: database is back');
      this.failures = 0;
      this.loggedFailure = false;
    } catch (err) {
      this.failures++;
      this.opts.metrics?.writeFailures.inc();
      const delay = backoffDelay(this.failures, this.opts.backoff ?? defaultBackoff);
      this.nextAttemptAt = this.now() + delay;
      this.logOnce('write', () =>
        this.opts.logger.warn(
          { err: err instanceof Error ? err.message : String(err), retryInMs: delay, pendingRows: this.pendingRows() },
          'session history: database unavailable; rows are kept in the spool and retried',
        ),
      );
    }
  }

  private async writePending(): Promise<void> {
    if (isEmptyBatch(this.pending)) return;
    const upTo = this.opts.spool.seal();
    this.inflight = this.pending;
    this.pending = emptyBatch();
    try {
      await this.opts.database.write(this.inflight);
    } catch (err) {
      // Older first: what was recorded during the attempt merges over what the attempt carried.
      this.pending = mergeBatch(this.inflight, this.pending);
      this.inflight = emptyBatch();
      throw err;
    }
    this.opts.metrics?.rowsWritten.inc({ table: 'sessions' }, Object.keys(this.inflight.sessions).length);
    this.opts.metrics?.rowsWritten.inc({ table: 'viewer_minutes' }, Object.keys(this.inflight.minutes).length);
    this.inflight = emptyBatch();
    this.opts.spool.release(upTo);
    this.gauges();
  }

  private async retention(): Promise<void> {
    const days = this.opts.retentionDays ?? 0;
    const now = this.now();
    if (days <= 0 || now < this.nextRetentionAt) return;
    const deleted = await this.opts.database.deleteOlderThan(now - days * dayMs);
    this.nextRetentionAt = now + (this.opts.retentionIntervalMs ?? 3_600_000);
    this.opts.metrics?.retentionDeleted.inc({ table: 'sessions' }, deleted.sessions);
    this.opts.metrics?.retentionDeleted.inc({ table: 'viewer_minutes' }, deleted.minutes);
    if (deleted.sessions + deleted.minutes > 0)
      this.opts.logger.info({ days, ...deleted }, 'session history retention');
  }

  private gauges(): void {
    this.opts.metrics?.spoolBytes.set(this.opts.spool.bytes());
    this.opts.metrics?.pendingRows.set(this.pendingRows());
  }

  private readonly logged = new Set<string>();
  private logOnce(what: string, log: () => void): void {
    if (what === 'write' && this.loggedFailure) return;
    if (what === 'write') this.loggedFailure = true;
    else if (this.logged.has(what)) return;
    this.logged.add(what);
    log();
  }
}

/** The PostgreSQL behind the history: a small pool, every query bounded in time. */
export function postgresHistoryDatabase(databaseUrl: string, logger: Logger): HistoryDatabase {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 2,
    connectionTimeoutMillis: 5_000,
    query_timeout: 15_000,
    idleTimeoutMillis: 30_000,
    application_name: 'livestream-operator',
  });
  // An idle client's error (the server restarted) must not crash the process: the next query reconnects.
  pool.on('error', () => {});
  return {
    migrate: async () => {
      const client = await pool.connect();
      try {
        const applied = await migrateHistory(client, logger);
        if (applied.length > 0) logger.info({ applied, database: databaseTarget(databaseUrl) }, 'history migrated');
      } finally {
        client.release();
      }
    },
    write: (batch) => writeBatch(pool, batch),
    deleteOlderThan: (cutoffMs) => deleteOlderThan(pool, cutoffMs),
    end: () => pool.end(),
  };
}

/** The history as main.ts starts it: spool loaded, loop running; the database may be down (it is retried). */
export function startSessionHistory(
  config: HistoryConfig,
  deps: Pick<SessionHistoryOptions, 'logger' | 'liveStream' | 'metrics'>,
): SessionHistory {
  const history = new SessionHistory({
    ...deps,
    database: postgresHistoryDatabase(config.databaseUrl, deps.logger),
    spool: new HistorySpool(config.spoolDir, config.spoolMaxBytes),
    flushIntervalMs: config.flushIntervalMs,
    retentionDays: config.retentionDays,
    retentionIntervalMs: config.retentionIntervalMs,
  });
  history.start();
  deps.logger.info({ database: databaseTarget(config.databaseUrl), spool: config.spoolDir }, 'session history on');
  return history;
}
