// `make bench-operator`: 500 LiveStreams against a local control plane of its own, with a real Redis for reports;
// prints one JSON line: livestreams, convergeSeconds (every child created and every status written), peakRssMiB of
// the operator, writesPerLiveStream to converge, writesOnResync (write requests over two resyncs once converged; must
// be 0), and the live-figures figure: 200 of the LiveStreams go live and heartbeat every 5 s with moving figures
// (viewers, bitrate, segments), as transcoders do; liveStatusWritesPerSecond is the status writes per second they
// cause once their transitions are written, against figureWriteBudgetPerSecond (the operator's cluster-wide cap).
// Writes are counted by the API server's audit log, by the operator's own user.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { writesBy, type AuditEvent } from '../hack/cluster/audit.ts';
import { down, up } from '../hack/cluster/local-cluster.ts';
import { kubectl, loadKubeConfig } from '../hack/cluster/kubectl.ts';
import { auditLog, startOperator } from '../test/support/operator-process.ts';
import { startRedisProcess } from '../test/support/redis-process.ts';
import { channelConnection, liveHeartbeat, reportWriter, type ReportWriter } from '../test/support/report-writer.ts';
import { group, plural, version, type LiveStream } from '../contract/src/api/index.ts';
import { defaultFigureWritesPerSecond } from '../operator/src/controller/reconcile/figure-budget.ts';
import { applyLiveStreamCrd } from '../test/support/livestream-crd.ts';
import { memoryMiB } from './process-memory.ts';

const count = Number(process.argv[2] ?? 500);
const live = Math.min(200, count);
const resyncSeconds = 10;
const heartbeatSeconds = 5;
/** Time for the live streams' transitions (Live, first segments) to be written before the figures are counted. */
const warmupSeconds = 30;
const measureSeconds = 60;
const namespace = 'bench';
/**
 * The heap the operator has in its pod: Node sizes V8's old space from the container's memory limit (the chart's
 * command sets a quarter of it, 128 MiB of the default 512Mi) and keeps the young generation small. Without a limit,
 * as here, V8 sizes it from the machine's memory (4 GiB on 24 GiB) and lets garbage pile up to ~200 MiB before a full
 * collection: the 600 MiB peak RSS measured before was that, over a live heap of ~50-65 MiB.
 */
const operatorHeapFlags = '--max-old-space-size=128 --max-semi-space-size=8';
const user = 'livestream-operator';
const log = (line: string) => process.stderr.write(`bench-operator: ${line}\n`);

const peakRssMiB = (pid: number) => memoryMiB(pid, 'VmHWM');

const inNamespace = (e: AuditEvent) =>
  e.objectRef?.namespace === namespace && e.objectRef.resource !== 'leases' && e.objectRef.resource !== 'events';

async function createLiveStreams(kc: KubeConfig): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  log(`creating ${count} LiveStreams`);
  for (let i = 0; i < count; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, (_, j) =>
        custom.createNamespacedCustomObject({
          group,
          version,
          plural,
          namespace,
          body: { apiVersion: `${group}/${version}`, kind: 'LiveStream', metadata: { name: `ls-${i + j}` }, spec: {} },
        }),
      ),
    );
  }
}

async function waitConverged(kc: KubeConfig, started: number): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  for (;;) {
    if (Date.now() - started > 15 * 60_000) throw new Error('not converged after 15 minutes');
    await sleep(1_000);
    const [list, deps, svcs] = await Promise.all([
      custom.listNamespacedCustomObject({ group, version, plural, namespace }) as Promise<{ items: LiveStream[] }>,
      apps.listNamespacedDeployment({ namespace }),
      core.listNamespacedService({ namespace }),
    ]);
    const withStatus = list.items.filter((l) => l.status?.observedGeneration === l.metadata.generation).length;
    log(`${withStatus}/${count} statuses, ${deps.items.length} Deployments, ${svcs.items.length} Services`);
    if (withStatus === count && deps.items.length === count && svcs.items.length === count) return;
  }
}

/**
 * `live` streams publish and heartbeat every 5 s (spread over the period, figures moving every time) for the warm-up
 * and the measured window; returns the status writes per second in that window. Each stream writes as its pods do:
 * over its own connection, with the credential the operator put in its "<name>-redis" Secret, to its own stream.
 */
async function liveStatusWritesPerSecond(kc: KubeConfig, kubeconfig: string): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const connections: Redis[] = [];
  try {
    for (let i = 0; i < live; i++) connections.push(await channelConnection(core, namespace, `ls-${i}`));
    const writers: [ReportWriter, string][] = connections.map((c, i) => [
      reportWriter(c, namespace, `ls-${i}`),
      `bench-session-${i}`,
    ]);
    await Promise.all(writers.map(([w, session]) => w.report('publish-started', session, { resumed: false })));
    const end = Date.now() + (warmupSeconds + measureSeconds) * 1000;
    const from = Date.now() + warmupSeconds * 1000;
    const slice = Math.ceil(live / (heartbeatSeconds * 10));
    for (let tick = 0; Date.now() < end; tick++) {
      // One tenth of a second's share of the streams: each stream's heartbeat every 5 s, like real pods.
      const offset = (tick * slice) % live;
      const n = Math.floor(tick / (heartbeatSeconds * 10)) + 1;
      const heartbeat = liveHeartbeat(n, { viewers: (tick * 7 + offset) % 500, bitrateKbps: 2000 + (tick % 300) });
      await Promise.all(
        writers.slice(offset, offset + slice).map(([w, session]) => w.report('heartbeat', session, heartbeat)),
      );
      await sleep(100);
    }
    const to = Date.now();
    const writes = writesBy(auditLog(kubeconfig), user, from).filter(
      (e) => inNamespace(e) && e.objectRef?.subresource === 'status' && Date.parse(e.stageTimestamp) < to,
    );
    return Math.round((writes.length / ((to - from) / 1000)) * 100) / 100;
  } finally {
    for (const c of connections) c.disconnect();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lso-bench-operator-'));
  const state = await up({ dir, log });
  const redisProcess = await startRedisProcess();
  let stopping = false;
  // Interrupted (Ctrl-C, a timeout): the control plane runs in processes of its own, so stop it before exiting.
  let stopOperator: (() => Promise<void>) | undefined;
  const interrupted = () => {
    stopping = true;
    void Promise.allSettled([stopOperator?.(), redisProcess.stop(), down({ dir })]).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const kc = loadKubeConfig(state.kubeconfig);
    await applyLiveStreamCrd((args) => kubectl(state.kubectl, state.kubeconfig, args));
    await kubectl(state.kubectl, state.kubeconfig, ['create', 'namespace', namespace]);
    const operator = await startOperator({
      kubeconfig: state.kubeconfig,
      namespace,
      env: {
        LSO_RESYNC_SECONDS: String(resyncSeconds),
        LSO_CONCURRENCY: '8',
        LOG_LEVEL: 'warn',
        LSO_REDIS_URL: redisProcess.url,
        NODE_OPTIONS: operatorHeapFlags,
      },
    });
    // An operator that exits mid-run leaves the run waiting for a convergence that cannot come: say why at once.
    operator.child.once('exit', (code, signal) => {
      if (!stopping) log(`operator exited (${code ?? signal}): ${operator.output().slice(-4000)}`);
    });
    stopOperator = () => operator.kill();
    const started = Date.now();
    await createLiveStreams(kc);
    log(`created in ${(Date.now() - started) / 1000} s`);
    await waitConverged(kc, started);
    const convergeSeconds = (Date.now() - started) / 1000;
    log(`converged in ${convergeSeconds} s, peak RSS so far ${await peakRssMiB(operator.child.pid ?? 0)} MiB`);
    const convergeWrites = writesBy(auditLog(state.kubeconfig), user, started).filter(inNamespace).length;
    await sleep(2_000);
    const quietFrom = Date.now();
    await sleep((2 * resyncSeconds + 2) * 1000);
    const writesOnResync = writesBy(auditLog(state.kubeconfig), user, quietFrom).filter(inNamespace).length;
    log(`${live} streams live, heartbeats every ${heartbeatSeconds} s`);
    const liveWrites = await liveStatusWritesPerSecond(kc, state.kubeconfig);
    const result = {
      livestreams: count,
      convergeSeconds: Math.round(convergeSeconds * 10) / 10,
      peakRssMiB: await peakRssMiB(operator.child.pid ?? 0),
      writesPerLiveStream: Math.round((convergeWrites / count) * 100) / 100,
      writesOnResync,
      liveStreams: live,
      liveStatusWritesPerSecond: liveWrites,
      figureWriteBudgetPerSecond: defaultFigureWritesPerSecond,
    };
    stopping = true;
    await operator.stop();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await redisProcess.stop();
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
