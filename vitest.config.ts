import { defineConfig } from 'vitest/config';
import { E2eSequencer } from './test/support/e2e-sequencer.ts';

// Test tiers (docs/architecture.md): `unit` is pure and fast; `kube` runs against a real kube-apiserver (started
// once for the run by the global setup unless KUBECONFIG points at a cluster); `media` runs real ffmpeg,
// node-media-server and Redis processes; `images` builds and runs the container images with podman; `e2e` needs a
// cluster with a node (the local one, started by its global setup) and runs only through `make e2e`.
const slow = { testTimeout: 120_000, hookTimeout: 240_000 };
const code = '{contract,operator,transcoder,gateway,kubectl-plugin,hack,test,bench,crds,scripts,charts}';

export default defineConfig({
  test: {
    sequence: { sequencer: E2eSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: [`${code}/**/*.test.ts`],
          exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'kube',
          include: ['{contract,operator,kubectl-plugin,hack,crds,charts}/**/*.int.test.ts'],
          globalSetup: ['test/support/vitest-global-setup.ts'],
          ...slow,
        },
      },
      {
        test: {
          name: 'media',
          include: ['{transcoder,gateway}/**/*.int.test.ts'],
          fileParallelism: false,
          ...slow,
        },
      },
      {
        test: {
          name: 'images',
          include: ['test/e2e/images.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 1_200_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          exclude: ['test/e2e/images.e2e.test.ts', '**/node_modules/**'],
          globalSetup: ['test/support/vitest-node-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 1_200_000,
        },
      },
    ],
  },
});
