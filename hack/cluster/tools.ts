// Locates the pinned test tools, building them on a cache miss (hack/tools/build.sh keys the cache by version).
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const buildScript = join(import.meta.dirname, '..', 'tools', 'build.sh');

export type ToolName = 'kubernetes' | 'etcd' | 'helm' | 'coredns' | 'kwok';

const resolved = new Map<ToolName, Promise<string>>();

/** Returns the bin directory of a tool, building it first if the cache has no complete entry. */
export function toolBin(name: ToolName): Promise<string> {
  let dir = resolved.get(name);
  if (!dir) {
    // Build output goes straight to our stderr so a cold build shows progress; stdout is the path.
    dir = run('bash', [buildScript, name], { maxBuffer: 1 << 20, timeout: 90 * 60_000 }).then(({ stdout }) =>
      stdout.trim(),
    );
    resolved.set(name, dir);
  }
  return dir;
}

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
}

export async function controlPlaneBinaries(): Promise<ControlPlaneBinaries> {
  // Sequential on purpose: two cold Go builds in parallel on two cores only thrash.
  const etcdBin = await toolBin('etcd');
  const kubeBin = await toolBin('kubernetes');
  return {
    etcd: join(etcdBin, 'etcd'),
    kubeApiserver: join(kubeBin, 'kube-apiserver'),
    kubeControllerManager: join(kubeBin, 'kube-controller-manager'),
    kubeScheduler: join(kubeBin, 'kube-scheduler'),
    kubectl: join(kubeBin, 'kubectl'),
  };
}

export interface KwokTool {
  binary: string;
  /** The node and pod stages kwok runs (its binary has none of its own), each for a `--config`. */
  stages: string[];
}

/** kwok, which runs pods on fake nodes (the fleet benchmark), built on a cache miss with its stages beside it. */
export async function kwokTool(): Promise<KwokTool> {
  const bin = await toolBin('kwok');
  const dir = join(bin, '..', 'stages');
  const stages = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  return { binary: join(bin, 'kwok'), stages: stages.map((f) => join(dir, f)) };
}
