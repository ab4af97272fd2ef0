// The operator process: health and metrics endpoints from the start; the controller runs only while this replica
// holds the leader Lease. SIGTERM stops the work, releases the Lease and exits.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import type { LiveStream } from '../../contract/src/api/index.ts';
import { loadOperatorConfig } from './config.ts';
import { podMonitorGroup, podMonitorPlural, podMonitorVersion } from './controller/desired/index.ts';
import { EventsConsumer } from './controller/events-consumer.ts';
import { reportEvents } from './controller/report-events.ts';
import { Reconciler } from './controller/reconciler.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeApiError, KubeClient, loadKubeConfig } from './k8s/client.ts';
import { Controller, splitKey } from './runtime/controller.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { backoffDelay } from './runtime/work-queue.ts';
import { EventRecorder } from './telemetry/events.ts';
import { createOperatorMetrics } from './telemetry/metrics.ts';
import { watchSpecs } from './watches.ts';
import { createLogger } from '../../contract/src/logger.ts';

const logger = createLogger('livestream-operator');
/** Settings and cluster access, or a one-line reason and exit code 2 (a user's error, not a crash). */
function startup() {
  try {
    return { config: loadOperatorConfig(process.env), kc: loadKubeConfig() };
  } catch (err) {
    process.stderr.write(`livestream-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
const { config, kc } = startup();
const client = new KubeClient(kc);
const metrics = createOperatorMetrics();
const events = new EventRecorder(kc, 'livestream-operator', logger);
const identity = `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;

let controller: Controller<LiveStream> | undefined;
let consumer: EventsConsumer | undefined;

/** Asks discovery whether PodMonitors exist, retrying while the API server is unavailable and we still lead. */
async function discoverPodMonitors(): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.servesKind(podMonitorGroup, podMonitorVersion, podMonitorPlural);
    } catch (err) {
      if (!elector.isLeader) throw err;
      const delay = backoffDelay(attempt, { baseMs: 500, maxMs: 10_000, jitter: 0.3 });
      logger.warn({ err: describeApiError(err), retryInMs: delay }, 'API discovery failed');
      await sleep(delay);
    }
  }
}

async function startController(): Promise<void> {
  const podMonitors = await discoverPodMonitors();
  if (config.redisUrl) {
    const recordTransition = reportEvents({
      metrics,
      events,
      liveStream: (key) => controller?.get(...splitKeyPair(key)),
    });
    consumer = new EventsConsumer({
      redisUrl: config.redisUrl,
      consumer: identity,
      logger,
      onReport: (key, transition, event) => {
        metrics.reportsConsumed.inc({ type: event.type });
        recordTransition(key, transition);
        controller?.queue.add(key);
      },
    });
    consumer.start();
  } else {
    logger.warn('no LSO_REDIS_URL: publish state cannot be observed (Publishing=Unknown, ReportsUnavailable)');
  }
  const { primary, secondaries } = watchSpecs(kc, config.watchNamespace, podMonitors);
  const reconciler: Reconciler = new Reconciler({
    client,
    cache: {
      liveStream: (namespace, name) => c.get(namespace, name),
      child: (resource, namespace, name) => c.cached(resource, namespace, name),
    },
    events,
    logger,
    image: config.transcoderImage,
    redisUrl: config.redisUrl,
    podMonitors,
    metrics,
    ...(consumer ? { reports: consumer } : {}),
  });
  const c = new Controller<LiveStream>({
    kc,
    primary,
    secondaries,
    reconcile: (key) => reconciler.reconcile(key),
    concurrency: config.concurrency,
    resyncMs: config.resyncSeconds * 1000,
    metrics,
    logger,
  });
  controller = c;
  await c.start();
  // Leadership lost while the caches were filling: stopController ran before `controller` was set.
  if (!elector.isLeader && controller === c) await stopController();
}

async function stopController(): Promise<void> {
  const c = controller;
  const r = consumer;
  controller = undefined;
  consumer = undefined;
  await r?.stop();
  await c?.stop();
}

const splitKeyPair = (key: string): [string, string] => {
  const { namespace, name } = splitKey(key);
  return [namespace, name];
};

const elector = new LeaderElector({
  kc,
  namespace: config.leaseNamespace,
  name: config.leaseName,
  identity,
  onStartedLeading: () => {
    metrics.leader.set(1);
    logger.info({ identity }, 'became leader');
    // Not awaited: the elector must keep renewing the Lease while the caches fill.
    startController().catch((err: unknown) => logger.warn({ err: describeApiError(err) }, 'controller did not start'));
  },
  onStoppedLeading: async () => {
    metrics.leader.set(0);
    logger.warn({ identity }, 'lost leadership; stopping the controller');
    await stopController();
  },
  onError: (err) => logger.warn({ err: String(err) }, 'leader election round failed'),
});

// LiveStreams by state, recounted from the cache (cheap, and never drifts from what status says).
setInterval(() => {
  const counts = new Map<string, number>();
  for (const ls of controller?.list() ?? []) {
    const state = ls.status?.state ?? 'Pending';
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  metrics.livestreams.reset();
  for (const [state, n] of counts) metrics.livestreams.set({ state }, n);
}, 5_000).unref();

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else if (path === '/readyz') {
    // Ready as a standby too: a follower is healthy; only a leader whose caches have not synced is not ready yet.
    const ready = !elector.isLeader || controller?.synced === true;
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'caches not synced');
  } else if (path === '/metrics') {
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  } else {
    res.writeHead(404).end();
  }
});

server.listen(config.metricsPort, () => {
  const addr = server.address();
  logger.info(
    { port: typeof addr === 'object' && addr ? addr.port : config.metricsPort, identity },
    'operator started',
  );
  elector.start();
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await elector.stop();
  await stopController();
  server.close();
  process.exit(0);
}
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    shutdown(sig).catch((err: unknown) => {
      logger.error({ err: String(err) }, 'shutdown failed');
      process.exit(1);
    });
  });
}
