// The operator process: health and metrics endpoints from the start; the controller runs only while this replica
// holds the leader Lease (runtime/leader-election.ts). Three ways a term ends:
// - SIGTERM: stop the work, release the Lease (client-go's ReleaseOnCancel: only once the work has ended), exit 0.
// - The controller cannot start after we won the Lease (LiveStream CRD not served, caches not synced in time): stop
//   what started, release the Lease and exit 1, so the pod restarts and a standby leads instead of a leader that holds
//   the Lease doing nothing.
// - Leadership lost (no renewal within the renew deadline, or the Lease taken): stop reconciling at once and campaign
//   again in this process, as client-go leaves to OnStoppedLeading. Restarting instead would turn every API server
//   outage longer than the renew deadline into a restart of every replica, for nothing: the controller is rebuilt
//   from fresh lists at the next term anyway. The one thing a restart guarantees, that no request of the old term is
//   still in flight, we get by bounding the stop: if the controller has not stopped before another replica could
//   take the Lease (elector.handoverMarginMs), the process exits 1, which ends those requests.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { CoreV1Api } from '@kubernetes/client-node';
import { group, plural, version, type LiveStream } from '../../contract/src/api/index.ts';
import { loadOperatorConfig, type GatewayTarget } from './config.ts';
import { podMonitorGroup, podMonitorPlural, podMonitorVersion } from './controller/desired/index.ts';
import { consumerGroup, EventsConsumer } from './controller/events-consumer.ts';
import { GatewayAddress } from './controller/gateway-address.ts';
import { gatewayAdminToken, GatewayViewers, listGatewayReplicas } from './controller/gateway-viewers.ts';
import {
  notifyLiveStreamEvents,
  startGatewayDirectory,
  type GatewayDirectory,
} from './controller/gateway-directory-runner.ts';
import { notifySecretEvents, startGatewayRoutes, type GatewayRoutes } from './controller/gateway-routes-runner.ts';
import { makePlaybackKeys, playbackKeysSecretOf } from './controller/playback-keys.ts';
import { RedisChannels } from './controller/redis-acl.ts';
import { startReportPoller, type ReportPoller } from './controller/report-poller.ts';
import { reportEvents } from './controller/report-events.ts';
import type { PublishTransition } from './controller/publish-state.ts';
import type { AnyEvent } from '../../contract/src/reports.ts';
import { reportTokenLookup } from './controller/reconcile/report-token.ts';
import { Reconciler } from './controller/reconciler.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeApiError, KubeClient, loadKubeConfig } from './k8s/client.ts';
import { Controller, splitKey } from './runtime/controller.ts';
import { LeaderElector, type StepDownReason } from './runtime/leader-election.ts';
import { kubeLeaseApi } from './runtime/lease-api.ts';
import { within } from './runtime/within.ts';
import { backoffDelay } from '../../contract/src/backoff.ts';
import { EventRecorder } from './telemetry/events.ts';
import { createOperatorMetrics } from './telemetry/metrics.ts';
import { watchSpecs } from './watches.ts';
import { createLogger } from '../../contract/src/logger.ts';
import { loadHistoryConfig } from './history/history-config.ts';
import { createHistoryMetrics } from './history/history-metrics.ts';
import { startSessionHistory, type SessionHistory } from './history/session-history.ts';
import { startStatsService, statsPortOf } from './stats/stats-service.ts';

const logger = createLogger('livestream-operator');
/** Settings and cluster access, or a one-line reason and exit code 2 (a user's error, not a crash). */
function startup() {
  try {
    const playbackKeys = playbackKeysSecretOf(process.env);
    const history = loadHistoryConfig(process.env);
    const statsPort = statsPortOf(process.env);
    return { config: loadOperatorConfig(process.env), kc: loadKubeConfig(), playbackKeys, history, statsPort };
  } catch (err) {
    process.stderr.write(`livestream-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
const { config, kc, playbackKeys, history: historyConfig, statsPort } = startup();
const client = new KubeClient(kc);
const metrics = createOperatorMetrics();
const events = new EventRecorder(kc, 'livestream-operator', logger);
const identity = `${process.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;

let controller: Controller<LiveStream> | undefined;
/** Where reports come from: Redis streams, or without Redis the transcoder pods' own report logs. */
let consumer: EventsConsumer | ReportPoller | undefined;
let channels: RedisChannels | undefined;
/** The gateway's route table publisher (only with a gateway installed), started once the caches are full. */
let gatewayRoutes: GatewayRoutes | undefined;
/** The gateway's URLs for status (only with a gateway installed), read by this term's leader. */
let gatewayAddress: GatewayAddress | undefined;
/** Viewers through the gateway, summed over its replicas (only with a gateway installed), polled by the leader. */
let gatewayViewers: GatewayViewers | undefined;
/** The portal directory pushed to every gateway replica (with the gateway's admin Secret), by the leader. */
let gatewayDirectory: GatewayDirectory | undefined;
/** The stop of the previous term's controller: a new term starts only after it. */
let controllerStopped: Promise<void> = Promise.resolve();
/** Counts leadership terms; a start that belongs to an ended term must not publish anything. */
let term = 0;
const inTerm = (mine: number) => mine === term && elector.isLeader;

class LostLeadership extends Error {}

/** Asks discovery whether a kind is served, retrying while the API server is unavailable and the term lasts. */
async function servesKind(
  keepTrying: () => boolean,
  apiGroup: string,
  apiVersion: string,
  resource: string,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.servesKind(apiGroup, apiVersion, resource);
    } catch (err) {
      if (!keepTrying()) throw new LostLeadership();
      const delay = backoffDelay(attempt, { baseMs: 500, maxMs: 10_000, jitter: 0.3 });
      logger.warn({ err: describeApiError(err), retryInMs: delay }, 'API discovery failed');
      await sleep(delay);
    }
  }
}

const controllerGet = (key: string): LiveStream | undefined => controller?.get(...splitKeyPair(key));

/**
 * The session history (only with a database configured): started with the process, so what an earlier container of
 * this pod left in its spool is written whether or not this replica leads; only the leader records.
 */
const history: SessionHistory | undefined =
  historyConfig &&
  startSessionHistory(historyConfig, {
    logger,
    liveStream: controllerGet,
    metrics: createHistoryMetrics(metrics.registry),
  });

/** The stats API over the same database, on every replica (it only reads). */
const stats =
  historyConfig && startStatsService({ port: statsPort, databaseUrl: historyConfig.databaseUrl, kc, logger });

/** What a transition means beyond status: events and counters, and a step of the session history. */
function transitionHandler(): (key: string, transition: PublishTransition, event?: AnyEvent) => void {
  const recordTransition = reportEvents({ metrics, events, liveStream: controllerGet });
  return (key, transition, event) => {
    recordTransition(key, transition);
    history?.record(key, transition, consumer?.observation(key), event);
  };
}

/** One handler for either source: count the report, record what its transition means, reconcile its LiveStream. */
function reportHandler(): ConstructorParameters<typeof EventsConsumer>[0]['onReport'] {
  const onTransition = transitionHandler();
  return (key, transition, event) => {
    metrics.reportsConsumed.inc({ type: event.type });
    onTransition(key, transition, event);
    // A transition is urgent; a heartbeat's figures wait their turn (and their budget) behind it.
    controller?.enqueue(key, transition.kind === 'none' ? 'normal' : 'urgent');
  };
}

function startConsumer(redisUrl: string, streams: RedisChannels): EventsConsumer {
  const r = new EventsConsumer({
    redisUrl,
    consumer: identity,
    logger,
    channels: streams,
    streamsPerRead: config.reportStreamsPerRead,
    invalidReports: metrics.reportsInvalid,
    transitionToStatus: metrics.transitionToStatus,
    onReport: reportHandler(),
  });
  r.start();
  return r;
}

/**
 * The gateway's address and viewers for status, started before the first reconcile so status shows the address from
 * the start (bounded: a Service that cannot be read leaves the cluster DNS name until it can).
 */
async function startGatewayStatus(mine: number, target: GatewayTarget): Promise<void> {
  gatewayAddress = new GatewayAddress({
    core: kc.makeApiClient(CoreV1Api),
    target,
    nodeAddress: config.nodeAddress,
    logger,
    onChange: () => controller?.resync(),
  });
  await gatewayAddress.start();
  if (!inTerm(mine)) throw new LostLeadership();
  if (playbackKeys !== undefined) {
    const secret = { namespace: target.namespace, name: playbackKeys };
    void makePlaybackKeys({ core: kc.makeApiClient(CoreV1Api), secret, logger, active: () => inTerm(mine) });
  }
  gatewayViewers = startGatewayViewers(target);
}

/** Polls the gateway replicas' viewer counts; a channel whose sum changed is reconciled (its status.viewers). */
function startGatewayViewers(target: GatewayTarget): GatewayViewers | undefined {
  const { adminSecret, podSelector, namespace } = target;
  if (adminSecret === undefined || podSelector === undefined) return undefined;
  const core = kc.makeApiClient(CoreV1Api);
  const v = new GatewayViewers({
    replicas: listGatewayReplicas(core, namespace, podSelector),
    token: () => gatewayAdminToken(core, namespace, adminSecret, logger),
    logger,
  });
  v.onChange((changed) => {
    for (const c of changed) controller?.enqueue(`${c.namespace}/${c.name}`);
  });
  v.start();
  return v;
}

let caches: Promise<{ controller: Controller<LiveStream>; podMonitors: boolean }> | undefined;

/**
 * The process's one Controller, its caches started: at process start, so a standby's caches are full when it comes
 * to lead. Whether PodMonitors are served is asked once, here (a Prometheus Operator installed later is seen at the
 * next restart of the operator).
 */
function sharedCaches(): NonNullable<typeof caches> {
  caches ??= (async () => {
    const podMonitors = await servesKind(() => !stopping, podMonitorGroup, podMonitorVersion, podMonitorPlural);
    const { primary, secondaries } = watchSpecs(kc, config.watchNamespace, podMonitors);
    const c = new Controller<LiveStream>({
      kc,
      primary: notifyLiveStreamEvents(primary, () => gatewayDirectory?.changed()),
      secondaries: notifySecretEvents(secondaries, (ns, name) => gatewayRoutes?.secretChanged(ns, name)),
      concurrency: config.concurrency,
      resyncMs: config.resyncSeconds * 1000,
      metrics,
      logger,
    });
    c.startCaches();
    controller = c;
    return { controller: c, podMonitors };
  })();
  return caches;
}

/** Starts this term's controller. Everything is published before anything awaits, so a step-down can stop it. */
async function startController(mine: number): Promise<void> {
  if (!(await servesKind(() => inTerm(mine), group, version, plural))) {
    throw new Error(`the LiveStream CRD is not served (${plural}.${group}/${version}): install crds/livestream.yaml`);
  }
  const { controller: c, podMonitors } = await sharedCaches();
  if (!inTerm(mine)) throw new LostLeadership();
  if (config.redisUrl) {
    // The admin connection: one ACL user and stream per channel, applied by the leader only.
    channels = new RedisChannels({ redisUrl: config.redisUrl, group: consumerGroup, logger });
    channels.start();
    consumer = startConsumer(config.redisUrl, channels);
  } else {
    logger.info('no LSO_REDIS_URL: reports are polled from the transcoder pods');
    const invalidReports = metrics.reportsInvalid;
    consumer = startReportPoller({
      kc,
      namespace: config.watchNamespace,
      logger,
      invalidReports,
      onReport: reportHandler(),
      // Each channel's token, from this term's cache of the operator's own Secrets (none before it has synced).
      reportToken: reportTokenLookup({ child: (resource, ns, name) => controller?.cached(resource, ns, name) }),
    });
  }
  if (config.gateway) await startGatewayStatus(mine, config.gateway);
  const address = gatewayAddress;
  const viewers = gatewayViewers;
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
    ...(channels && { channels }),
    ...(config.nodeAddress !== undefined && { nodeAddress: config.nodeAddress }),
    ...(address && { gateway: () => address.current() }),
    ...(viewers && { gatewayViewers: (namespace: string, name: string) => viewers.viewersOf(namespace, name) }),
    ...(config.transcoderPlacement !== undefined && { placement: config.transcoderPlacement }),
    podMonitors,
    metrics,
    figureWritesPerSecond: config.statusFigureWritesPerSecond,
    ...(consumer ? { reports: consumer, onTransition: transitionHandler() } : {}),
  });
  // The fence: a key dequeued after this replica stepped down is not reconciled.
  const reconcile = (key: string) =>
    inTerm(mine) ? reconciler.reconcile(key).finally(() => gatewayRoutes?.changed()) : Promise.resolve();
  await c.start(reconcile, config.cacheSyncTimeoutSeconds * 1000);
  if (!inTerm(mine)) return;
  // The caches are full: users and streams of LiveStreams deleted while no operator led can go.
  channels?.sweep((ch) => c.get(ch.namespace, ch.name) !== undefined, config.watchNamespace);
  if (config.gateway && inTerm(mine))
    gatewayRoutes = startGatewayRoutes({ kc, target: config.gateway, cache: c, logger, events });
  if (config.gateway && inTerm(mine))
    gatewayDirectory = startGatewayDirectory({ kc, target: config.gateway, cache: c, logger, metrics });
}

/** Stops the published controller and consumer (idempotent); resolves when they and any earlier stop are done. */
function stopController(): Promise<void> {
  const c = controller;
  const r = consumer;
  const ch = channels;
  consumer = undefined;
  channels = undefined;
  const g = gatewayRoutes;
  gatewayRoutes = undefined;
  gatewayAddress?.stop();
  gatewayAddress = undefined;
  const v = gatewayViewers;
  gatewayViewers = undefined;
  const d = gatewayDirectory;
  gatewayDirectory = undefined;
  const earlier = controllerStopped;
  controllerStopped = (async () => {
    await r?.stop();
    await ch?.stop();
    await g?.stop();
    await v?.stop();
    await d?.stop();
    await c?.stopWorkers();
    await earlier;
  })();
  return controllerStopped;
}

/** Runs `work` for at most `ms`, then exits with `code` whatever it did. */
async function exitAfter(code: number, work: Promise<void>, ms: number): Promise<never> {
  const outcome = await within(
    work.catch((err: unknown) => logger.error({ err: String(err) }, 'cleanup before exit failed')),
    ms,
  );
  if (outcome === 'timeout') logger.error({ ms }, 'cleanup before exit timed out');
  process.exit(code);
}

/** One leadership term: start the controller; a start that fails while the term lasts ends the process. */
async function lead(mine: number): Promise<void> {
  await controllerStopped;
  try {
    await startController(mine);
  } catch (err) {
    if (!inTerm(mine)) return; // the term ended while starting: the step-down stops what was published
    logger.error({ err: describeApiError(err) }, 'controller did not start; releasing the Lease and exiting');
    await exitAfter(1, elector.stop(), elector.timings.renewDeadlineMs);
  }
}

/** Leadership lost: stop now and campaign again, unless the controller outlives the handover margin. */
async function stepDown(reason: StepDownReason): Promise<void> {
  logger.warn({ identity, reason }, 'lost leadership; stopping the controller');
  if ((await within(stopController(), elector.handoverMarginMs)) === 'timeout') {
    logger.error({ identity }, 'the controller did not stop before another replica could lead; exiting');
    process.exit(1);
  }
}

const splitKeyPair = (key: string): [string, string] => {
  const { namespace, name } = splitKey(key);
  return [namespace, name];
};

const elector = new LeaderElector({
  api: kubeLeaseApi(kc, config.leaseNamespace, config.leaseName),
  namespace: config.leaseNamespace,
  name: config.leaseName,
  identity,
  onStartedLeading: () => {
    metrics.leader.set(1);
    logger.info({ identity }, 'became leader');
    // Not awaited: the elector must keep renewing the Lease while the caches fill.
    void lead(++term);
  },
  onStoppedLeading: (reason) => {
    term++;
    metrics.leader.set(0);
    return reason === 'stopped' ? stopController() : stepDown(reason);
  },
  onError: (err) => logger.warn({ err: describeApiError(err) }, 'leader election try failed'),
});

// LiveStreams by state, recounted from the cache (cheap, and never drifts from what status says).
setInterval(() => {
  const counts = new Map<string, number>();
  // The leader's count only: a standby's caches are as full, and a sum over replicas must not count twice.
  for (const ls of elector.isLeader ? (controller?.list() ?? []) : []) {
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
  // Not awaited: the caches fill while this replica campaigns (a leader's term awaits them).
  sharedCaches().catch((err: unknown) => logger.warn({ err: describeApiError(err) }, 'caches not started'));
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await elector.stop();
  await stopController();
  await controller?.stop();
  await Promise.all([history?.close(5_000), stats?.close()]);
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
