// The session history's metrics, registered on the operator's registry (no labels that could carry a secret).
import { Counter, Gauge, type Registry } from 'prom-client';

export interface HistoryMetrics {
  rowsWritten: Counter<'table'>;
  writeFailures: Counter;
  rowsDropped: Counter;
  spoolBytes: Gauge;
  pendingRows: Gauge;
  retentionDeleted: Counter<'table'>;
}

export function createHistoryMetrics(registry: Registry): HistoryMetrics {
  const registers = [registry];
  const p = 'livestream_operator_history_';
  return {
    rowsWritten: new Counter({
      name: `${p}rows_written_total`,
      help: 'Rows upserted into the session history, by table (sessions, viewer_minutes)',
      labelNames: ['table'],
      registers,
    }),
    writeFailures: new Counter({
      name: `${p}write_failures_total`,
      help: 'Failed attempts to migrate or write the session history (retried with backoff)',
      registers,
    }),
    rowsDropped: new Counter({
      name: `${p}rows_dropped_total`,
      help: 'History rows refused because the spool was full while the database was unreachable',
      registers,
    }),
    spoolBytes: new Gauge({ name: `${p}spool_bytes`, help: 'Bytes in the history spool on disk', registers }),
    pendingRows: new Gauge({ name: `${p}pending_rows`, help: 'History rows not yet committed', registers }),
    retentionDeleted: new Counter({
      name: `${p}retention_deleted_total`,
      help: 'Rows deleted by the history retention, by table',
      labelNames: ['table'],
      registers,
    }),
  };
}
