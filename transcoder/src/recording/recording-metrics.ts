// Recording metrics, registered on the transcoder's registry (prefix livestream_transcoder_, no per-stream labels).
import { Counter, Gauge, type Registry } from 'prom-client';
import { metricPrefix } from '../telemetry/metrics.ts';

export type UploadResult = 'success' | 'error';

export interface RecordingMetrics {
  uploadsTotal: Counter<'result'>;
  spoolBytes: Gauge;
  spoolDroppedTotal: Counter;
}

export function createRecordingMetrics(registry: Registry): RecordingMetrics {
  const registers = [registry];
  const metrics: RecordingMetrics = {
    uploadsTotal: new Counter({
      name: metricPrefix + 'recording_uploads_total',
      help: 'Recording uploads to S3 (segments and capture receipts) by result (success, error); failures are retried.',
      labelNames: ['result'],
      registers,
    }),
    spoolBytes: new Gauge({
      name: metricPrefix + 'recording_spool_bytes',
      help: 'Bytes of recorded segments waiting on disk for upload.',
      registers,
    }),
    spoolDroppedTotal: new Counter({
      name: metricPrefix + 'recording_spool_dropped_total',
      help: 'Recorded segments dropped because the spool was full (S3 unreachable for too long).',
      registers,
    }),
  };
  metrics.uploadsTotal.inc({ result: 'success' }, 0);
  metrics.uploadsTotal.inc({ result: 'error' }, 0);
  metrics.spoolBytes.set(0);
  return metrics;
}
