// Runs the real operator (node operator/src/main.ts) as a child process against the test cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../../hack/cluster/processes.ts';
import { waitFor } from './wait-for.ts';

const mainTs = join(import.meta.dirname, '..', '..', 'operator', 'src', 'main.ts');

/** The operator's own kubeconfig on the local cluster (so the audit log tells its writes apart), else the admin one. */
export function operatorKubeconfig(adminKubeconfig: string): string {
  const own = join(dirname(adminKubeconfig), 'livestream-operator.kubeconfig');
  return existsSync(own) ? own : adminKubeconfig;
}

export function auditLog(adminKubeconfig: string): string {
  return join(dirname(adminKubeconfig), 'audit.log');
}

export interface OperatorProcess {
  child: ChildProcess;
  metricsUrl: string;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  metrics(): Promise<string>;
}

export async function startOperator(opts: {
  kubeconfig: string;
  namespace: string;
  env?: Record<string, string>;
}): Promise<OperatorProcess> {
  const [port] = await freePorts('127.0.0.1', 1);
  const child = spawn(process.execPath, [mainTs], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: operatorKubeconfig(opts.kubeconfig),
      LSO_WATCH_NAMESPACE: opts.namespace,
      LSO_LEASE_NAMESPACE: opts.namespace,
      LSO_METRICS_PORT: String(port),
      LSO_RESYNC_SECONDS: '2',
      LOG_LEVEL: 'debug',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const waitExit = async (sig: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    await exited;
  };
  // Up when the metrics endpoint answers.
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`operator exited: ${out}`);
    const ok = await fetch(metricsUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  return {
    child,
    metricsUrl,
    output: () => out,
    stop: () => waitExit('SIGTERM'),
    kill: () => waitExit('SIGKILL'),
    metrics: async () => (await fetch(metricsUrl)).text(),
  };
}

/** Polls `check` until it returns a value that is not undefined, or throws after `timeoutMs` with the last error. */
export function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  return waitFor(what, check, { timeoutMs, intervalMs: 100 });
}
