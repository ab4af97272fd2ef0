// For a test suite: a client on the run's cluster and a fresh namespace that is deleted afterwards.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import { kubectl, loadKubeConfig } from '../../hack/cluster/kubectl.ts';
import { waitFor } from './wait-for.ts';

export interface TestCluster {
  kubeconfig: string;
  kc: KubeConfig;
  /** The suite's own namespace, created before its tests. */
  namespace: string;
  /** Runs kubectl against the cluster; resolves with stdout, rejects with stderr in the message. */
  kubectl: (args: string[], input?: string) => Promise<string>;
  /** Reasons of the Kubernetes events about object `name` in the suite's namespace. */
  eventReasons: (name: string) => Promise<string[]>;
}

/** Call at the top of a describe block (or file); the returned object is filled in before the tests run. */
export function useTestCluster(prefix = 'test'): TestCluster {
  const kubeconfig = inject('kubeconfig');
  const bin = inject('kubectl');
  const kc = loadKubeConfig(kubeconfig);
  const namespace = `${prefix}-${randomBytes(4).toString('hex')}`;
  const core = kc.makeApiClient(CoreV1Api);
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // Pods are refused until the controller manager has made the namespace's default ServiceAccount (a moment
    // later, seconds under load).
    await waitFor(
      `the default ServiceAccount of ${namespace}`,
      () =>
        core.readNamespacedServiceAccount({ name: 'default', namespace }).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });
  afterAll(async () => {
    // Fire the deletion; the namespace controller finishes it in the background.
    await core.deleteNamespace({ name: namespace });
  });
  const run = (args: string[], input?: string) => kubectl(bin, kubeconfig, args, input);
  const eventReasons = async (name: string) => {
    const out = await run([
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector',
      `involvedObject.name=${name}`,
      '-o',
      'json',
    ]);
    return (JSON.parse(out) as { items: { reason?: string }[] }).items.map((e) => e.reason ?? '');
  };
  return { kubeconfig, kc, namespace, kubectl: run, eventReasons };
}
