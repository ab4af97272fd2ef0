// The transcoder's Prometheus metrics, with exactly the names of the pod contract (prefix livestream_transcoder_).
// No per-stream or key labels: one pod serves one LiveStream and Prometheus target labels identify it.
import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';

export const metricPrefix = 'livestream_transcoder_';

export { publishRefusedReasons, type PublishRefusedReason } from '../../../contract/src/reports.ts';

// Bounded route set for http_requests_total: anything else is counted as `other`.
export const httpRoutes = [
  'master',
  'variant',
  'segment',
  'thumbnail',
  'player',
  'flv',
  'health',
  'metrics',
  'other',
] as const;
export type HttpRoute = (typeof httpRoutes)[number];

export interface TranscoderMetrics {
  registry: Registry;
  publishing: Gauge;
  ingestBitrateKbps: Gauge;
  ingestFps: Gauge;
  ingestWidthPixels: Gauge;
  ingestHeightPixels: Gauge;
  segmentsTotal: Counter<'rendition'>;
  ffmpegRestartsTotal: Counter;
  publishRefusedTotal: Counter<'reason'>;
  sessionsTotal: Counter;
  viewers: Gauge;
  httpRequestsTotal: Counter<'route' | 'code'>;
  reportsBuffered: Gauge;
  reportsDroppedTotal: Counter;
}

export interface TranscoderMetricsOptions {
  // Default process metrics (CPU, memory, event loop lag, GC). Off in tests that build many registries.
  defaultMetrics?: boolean;
}

export function createTranscoderMetrics(registry: Registry, options: TranscoderMetricsOptions = {}): TranscoderMetrics {
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const gauge = (name: string, help: string): Gauge => new Gauge({ name: metricPrefix + name, help, registers });

  const metrics: TranscoderMetrics = {
    registry,
    publishing: gauge('publishing', '1 while a publisher is connected and accepted, else 0.'),
    ingestBitrateKbps: gauge('ingest_bitrate_kbps', 'Bitrate received from the publisher, in kbit/s.'),
    ingestFps: gauge('ingest_fps', 'Video frame rate announced or measured for the publisher.'),
    ingestWidthPixels: gauge('ingest_width_pixels', 'Width of the published video.'),
    ingestHeightPixels: gauge('ingest_height_pixels', 'Height of the published video.'),
    segmentsTotal: new Counter({
      name: metricPrefix + 'segments_total',
      help: 'HLS segments written, per rendition.',
      labelNames: ['rendition'],
      registers,
    }),
    ffmpegRestartsTotal: new Counter({
      name: metricPrefix + 'ffmpeg_restarts_total',
      help: 'Times the ffmpeg ladder was restarted after an unexpected exit.',
      registers,
    }),
    publishRefusedTotal: new Counter({
      name: metricPrefix + 'publish_refused_total',
      help: 'Publish attempts refused, by reason (bad_key, wrong_path, busy, rate_limited).',
      labelNames: ['reason'],
      registers,
    }),
    sessionsTotal: new Counter({
      name: metricPrefix + 'sessions_total',
      help: 'Broadcast sessions started (a reconnect within the window continues the same session).',
      registers,
    }),
    viewers: gauge('viewers', 'Distinct playback sessions seen in the sliding viewer window.'),
    httpRequestsTotal: new Counter({
      name: metricPrefix + 'http_requests_total',
      help: 'HTTP origin requests, by route (bounded set) and status code.',
      labelNames: ['route', 'code'],
      registers,
    }),
    reportsBuffered: gauge('reports_buffered', 'Reports waiting in memory for Redis.'),
    reportsDroppedTotal: new Counter({
      name: metricPrefix + 'reports_dropped_total',
      help: 'Reports dropped because the in-memory buffer was full while Redis was unreachable.',
      registers,
    }),
  };
  metrics.publishing.set(0);
  metrics.viewers.set(0);
  metrics.reportsBuffered.set(0);
  return metrics;
}
