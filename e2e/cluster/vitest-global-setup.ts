// Gives the `kube` test project a real API server: the one KUBECONFIG names, a cluster already started with
// `make cluster-up`, or else one started here for this run and stopped at its end.
import type { TestProject } from 'vitest/node';
import { defaultClusterDir, down, isRunning, readState, up } from './local-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** Path of a kubectl binary matching the cluster, or "kubectl" from PATH for an external cluster. */
    kubectl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.KUBECONFIG;
  if (external) {
    project.provide('kubeconfig', external);
    project.provide('kubectl', process.env.KUBECTL ?? 'kubectl');
    return async () => {};
  }
  const existing = await readState(defaultClusterDir);
  const reuse = existing !== undefined && isRunning(existing);
  const state = reuse ? existing : await up({ log: (l) => process.stderr.write(`cluster: ${l}\n`) });
  project.provide('kubeconfig', state.kubeconfig);
  project.provide('kubectl', state.kubectl);
  return async () => {
    if (!reuse) await down();
  };
}
