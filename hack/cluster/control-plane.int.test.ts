// Smoke test of the local control plane: kubectl applies a CRD and a custom object; @kubernetes/client-node reads
// them back; the API server reports the pinned version.
import { CustomObjectsApi, VersionApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { useTestCluster } from '../../test/support/test-namespace.ts';

const group = 'smoke.livestream-operator.test';
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `gadgets.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: { size: { type: 'integer', minimum: 1 } },
              },
            },
          },
        },
      },
    ],
  },
};

describe('local control plane', () => {
  const cluster = useTestCluster('smoke');

  it('serves the pinned Kubernetes version', async () => {
    const version = await cluster.kc.makeApiClient(VersionApi).getCode();
    if (!process.env.KUBECONFIG) expect(version.gitVersion).toBe('v1.36.3');
    expect(Number(version.minor.replace(/\D/g, ''))).toBeGreaterThanOrEqual(31);
  });

  it('applies a CRD and a custom object with kubectl and reads them back with client-node', async () => {
    await cluster.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(crd));
    await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=30s', `crd/gadgets.${group}`]);
    const gadget = {
      apiVersion: `${group}/v1`,
      kind: 'Gadget',
      metadata: { name: 'first', namespace: cluster.namespace },
      spec: { size: 3 },
    };
    await cluster.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(gadget));

    const api = cluster.kc.makeApiClient(CustomObjectsApi);
    const read = (await api.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: cluster.namespace,
      plural: 'gadgets',
      name: 'first',
    })) as { spec: { size: number }; metadata: { uid: string } };
    expect(read.spec.size).toBe(3);
    expect(read.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);

    // The schema is enforced by the real API server.
    const bad = { ...gadget, metadata: { ...gadget.metadata, name: 'bad' }, spec: { size: 0 } };
    await expect(cluster.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(bad))).rejects.toThrow(
      /spec.size: Invalid value: 0/,
    );
  });
});
