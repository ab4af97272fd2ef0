// The fleet benchmark's operator replicas: the real operator process (operator-process.ts, as bench-operator starts
// it), cluster-wide, with the resync period and heap of the run; which of them leads, read from its own metrics.
import { startOperator, type OperatorProcess } from '../test/support/operator-process.ts';
import { waitFor } from '../test/support/wait-for.ts';

export interface ReplicaSettings {
  kubeconfig: string;
  redisUrl: string;
  resyncSeconds: number;
  concurrency: number;
  /**
   * V8's old space, in MiB: what the chart's command gives a pod (a quarter of its memory limit), here of a 1 GiB
   * limit by default. Without it V8 sizes the heap from the machine's memory and lets garbage pile up.
   */
  heapMiB: number;
}

export async function startReplica(s: ReplicaSettings, log: (line: string) => void): Promise<OperatorProcess> {
  const operator = await startOperator({
    kubeconfig: s.kubeconfig,
    namespace: '',
    env: {
      LSO_RESYNC_SECONDS: String(s.resyncSeconds),
      LSO_CONCURRENCY: String(s.concurrency),
      LSO_LEASE_NAMESPACE: 'default',
      LOG_LEVEL: 'warn',
      LSO_REDIS_URL: s.redisUrl,
      NODE_OPTIONS: `--max-old-space-size=${s.heapMiB} --max-semi-space-size=8`,
    },
  });
  const pid = operator.child.pid ?? 0;
  // A replica that fails mid-run leaves the run waiting for what cannot come: say why at once (a stop or the
  // hand-over's kill is no failure).
  operator.child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) log(`operator ${pid} exited (${code}): ${operator.output().slice(-4000)}`);
  });
  return operator;
}

/** Whether the replica's metrics say it holds the Lease (livestream_operator_leader 1). */
export async function isLeader(operator: OperatorProcess): Promise<boolean> {
  const text = await operator.metrics().catch(() => '');
  return /^livestream_operator_leader 1$/m.test(text);
}

/** Resolves with the replica that leads once one does (bounded). */
export async function leaderOf(replicas: OperatorProcess[], timeoutMs: number): Promise<OperatorProcess> {
  return await waitFor(
    'an operator replica to lead',
    async () => {
      for (const r of replicas) if (r.child.exitCode === null && (await isLeader(r))) return r;
      return undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}
