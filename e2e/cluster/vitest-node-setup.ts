// Gives the `e2e` test project a cluster that runs pods: the one KUBECONFIG names (the images must already be
// available to it), a node cluster already started with `make node-up`, or else one started here for this run and
// stopped at its end. Also provides the tags of the locally built images.
import type { TestProject } from 'vitest/node';
import { defaultClusterDir, down, isRunning, readState, up } from './local-cluster.ts';
import { nodeImages } from './node.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Tags of the project's images (localhost/livestream-<kind>:<tag>). */
    images: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (l: string) => process.stderr.write(`cluster: ${l}\n`);
  project.provide(
    'images',
    (await nodeImages(log)).map((i) => i.tag),
  );
  const external = process.env.KUBECONFIG;
  if (external) {
    project.provide('kubeconfig', external);
    project.provide('kubectl', process.env.KUBECTL ?? 'kubectl');
    return async () => {};
  }
  const existing = await readState(defaultClusterDir);
  const reuse = existing !== undefined && isRunning(existing) && existing.node !== undefined;
  const state = reuse ? existing : await up({ node: true, log });
  project.provide('kubeconfig', state.kubeconfig);
  project.provide('kubectl', state.kubectl);
  return async () => {
    if (!reuse && !process.env.LSO_KEEP_CLUSTER) await down();
  };
}
