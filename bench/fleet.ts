// `make bench-fleet`: the operator where a fleet really loads it. A local control plane of its own (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, on free ports in a temporary directory), kwok with fake
// nodes so every channel's Deployment becomes a Running, Ready pod (no container runs), a real Redis, two replicas of
// the real operator (one leads), and the reports of the live channels written into Redis as their pods write them
// (fleet-load.ts). Prints one JSON line:
// - channels, namespaces, live, nodes; convergeSeconds: from the first create until every LiveStream's status is
//   written for its generation once every child was applied; podsAvailableSeconds: until ChildrenReady is True for
//   all (the transcoder pods available: the controller manager, the scheduler and kwok at work too);
// - the leader's peakRssMiB (whole run) and cpuSeconds (to converge), and its CPU share at steady state;
// - apiRequestsPerSecond by verb during convergence and at steady state (the API server's apiserver_request_total:
//   every client, the controllers and kwok included), and the operator's own writes per second by verb (audit log);
// - writesOverTwoResyncs: the operator's writes over two resync periods once converged, before any report (must be 0);
// - statusWritesPerSecond at steady state (1 in 5 channels live by default), against the figure budget;
// - reconcilesPerSecond and workerSecondsPerSecondByStep, during convergence and at steady state: how busy the
//   leader's workers are and in which step (livestream_operator_reconcile_step_duration_seconds);
// - reportToStatusMs p50/p95: a transition report (session started or ended, relay state) to the status showing it;
//   beside it operatorTransitionToStatusMs, the operator's part (read from Redis to written, bounded by its buckets),
//   and benchEventLoopDelayMs, how far the bench's own watch may lag;
// - leaderHandoverSeconds: the leader killed (SIGKILL) at full size and under load, a spec changed at that moment,
//   until the other replica has written that generation's status;
// - baseline (fleet-baseline.ts): the same channels' children and statuses, read back once converged and replayed by
//   a plain client on a second control plane of the same make, without the operator: the control plane's floor for
//   those writes on this machine; convergeRatio is the operator's convergeSeconds over it (LSO_FLEET_BASELINE=0 skips).
// Sizes from the environment: LSO_FLEET_CHANNELS (100), LSO_FLEET_NAMESPACES (10), LSO_FLEET_LIVE (20 % of the
// channels), LSO_FLEET_NODES (one per 1,000 channels, at least 2), LSO_FLEET_RESYNC_SECONDS (30),
// LSO_FLEET_MEASURE_SECONDS (60), LSO_FLEET_HEAP_MIB (256), LSO_FLEET_SESSION_SECONDS (300), LSO_FLEET_KCM_QPS (100,
// the controller manager's client rate limit: see setControllerManagerQps). Every wait is bounded.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { writesBy, type AuditEvent } from '../hack/cluster/audit.ts';
import { kubeconfigPath } from '../hack/cluster/components.ts';
import { kubectl, loadKubeConfig } from '../hack/cluster/kubectl.ts';
import { down, up, type ClusterState } from '../hack/cluster/local-cluster.ts';
import { stopDaemon } from '../hack/cluster/processes.ts';
import { group, plural, version } from '../contract/src/api/index.ts';
import { defaultFigureWritesPerSecond } from '../operator/src/controller/reconcile/figure-budget.ts';
import { KubeClient } from '../operator/src/k8s/client.ts';
import { PooledKubeConfig } from '../operator/src/k8s/pooled-kube-config.ts';
import { applyLiveStreamCrd } from '../test/support/livestream-crd.ts';
import { auditLog, type OperatorProcess } from '../test/support/operator-process.ts';
import { cpuSeconds } from '../test/support/process-cpu.ts';
import { startRedisProcess } from '../test/support/redis-process.ts';
import { waitFor } from '../test/support/wait-for.ts';
import {
  apiRequestCounts,
  fakeNodeManifest,
  ratesByVerb,
  setControllerManagerQps,
  startKwok,
} from './fleet-cluster.ts';
import { availableDeployments, replayFleet, snapshotFleet, type ChannelReplay } from './fleet-baseline.ts';
import { fleetRelay, ReportLoad, reconnectWindowSeconds } from './fleet-load.ts';
import { leaderOf, startReplica } from './fleet-operators.ts';
import { LiveStreamTracker, percentile } from './fleet-tracker.ts';
import { bucketCount, bucketQuantile, parseBuckets } from './histogram.ts';
import { memoryMiB } from './process-memory.ts';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}
const channels = positive('LSO_FLEET_CHANNELS', 100);
const namespaces = Math.min(positive('LSO_FLEET_NAMESPACES', 10), channels);
const live = Math.min(positive('LSO_FLEET_LIVE', Math.max(1, Math.round(channels / 5))), channels);
const nodes = positive('LSO_FLEET_NODES', Math.max(2, Math.ceil(channels / 1000)));
const resyncSeconds = positive('LSO_FLEET_RESYNC_SECONDS', 30);
const measureSeconds = positive('LSO_FLEET_MEASURE_SECONDS', 60);
const heapMiB = positive('LSO_FLEET_HEAP_MIB', 256);
const sessionSeconds = positive('LSO_FLEET_SESSION_SECONDS', 300);
const controllerQps = positive('LSO_FLEET_KCM_QPS', 100);
const convergeTimeoutMs = positive('LSO_FLEET_CONVERGE_TIMEOUT_SECONDS', 1200) * 1000;
const withBaseline = process.env.LSO_FLEET_BASELINE !== '0';
const concurrency = 8;
const user = 'livestream-operator';
const log = (line: string) => process.stderr.write(`bench-fleet: ${new Date().toISOString().slice(11, 19)} ${line}\n`);

const namespaceOf = (i: number) => `fleet-${i % namespaces}`;
const channelOf = (i: number) => ({ namespace: namespaceOf(i), name: `ch-${i}` });
const inFleet = (e: AuditEvent) =>
  e.objectRef?.namespace?.startsWith('fleet-') === true && e.objectRef.resource !== 'events';
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The operator's writes in the fleet's namespaces since `from` (ms), until `to`, from the audit log. */
function operatorWrites(state: ClusterState, from: number, to = Infinity): AuditEvent[] {
  return writesBy(auditLog(state.kubeconfig), user, from).filter(
    (e) => inFleet(e) && Date.parse(e.stageTimestamp) < to,
  );
}

/** Per second by verb ("patch/status" for a subresource). */
function byVerb(events: AuditEvent[], seconds: number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const verb = e.objectRef?.subresource ? `${e.verb}/${e.objectRef.subresource}` : e.verb;
    counts[verb] = (counts[verb] ?? 0) + 1;
  }
  return Object.fromEntries(
    Object.keys(counts)
      .sort()
      .map((v) => [v, round((counts[v] ?? 0) / seconds, 2)]),
  );
}

/** How many of `events` by verb and resource, e.g. "patch livestreams/status". */
function countByResource(events: AuditEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const what = `${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    counts[what] = (counts[what] ?? 0) + 1;
  }
  return counts;
}

/** Live channels have a relay (no key needed) and a short reconnect window, so their sessions end within the run. */
function manifest(i: number): object {
  const spec =
    i < live
      ? { reconnectWindowSeconds, relays: [{ name: fleetRelay, url: `rtmp://cdn.example.invalid/live/ch-${i}` }] }
      : {};
  return { apiVersion: `${group}/${version}`, kind: 'LiveStream', metadata: { name: `ch-${i}` }, spec };
}

async function createLiveStreams(kc: KubeConfig): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (let i = 0; i < channels; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, channels - i) }, (_, j) =>
        custom.createNamespacedCustomObject({
          group,
          version,
          plural,
          namespace: namespaceOf(i + j),
          body: manifest(i + j),
        }),
      ),
    );
  }
}

/** The cluster's fleet parts: the CRD, kwok and its Ready nodes, the namespaces. */
async function prepare(state: ClusterState, dir: string, cleanup: (() => Promise<void>)[]): Promise<void> {
  const run = (args: string[], input?: string) => kubectl(state.kubectl, state.kubeconfig, args, input);
  await applyLiveStreamCrd(run);
  const kwok = await startKwok(state, dir);
  cleanup.push(() => stopDaemon(kwok));
  for (let i = 0; i < nodes; i++) await run(['create', '-f', '-'], JSON.stringify(fakeNodeManifest(i)));
  await run(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
  for (let i = 0; i < namespaces; i++) await run(['create', 'namespace', namespaceOf(i)]);
  log(`${nodes} fake nodes Ready; ${channels} channels in ${namespaces} namespaces, ${live} live`);
}

/** Waits (bounded) until `count()` reaches every channel, logging the progress; the seconds since `started`. */
async function waitAll(what: string, count: () => number, started: number, failed: () => string | undefined) {
  let lastLog = 0;
  await waitFor(
    `${channels} LiveStreams ${what}`,
    () => {
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`${count()}/${channels} ${what}`);
      }
      return count() === channels;
    },
    {
      timeoutMs: convergeTimeoutMs,
      intervalMs: 250,
      abort: failed,
    },
  );
  log(`all ${what} after ${(Date.now() - started) / 1000} s`);
  return round((Date.now() - started) / 1000);
}

async function converge(state: ClusterState, kc: KubeConfig, tracker: LiveStreamTracker, leader: OperatorProcess) {
  const pid = leader.child.pid ?? 0;
  const [cpuBefore, apiBefore, countersBefore] = await Promise.all([
    cpuSeconds(pid),
    apiRequestCounts(state),
    leaderCounters(leader),
  ]);
  const started = Date.now();
  await createLiveStreams(kc);
  log(`created in ${(Date.now() - started) / 1000} s`);
  const failed = () => (leader.child.exitCode !== null ? 'the leader exited' : undefined);
  const convergeSeconds = await waitAll('applied', () => tracker.appliedCount, started, failed);
  const podsAvailableSeconds = await waitAll('available', () => tracker.convergedCount, started, failed);
  const seconds = (Date.now() - started) / 1000;
  const [cpuAfter, apiAfter, countersAfter] = await Promise.all([
    cpuSeconds(pid),
    apiRequestCounts(state),
    leaderCounters(leader),
  ]);
  const writes = operatorWrites(state, started);
  return {
    convergeSeconds,
    podsAvailableSeconds,
    cpuSeconds: round(cpuAfter - cpuBefore),
    apiRequestsPerSecond: ratesByVerb(apiBefore, apiAfter, seconds),
    operatorWritesPerSecond: byVerb(writes, seconds),
    operatorWritesPerChannel: round(writes.length / channels, 2),
    operatorWritesByResource: countByResource(writes),
    ...workerTime(countersBefore, countersAfter, seconds),
  };
}

/** The operator's writes over two resyncs once converged, before any report arrives: level-based means none. */
async function resyncWrites(state: ClusterState): Promise<number> {
  await sleep(2_000);
  const from = Date.now();
  log(`quiet for two resyncs (${2 * resyncSeconds} s)`);
  await sleep((2 * resyncSeconds + 2) * 1000);
  return operatorWrites(state, from).length;
}

/** The leader's counters so far: status writes by kind, reconciles, and the seconds its workers spent in each step. */
async function leaderCounters(leader: OperatorProcess) {
  const text = await leader.metrics();
  const value = (series: string) =>
    Number(new RegExp(`^livestream_operator_${series} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  const steps = text.matchAll(/^livestream_operator_reconcile_step_duration_seconds_sum\{step="([^"]+)"\} (\S+)$/gm);
  return {
    figures: value('status_writes_total\\{kind="figures"\\}'),
    transition: value('status_writes_total\\{kind="transition"\\}'),
    reconciles: value('reconcile_duration_seconds_count'),
    stepSeconds: Object.fromEntries([...steps].map(([, step = '', seconds]) => [step, Number(seconds)])),
    transitionToStatus: parseBuckets(text, 'livestream_operator_report_transition_to_status_seconds'),
  };
}

/** The operator's own part of report-to-status: a transition read from Redis to its status write, in ms (at most). */
function operatorTransitionTime(before: Awaited<ReturnType<typeof leaderCounters>>, after: typeof before) {
  const [b, a] = [before.transitionToStatus, after.transitionToStatus];
  const ms = (q: number) => {
    const le = bucketQuantile(b, a, q);
    return le === undefined ? undefined : le * 1000;
  };
  return { n: bucketCount(b, a), p50AtMost: ms(0.5), p95AtMost: ms(0.95) };
}

/** Reconciles per second between two counter readings, and the workers' seconds per second in each step. */
function workerTime(before: Awaited<ReturnType<typeof leaderCounters>>, after: typeof before, seconds: number) {
  return {
    reconcilesPerSecond: round((after.reconciles - before.reconciles) / seconds),
    workerSecondsPerSecondByStep: Object.fromEntries(
      Object.entries(after.stepSeconds).map(([step, total]) => [
        step,
        round((total - (before.stepSeconds[step] ?? 0)) / seconds, 2),
      ]),
    ),
  };
}

/** The live channels report; once their first sessions show, the measured window: writes, requests, latencies. */
async function steadyState(state: ClusterState, load: ReportLoad, tracker: LiveStreamTracker, leader: OperatorProcess) {
  load.start();
  await waitFor('the first sessions in status', () => tracker.pending() < Math.max(1, live * 0.05), {
    timeoutMs: 180_000,
    intervalMs: 500,
  }).catch((err: unknown) => log(`${String(err)}; ${tracker.pending()} probes pending: measuring anyway`));
  await sleep(10_000);
  const pid = leader.child.pid ?? 0;
  const [cpuBefore, apiBefore, countersBefore] = await Promise.all([
    cpuSeconds(pid),
    apiRequestCounts(state),
    leaderCounters(leader),
  ]);
  const from = Date.now();
  // The bench's own lag: its watch of every LiveStream sees a status late by as much as its event loop is behind.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  load.counting = true;
  log(`steady state: measuring ${measureSeconds} s`);
  await sleep(measureSeconds * 1000);
  load.counting = false;
  loopDelay.disable();
  const to = Date.now();
  const seconds = (to - from) / 1000;
  const [cpuAfter, apiAfter, countersAfter] = await Promise.all([
    cpuSeconds(pid),
    apiRequestCounts(state),
    leaderCounters(leader),
  ]);
  // Late probes of the window still count, up to 15 s after it.
  await waitFor('the window’s probes', () => tracker.pending(true) === 0, { timeoutMs: 15_000, intervalMs: 250 }).catch(
    () => {},
  );
  const writes = operatorWrites(state, from, to);
  const latencies = tracker.latenciesMs;
  return {
    steadyCpuCores: round((cpuAfter - cpuBefore) / seconds, 2),
    apiRequestsPerSecond: ratesByVerb(apiBefore, apiAfter, seconds),
    operatorWritesPerSecond: byVerb(writes, seconds),
    statusWritesPerSecond: round(writes.filter((e) => e.objectRef?.subresource === 'status').length / seconds, 2),
    // The budget bounds figure-only writes; transitions go out at once, as many as the reports carry.
    figureWritesPerSecond: round((countersAfter.figures - countersBefore.figures) / seconds, 2),
    transitionWritesPerSecond: round((countersAfter.transition - countersBefore.transition) / seconds, 2),
    ...workerTime(countersBefore, countersAfter, seconds),
    reportsPerSecond: round(Object.values(load.reports).reduce((a, b) => a + b, 0) / ((Date.now() - from) / 1000)),
    reportToStatusMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      max: percentile(latencies, 100),
      byKind: Object.fromEntries(
        [...tracker.latenciesByKind].map(([kind, ms]) => [
          kind,
          { n: ms.length, p50: percentile(ms, 50), p95: percentile(ms, 95) },
        ]),
      ),
    },
    // Beside the figure above: what the operator took of it (the rest is Redis, the API server and the watch).
    operatorTransitionToStatusMs: operatorTransitionTime(countersBefore, countersAfter),
    benchEventLoopDelayMs: {
      p99: round(loopDelay.percentile(99) / 1e6),
      max: round(loopDelay.max / 1e6),
    },
    transitionsMeasured: latencies.length,
    transitionsUnresolved: tracker.pending(true),
  };
}

/** Kills the leader, changes one idle channel's spec at that moment, and times the other replica's status for it. */
async function handover(
  state: ClusterState,
  tracker: LiveStreamTracker,
  leader: OperatorProcess,
  standby: OperatorProcess,
) {
  const { namespace, name } = channelOf(channels - 1);
  const killedAt = Date.now();
  await leader.kill();
  const patched = await kubectl(state.kubectl, state.kubeconfig, [
    ...['-n', namespace, 'patch', 'livestream', name, '--type=merge', '-o', 'jsonpath={.metadata.generation}'],
    ...['-p', JSON.stringify({ spec: { reconnectWindowSeconds: 45 } })],
  ]);
  const generation = Number(patched);
  const elected = leaderOf([standby], 120_000).then(() => (Date.now() - killedAt) / 1000);
  const acted = tracker.expect(`${namespace}/${name}`, (s) => s.observedGeneration === generation, killedAt, false);
  const ms = await Promise.race([acted, sleep(180_000, NaN, { ref: false })]);
  await sleep(5_000);
  return {
    handoverWrites: countByResource(operatorWrites(state, killedAt)),
    leaderElectedSeconds: round(await elected),
    leaderHandoverSeconds: round(ms / 1000),
    newLeaderPeakRssMiB: await memoryMiB(standby.child.pid ?? 0, 'VmHWM'),
  };
}

interface OperatorRun {
  figures: Record<string, unknown> & { convergeSeconds: number };
  snapshot: ChannelReplay[];
}

async function run(state: ClusterState, dir: string, cleanup: (() => Promise<void>)[]): Promise<OperatorRun> {
  const kc = loadKubeConfig(state.kubeconfig);
  await setControllerManagerQps(state, controllerQps);
  await prepare(state, dir, cleanup);
  const redis = await startRedisProcess();
  cleanup.push(() => redis.stop());
  const settings = { kubeconfig: state.kubeconfig, redisUrl: redis.url, resyncSeconds, concurrency, heapMiB };
  const first = await startReplica(settings, log);
  cleanup.push(() => first.stop());
  const leader = await leaderOf([first], 60_000);
  const standby = await startReplica(settings, log);
  cleanup.push(() => standby.stop());
  const tracker = new LiveStreamTracker(kc, (err) => log(`LiveStream watch: ${String(err)}`));
  await tracker.start();
  cleanup.push(() => tracker.stop());
  const convergence = await converge(state, kc, tracker, leader);
  const writesOverTwoResyncs = await resyncWrites(state);
  log(`${writesOverTwoResyncs} writes over two resyncs; reading the fleet back for the baseline`);
  const snapshot = withBaseline ? await snapshotFleet(new KubeClient(kc), namespaceNames()) : [];
  log(`connecting ${live} live channels`);
  const core = kc.makeApiClient(CoreV1Api);
  const liveChannels = Array.from({ length: live }, (_, i) => channelOf(i));
  const load = await ReportLoad.connect({
    core,
    live: liveChannels,
    tracker,
    sessionSeconds,
    relayUpSeconds: sessionSeconds,
  });
  cleanup.push(() => load.stop());
  const steady = await steadyState(state, load, tracker, leader);
  const peakRssMiB = await memoryMiB(leader.child.pid ?? 0, 'VmHWM');
  log(`steady state measured; killing the leader`);
  const handoverFigures = await handover(state, tracker, leader, standby);
  if (load.failures > 0) log(`${load.failures} report writes failed, the last: ${load.lastFailure}`);
  const figures = {
    channels,
    namespaces,
    live,
    nodes,
    resyncSeconds,
    heapMiB,
    controllerManagerQps: controllerQps,
    ...convergence,
    peakRssMiB,
    writesOverTwoResyncs,
    steady: { ...steady, figureWriteBudgetPerSecond: defaultFigureWritesPerSecond },
    ...handoverFigures,
  };
  return { figures, snapshot };
}

const namespaceNames = () => Array.from({ length: namespaces }, (_, i) => namespaceOf(i));

/** The reference: the operator's output replayed on a fresh control plane without it (fleet-baseline.ts). */
async function baseline(state: ClusterState, dir: string, cleanup: (() => Promise<void>)[], snapshot: ChannelReplay[]) {
  await setControllerManagerQps(state, controllerQps);
  await prepare(state, dir, cleanup);
  // The operator's own identity (the audit log tells its writes apart) and its pooled connections.
  const kc = new PooledKubeConfig();
  kc.loadFromFile(kubeconfigPath(dir, user));
  const tracker = new LiveStreamTracker(kc, (err) => log(`LiveStream watch: ${String(err)}`));
  await tracker.start();
  cleanup.push(() => tracker.stop());
  const started = Date.now();
  let failure: string | undefined;
  const replayed = replayFleet(new KubeClient(kc), snapshot, concurrency).catch((err: unknown) => {
    failure = `the replay failed: ${String(err)}`;
  });
  const convergeSeconds = await waitAll(
    'replayed',
    () => tracker.appliedCount,
    started,
    () => failure,
  );
  await replayed;
  const apps = kc.makeApiClient(AppsV1Api);
  let available = 0;
  let lastCount = 0;
  const count = () => {
    // One list of every Deployment costs the API server too: at most every 5 s.
    if (Date.now() - lastCount > 5_000) {
      lastCount = Date.now();
      void availableDeployments(apps, (ns) => ns.startsWith('fleet-')).then((n) => (available = n));
    }
    return available;
  };
  const podsAvailableSeconds = await waitAll('replayed pods available', count, started, () => failure);
  const writes = writesBy(auditLog(state.kubeconfig), user, started).filter(inFleet);
  return { convergeSeconds, podsAvailableSeconds, writesPerChannel: round(writes.length / channels, 2) };
}

type Phase<T> = (state: ClusterState, dir: string, cleanup: (() => Promise<void>)[]) => Promise<T>;
let interruptedTeardown: (() => Promise<void>) | undefined;

/** Runs `phase` on a control plane of its own, torn down after it (or when the bench is interrupted). */
async function onControlPlane<T>(prefix: string, phase: Phase<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const cleanup: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const step of cleanup.reverse()) await step().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    cleanup.length = 0;
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
  };
  interruptedTeardown = teardown;
  try {
    return await phase(await up({ dir, log }), dir, cleanup);
  } finally {
    await teardown();
  }
}

async function main(): Promise<void> {
  // Interrupted (Ctrl-C, a timeout): the control plane and kwok run in processes of their own; stop them first.
  const interrupted = () => void (interruptedTeardown?.() ?? Promise.resolve()).finally(() => process.exit(130));
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  const { figures, snapshot } = await onControlPlane('lso-bench-fleet-', run);
  if (!withBaseline) return void process.stdout.write(`${JSON.stringify(figures)}\n`);
  log(`the baseline: ${snapshot.length} channels replayed without the operator on a second control plane`);
  const reference = await onControlPlane('lso-bench-fleet-baseline-', (state, dir, cleanup) =>
    baseline(state, dir, cleanup, snapshot),
  );
  const convergeRatio = round(figures.convergeSeconds / reference.convergeSeconds, 2);
  process.stdout.write(`${JSON.stringify({ ...figures, baseline: reference, convergeRatio })}\n`);
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
