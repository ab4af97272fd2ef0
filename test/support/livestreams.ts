// LiveStreams in a test suite's namespace: write one as a user would (server-side apply of the manifest), read it
// back, wait for its status to show something. One way for every kube-tier test.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { group, plural, version, type LiveStream } from '../../contract/src/api/index.ts';
import type { TestCluster } from './test-namespace.ts';
import { waitFor } from './wait-for.ts';

export interface LiveStreams {
  /** Applies a LiveStream with this spec, as written (the API server applies the defaults). */
  apply(name: string, spec: Record<string, unknown>): Promise<void>;
  get(name: string): Promise<LiveStream>;
  /** Polls `name` until `check` returns something other than undefined, and returns that. */
  until<T>(name: string, what: string, check: (ls: LiveStream) => T | undefined, timeoutMs?: number): Promise<T>;
}

export function liveStreams(cluster: TestCluster): LiveStreams {
  const custom = cluster.kc.makeApiClient(CustomObjectsApi);
  const get = async (name: string) =>
    (await custom.getNamespacedCustomObject({
      group,
      version,
      plural,
      namespace: cluster.namespace,
      name,
    })) as LiveStream;
  return {
    apply: async (name, spec) => {
      const manifest = {
        apiVersion: `${group}/${version}`,
        kind: 'LiveStream',
        metadata: { name, namespace: cluster.namespace },
        spec,
      };
      await cluster.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(manifest));
    },
    get,
    until: (name, what, check, timeoutMs = 15_000) =>
      waitFor(what, async () => check(await get(name)), { timeoutMs, intervalMs: 100 }),
  };
}
