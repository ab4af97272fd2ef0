// The operator's Prometheus metrics, on a registry of its own (prom-client throws on duplicate names).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram;
  /** Each named step of a reconcile (reconcile/step.ts), the status write and the acknowledgement of reports. */
  reconcileStepDuration: Histogram<'step'>;
  statusWrites: Counter<'kind'>;
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
  /** From reading a report that changes state to the acknowledgement after the status write that shows it. */
  transitionToStatus: Histogram;
  /** Directory pushes to gateway replicas (gateway-directory-runner.ts), by kind (reset, update) and outcome. */
  gatewayDirectoryPushes: Counter<'kind' | 'outcome'>;
  gatewayDirectoryPushDuration: Histogram;
  gatewayDirectoryListings: Gauge;
  gatewayDirectoryReplicas: Gauge<'state'>;
}

const streamLabels = ['namespace', 'livestream'] as const;
const prefix = 'livestream_operator_';

/** Metric constructors bound to one registry, with the operator's name prefix. */
function on(registry: Registry) {
  const registers = [registry];
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name: prefix + name, help, labelNames, registers }),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name: prefix + name, help, labelNames, registers }),
  };
}

const reconcileBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The control loop: reconciles, the queue, the Lease, watches, reports. */
function controlMetrics(registry: Registry) {
  const { counter, gauge } = on(registry);
  return {
    reconciles: counter('reconciles_total', 'Reconciles by result (success, requeue, error).', ['result']),
    reconcileDuration: new Histogram({
      name: `${prefix}reconcile_duration_seconds`,
      help: 'Time spent in one reconcile.',
      buckets: reconcileBuckets,
      registers: [registry],
    }),
    reconcileStepDuration: new Histogram({
      name: `${prefix}reconcile_step_duration_seconds`,
      help: 'Time spent in one step of a reconcile, by step (where a slow reconcile spends its time).',
      labelNames: ['step'],
      buckets: reconcileBuckets,
      registers: [registry],
    }),
    statusWrites: counter(
      'status_writes_total',
      'LiveStream status writes, by kind: transition (written at once) or figures (within the cluster-wide budget).',
      ['kind'],
    ),
    queueDepth: gauge('queue_depth', 'Keys waiting in the work queue, including scheduled retries.'),
    livestreams: gauge('livestreams', 'LiveStreams by state, as last written to their status.', ['state']),
    leader: gauge('leader', '1 while this replica holds the leader Lease.'),
    informerRestarts: counter('informer_restarts_total', 'Watch restarts after an error, by resource.', ['resource']),
    reportsConsumed: counter('reports_total', 'Transcoder reports read from Redis, by type.', ['type']),
    transitionToStatus: new Histogram({
      name: `${prefix}report_transition_to_status_seconds`,
      help: 'From reading a report that changes state (a session, a relay, a refusal) to its status write.',
      buckets: [...reconcileBuckets, 30],
      registers: [registry],
    }),
    reportsInvalid: counter(
      'reports_invalid_total',
      'Report entries skipped as invalid, by type (a known report type, else "unknown"); acknowledged at once.',
      ['type'],
    ),
  };
}

/** Per LiveStream, at full rate (namespace and name are not secret; the stream key never is a label). */
function streamMetrics(registry: Registry) {
  const { counter, gauge } = on(registry);
  return {
    streamInfo: gauge('livestream_info', '1 for the current state of each LiveStream (as written to its status).', [
      ...streamLabels,
      'state',
    ]),
    streamViewers: gauge(
      'livestream_viewers',
      'Viewers of each LiveStream, as last reported by its transcoder.',
      streamLabels,
    ),
    streamBitrate: gauge(
      'livestream_ingest_bitrate_kbps',
      'Ingest bitrate of each LiveStream while Live, as last reported by its transcoder.',
      streamLabels,
    ),
    sessionsEnded: counter(
      'sessions_total',
      'Broadcast sessions that ended, by LiveStream and end reason (increase() over a day, week or month).',
      [...streamLabels, 'reason'],
    ),
    sessionSeconds: counter(
      'session_seconds_total',
      'Seconds of ended broadcast sessions, by LiveStream.',
      streamLabels,
    ),
    publishRefused: counter(
      'publish_refused_total',
      'Publishes the transcoders refused, by LiveStream and reason (bad_key, wrong_path, busy, rate_limited).',
      [...streamLabels, 'reason'],
    ),
  };
}

/** The portal directory pushed to the gateway replicas; no channel labels (one series set, whatever the fleet). */
function gatewayDirectoryMetrics(registry: Registry) {
  const { counter, gauge } = on(registry);
  return {
    gatewayDirectoryPushes: counter(
      'gateway_directory_pushes_total',
      'Directory updates sent to gateway replicas, by kind (reset, update) and outcome (ok, conflict, error, timeout).',
      ['kind', 'outcome'],
    ),
    gatewayDirectoryPushDuration: new Histogram({
      name: `${prefix}gateway_directory_push_duration_seconds`,
      help: 'Time from sending one directory update to a gateway replica to its answer (or failure).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    gatewayDirectoryListings: gauge('gateway_directory_listings', 'Channels in the directory pushed to the gateway.'),
    gatewayDirectoryReplicas: gauge(
      'gateway_directory_replicas',
      'Gateway replicas by whether they hold the current directory (synced) or not yet (behind).',
      ['state'],
    ),
  };
}

export function createOperatorMetrics(registry = new Registry()): OperatorMetrics {
  collectDefaultMetrics({ register: registry, prefix });
  return {
    registry,
    ...controlMetrics(registry),
    ...streamMetrics(registry),
    ...gatewayDirectoryMetrics(registry),
  };
}
