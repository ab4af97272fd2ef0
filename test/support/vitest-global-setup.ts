// Gives the `kube` test project a real API server: the one KUBECONFIG names, a cluster already started with
// `make cluster-up`, or else one started here for this run and stopped at its end. The `e2e` project's setup
// (vitest-node-setup.ts) asks the same of a cluster with a node.
import type { TestProject } from 'vitest/node';
import {
  defaultClusterDir,
  down,
  isRunning,
  readState,
  up,
  type ClusterState,
} from '../../hack/cluster/local-cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** Path of a kubectl binary matching the cluster, or "kubectl" from PATH for an external cluster. */
    kubectl: string;
  }
}

export interface ProvidedCluster {
  /** The local cluster, when one is used (not with KUBECONFIG). */
  state?: ClusterState;
  teardown: () => Promise<void>;
}

/** Provides `kubeconfig` and `kubectl`; starts a local cluster (with a node if asked) unless one fits already. */
export async function provideCluster(project: TestProject, options: { node: boolean }): Promise<ProvidedCluster> {
  const external = process.env.KUBECONFIG;
  if (external) {
    project.provide('kubeconfig', external);
    project.provide('kubectl', process.env.KUBECTL ?? 'kubectl');
    return { teardown: async () => {} };
  }
  const existing = await readState(defaultClusterDir);
  const reuse = existing !== undefined && isRunning(existing) && (!options.node || existing.node !== undefined);
  const log = (l: string) => process.stderr.write(`cluster: ${l}\n`);
  const state = reuse ? existing : await up({ node: options.node, log });
  project.provide('kubeconfig', state.kubeconfig);
  project.provide('kubectl', state.kubectl);
  return {
    state,
    // LSO_KEEP_CLUSTER=1 leaves a cluster this run started running, to look at after a failure.
    teardown: async () => {
      if (!reuse && !process.env.LSO_KEEP_CLUSTER) await down();
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  return (await provideCluster(project, { node: false })).teardown;
}
