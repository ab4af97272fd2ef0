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
}

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
  };
}
