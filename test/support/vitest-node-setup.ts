// Gives the `e2e` test project a cluster that runs pods: the one KUBECONFIG names (the images, built here, must
// already be available to its nodes), a node cluster already started with `make node-up`, or else one started here
// for this run and stopped at its end. Also provides the tags of the project's images.
import type { TestProject } from 'vitest/node';
import { nodeImages } from '../../hack/cluster/node.ts';
import { provideCluster } from './vitest-global-setup.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Tags of the project's images (localhost/livestream-<kind>:<tag>). */
    images: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { state, teardown } = await provideCluster(project, { node: true });
  const log = (l: string) => process.stderr.write(`cluster: ${l}\n`);
  // The local node imported its images at start; another cluster gets the tags of the images built here.
  project.provide('images', state?.node?.images ?? (await nodeImages(log)).map((i) => i.tag));
  return teardown;
}
