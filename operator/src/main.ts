// The operator process: health and metrics endpoints from the start; the controller runs only while this replica
// holds the leader Lease. SIGTERM stops the work, releases the Lease and exits.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import type { LiveStream } from './api/v1alpha1/index.ts';
import { loadOperatorConfig } from './config.ts';
import { podMonitorGroup, podMonitorPlural, podMonitorVersion } from './controller/desired/index.ts';
import { Reconciler } from './controller/reconciler.ts';
import { KubeClient, loadKubeConfig } from './k8s/client.ts';
import { Controller } from './runtime/controller.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { EventRecorder } from './telemetry/events.ts';
import { createOperatorMetrics } from './telemetry/metrics.ts';
import { watchSpecs } from './watches.ts';
import { createLogger } from '../../transcoder/src/telemetry/logger.ts';

const logger = createLogger('livestream-operator');
const config = loadOperatorConfig(process.env);
const kc = loadKubeConfig();
const client = new KubeClient(kc);
const metrics = createOperatorMetrics();
const events = new EventRecorder(kc, 'livestream-operator', logger);
const identity = `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;

let controller: Controller<LiveStream> | undefined;

async function startController(): Promise<void> {
  const podMonitors = await client.servesKind(podMonitorGroup, podMonitorVersion, podMonitorPlural);
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
}

async function stopController(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.stop();
}

const elector = new LeaderElector({
  kc,
  namespace: config.leaseNamespace,
  name: config.leaseName,
  identity,
  onStartedLeading: async () => {
    metrics.leader.set(1);
    logger.info({ identity }, 'became leader');
    try {
      await startController();
    } catch (err) {
      // Leadership without a working controller helps nobody: give the Lease up by exiting; Kubernetes restarts us.
      logger.error({ err: String(err) }, 'controller failed to start');
      process.exit(1);
    }
  },
  onStoppedLeading: async () => {
    metrics.leader.set(0);
    logger.warn({ identity }, 'lost leadership; stopping the controller');
    await stopController();
  },
  onError: (err) => logger.warn({ err: String(err) }, 'leader election round failed'),
});

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
