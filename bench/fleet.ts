// `make bench-fleet`: the operator where a fleet really loads it: a local control plane of its own with kwok fake
// nodes, so every channel's Deployment becomes a Running, Ready pod (no container runs), and a real Redis for
// reports. Prints one JSON line: channels, namespaces, nodes, convergeSeconds (every LiveStream's status written for
// its generation with ChildrenReady True: every child made and the transcoder pod available), the operator's
// peakRssMiB and cpuSeconds to converge, writesByVerb (the operator's write requests during convergence, by verb,
// from the API server's audit log) and writesOnResync (over two resyncs once converged; must be 0).
//
// Sizes: LSO_FLEET_CHANNELS (default 100), LSO_FLEET_NAMESPACES (default 5), LSO_FLEET_NODES (default 2). The issue's
// target is 5,000 channels in 50 namespaces. Not yet measured here: live reports, request rates of reads, report to
// status latency, leader hand-over (issue 18).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { writesBy, type AuditEvent } from '../hack/cluster/audit.ts';
import { kubectl, loadKubeConfig } from '../hack/cluster/kubectl.ts';
import { down, up, type ClusterState } from '../hack/cluster/local-cluster.ts';
import { startDaemon, stopDaemon, type DaemonRecord } from '../hack/cluster/processes.ts';
import { kwokTool } from '../hack/cluster/tools.ts';
import { ConditionType, group, plural, version, type LiveStream } from '../contract/src/api/index.ts';
import { applyLiveStreamCrd } from '../test/support/livestream-crd.ts';
import { auditLog, startOperator } from '../test/support/operator-process.ts';
import { cpuSeconds } from '../test/support/process-cpu.ts';
import { startRedisProcess } from '../test/support/redis-process.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { memoryMiB } from './process-memory.ts';

const positive = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
};
const channels = positive('LSO_FLEET_CHANNELS', 100);
const namespaces = Math.min(positive('LSO_FLEET_NAMESPACES', 5), channels);
const nodes = positive('LSO_FLEET_NODES', 2);
const resyncSeconds = 10;
const convergeTimeoutMs = 20 * 60_000;
const user = 'livestream-operator';
const fakeNode = { annotation: 'kwok.x-k8s.io/node', value: 'fake' };
const log = (line: string) => process.stderr.write(`bench-fleet: ${line}\n`);

const namespaceOf = (i: number) => `fleet-${i % namespaces}`;
const ours = (e: AuditEvent) =>
  e.objectRef?.namespace?.startsWith('fleet-') === true &&
  e.objectRef.resource !== 'leases' &&
  e.objectRef.resource !== 'events';

/** A fake node kwok manages (its node-initialize stage gives it room for 1M pods, 1k CPUs, 1 TiB). */
function nodeManifest(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `kwok-node-${i}`,
      annotations: { [fakeNode.annotation]: fakeNode.value, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': `kwok-node-${i}`, 'kubernetes.io/os': 'linux', type: 'kwok' },
    },
  };
}

/** kwok managing the nodes annotated as fake, with the module's fast stages (pods Ready as soon as scheduled). */
async function startKwok(state: ClusterState, dir: string): Promise<DaemonRecord> {
  const kwok = await kwokTool();
  const config = join(dir, 'kwok-stages.yaml');
  const docs = await Promise.all(kwok.stages.map((f) => readFile(f, 'utf8')));
  await writeFile(config, docs.join('\n---\n'));
  return startDaemon(
    'kwok',
    kwok.binary,
    [
      `--kubeconfig=${state.kubeconfig}`,
      `--config=${config}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${fakeNode.annotation}=${fakeNode.value}`,
      '--cidr=10.240.0.0/16',
      '--node-ip=10.240.0.1',
      '--node-lease-duration-seconds=40',
    ],
    join(dir, 'kwok.log'),
  );
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
          body: { apiVersion: `${group}/${version}`, kind: 'LiveStream', metadata: { name: `ch-${i + j}` }, spec: {} },
        }),
      ),
    );
  }
}

const childrenReady = (ls: LiveStream): boolean =>
  ls.status?.observedGeneration === ls.metadata.generation &&
  ls.status?.conditions?.some((c) => c.type === ConditionType.ChildrenReady && c.status === 'True') === true;

async function waitConverged(kc: KubeConfig): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(
    `${channels} LiveStreams with their children ready`,
    async () => {
      const list = (await custom.listClusterCustomObject({ group, version, plural })) as { items: LiveStream[] };
      const ready = list.items.filter(childrenReady).length;
      const pods = await core.listPodForAllNamespaces({ fieldSelector: 'status.phase=Running', limit: 1 });
      const running = (pods.metadata?.remainingItemCount ?? 0) + pods.items.length;
      log(`${ready}/${channels} ready, ${running} pods Running`);
      return ready === channels;
    },
    { timeoutMs: convergeTimeoutMs, intervalMs: 2_000 },
  );
}

function writesByVerb(events: AuditEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const verb = e.objectRef?.subresource ? `${e.verb}/${e.objectRef.subresource}` : e.verb;
    counts[verb] = (counts[verb] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lso-bench-fleet-'));
  const state = await up({ dir, log });
  const redisProcess = await startRedisProcess();
  let kwok: DaemonRecord | undefined;
  try {
    const kc = loadKubeConfig(state.kubeconfig);
    const run = (args: string[], input?: string) => kubectl(state.kubectl, state.kubeconfig, args, input);
    await applyLiveStreamCrd(run);
    kwok = await startKwok(state, dir);
    const manifests = Array.from({ length: nodes }, (_, i) => JSON.stringify(nodeManifest(i)));
    for (const m of manifests) await run(['create', '-f', '-'], m);
    await run(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
    for (let i = 0; i < namespaces; i++) await run(['create', 'namespace', namespaceOf(i)]);
    log(`${nodes} fake nodes Ready; ${channels} channels in ${namespaces} namespaces`);
    const operator = await startOperator({
      kubeconfig: state.kubeconfig,
      namespace: '',
      env: {
        LSO_RESYNC_SECONDS: String(resyncSeconds),
        LSO_CONCURRENCY: '8',
        LOG_LEVEL: 'warn',
        LSO_REDIS_URL: redisProcess.url,
      },
    });
    const pid = operator.child.pid ?? 0;
    const cpuBefore = await cpuSeconds(pid);
    const started = Date.now();
    await createLiveStreams(kc);
    await waitConverged(kc);
    const convergeSeconds = (Date.now() - started) / 1000;
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    const convergeWrites = writesBy(auditLog(state.kubeconfig), user, started).filter(ours);
    await sleep(2_000);
    const quietFrom = Date.now();
    await sleep((2 * resyncSeconds + 2) * 1000);
    const writesOnResync = writesBy(auditLog(state.kubeconfig), user, quietFrom).filter(ours).length;
    const result = {
      channels,
      namespaces,
      nodes,
      convergeSeconds: Math.round(convergeSeconds * 10) / 10,
      peakRssMiB: await memoryMiB(pid, 'VmHWM'),
      cpuSeconds: Math.round(cpu * 10) / 10,
      writesByVerb: writesByVerb(convergeWrites),
      writesPerChannel: Math.round((convergeWrites.length / channels) * 100) / 100,
      writesOnResync,
    };
    await operator.stop();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (kwok) await stopDaemon(kwok);
    await redisProcess.stop();
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
