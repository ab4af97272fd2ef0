// `make bench-operator`: 500 LiveStreams against a local control plane of its own; prints one JSON line:
// livestreams, convergeSeconds (every child created and every status written), peakRssMiB of the operator,
// writesPerLiveStream to converge, and writesOnResync (write requests over two resyncs once converged; must be 0).
// Writes are counted by the API server's audit log, by the operator's own user.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { writesBy } from '../hack/cluster/audit.ts';
import { down, up } from '../hack/cluster/local-cluster.ts';
import { kubectl, loadKubeConfig } from '../hack/cluster/kubectl.ts';
import { auditLog, startOperator } from '../test/support/operator-process.ts';
import { group, plural, version, type LiveStream } from '../contract/src/api/index.ts';
import { applyLiveStreamCrd } from '../test/support/livestream-crd.ts';

const count = Number(process.argv[2] ?? 500);
const resyncSeconds = 10;
const namespace = 'bench';
const log = (line: string) => process.stderr.write(`bench-operator: ${line}\n`);

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lso-bench-operator-'));
  const state = await up({ dir, log });
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
        LSO_REDIS_URL: 'redis://127.0.0.1:1',
      },
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const started = Date.now();
    log(`creating ${count} LiveStreams`);
    for (let i = 0; i < count; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, count - i) }, (_, j) =>
          custom.createNamespacedCustomObject({
            group,
            version,
            plural,
            namespace,
            body: {
              apiVersion: `${group}/${version}`,
              kind: 'LiveStream',
              metadata: { name: `ls-${i + j}` },
              spec: {},
            },
          }),
        ),
      );
    }
    let converged = false;
    while (!converged) {
      if (Date.now() - started > 15 * 60_000) throw new Error('not converged after 15 minutes');
      await sleep(1_000);
      const [list, deps, svcs] = await Promise.all([
        custom.listNamespacedCustomObject({ group, version, plural, namespace }) as Promise<{ items: LiveStream[] }>,
        apps.listNamespacedDeployment({ namespace }),
        core.listNamespacedService({ namespace }),
      ]);
      const withStatus = list.items.filter((l) => l.status?.observedGeneration === l.metadata.generation).length;
      converged = withStatus === count && deps.items.length === count && svcs.items.length === count;
      log(`${withStatus}/${count} statuses, ${deps.items.length} Deployments, ${svcs.items.length} Services`);
    }
    const convergeSeconds = (Date.now() - started) / 1000;
    const user = 'livestream-operator';
    const inNamespace = (e: { objectRef?: { namespace?: string; resource?: string } }) =>
      e.objectRef?.namespace === namespace && e.objectRef.resource !== 'leases' && e.objectRef.resource !== 'events';
    const convergeWrites = writesBy(auditLog(state.kubeconfig), user, started).filter(inNamespace).length;
    await sleep(2_000);
    const quietFrom = Date.now();
    await sleep((2 * resyncSeconds + 2) * 1000);
    const writesOnResync = writesBy(auditLog(state.kubeconfig), user, quietFrom).filter(inNamespace).length;
    const pid = operator.child.pid ?? 0;
    const result = {
      livestreams: count,
      convergeSeconds: Math.round(convergeSeconds * 10) / 10,
      peakRssMiB: await peakRssMiB(pid),
      writesPerLiveStream: Math.round((convergeWrites / count) * 100) / 100,
      writesOnResync,
    };
    await operator.stop();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await down({ dir });
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
