// The operator's Prometheus metrics, on a registry of its own (prom-client throws on duplicate names).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  livestreams: Gauge<'state'>;
  leader: Gauge;
  informerRestarts: Counter<'resource'>;
  /** Per LiveStream (namespace and name are not secret; the stream key never is a label). */
  streamInfo: Gauge<'namespace' | 'livestream' | 'state'>;
  streamViewers: Gauge<'namespace' | 'livestream'>;
  streamBitrate: Gauge<'namespace' | 'livestream'>;
  sessionsEnded: Counter<'namespace' | 'livestream' | 'reason'>;
  sessionSeconds: Counter<'namespace' | 'livestream'>;
  publishRefused: Counter<'namespace' | 'livestream' | 'reason'>;
  reportsConsumed: Counter<'type'>;
  /** Stream entries acknowledged without effect (not a valid report, or the fold failed), by report type. */
  reportsInvalid: Counter<'type'>;
}

const streamLabels = ['namespace', 'livestream'] as const;

export function createOperatorMetrics(registry = new Registry()): OperatorMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'livestream_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'livestream_operator_reconciles_total',
      help: 'Reconciles by result (success, requeue, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'livestream_operator_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'livestream_operator_queue_depth',
      help: 'Keys waiting in the work queue, including scheduled retries.',
      registers: [registry],
    }),
    livestreams: new Gauge({
      name: 'livestream_operator_livestreams',
      help: 'LiveStreams by state, as last written to their status.',
      labelNames: ['state'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'livestream_operator_leader',
      help: '1 while this replica holds the leader Lease.',
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: 'livestream_operator_informer_restarts_total',
      help: 'Watch restarts after an error, by resource.',
      labelNames: ['resource'],
      registers: [registry],
    }),
    streamInfo: new Gauge({
      name: 'livestream_operator_livestream_info',
      help: '1 for the current state of each LiveStream (as written to its status).',
      labelNames: [...streamLabels, 'state'],
      registers: [registry],
    }),
    streamViewers: new Gauge({
      name: 'livestream_operator_livestream_viewers',
      help: 'Viewers of each LiveStream, as last reported by its transcoder.',
      labelNames: streamLabels,
      registers: [registry],
    }),
    streamBitrate: new Gauge({
      name: 'livestream_operator_livestream_ingest_bitrate_kbps',
      help: 'Ingest bitrate of each LiveStream while Live, as last reported by its transcoder.',
      labelNames: streamLabels,
      registers: [registry],
    }),
    sessionsEnded: new Counter({
      name: 'livestream_operator_sessions_total',
      help: 'Broadcast sessions that ended, by LiveStream and end reason (increase() over a day, week or month).',
      labelNames: [...streamLabels, 'reason'],
      registers: [registry],
    }),
    sessionSeconds: new Counter({
      name: 'livestream_operator_session_seconds_total',
      help: 'Seconds of ended broadcast sessions, by LiveStream.',
      labelNames: streamLabels,
      registers: [registry],
    }),
    publishRefused: new Counter({
      name: 'livestream_operator_publish_refused_total',
      help: 'Publishes the transcoders refused, by LiveStream and reason (bad_key, wrong_path, busy, rate_limited).',
      labelNames: [...streamLabels, 'reason'],
      registers: [registry],
    }),
    reportsConsumed: new Counter({
      name: 'livestream_operator_reports_total',
      help: 'Transcoder reports read from Redis, by type.',
      labelNames: ['type'],
      registers: [registry],
    }),
    reportsInvalid: new Counter({
      name: 'livestream_operator_reports_invalid_total',
      help: 'Report entries skipped as invalid, by type (a known report type, else "unknown"); acknowledged at once.',
      labelNames: ['type'],
      registers: [registry],
    }),
  };
}
