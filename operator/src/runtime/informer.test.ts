import { describe, expect, it } from 'vitest';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { metadataOnly, withListKind } from './informer.ts';

describe('metadataOnly', () => {
  it('reads an empty PartialObjectMetadataList, whose items the API server sends as null', async () => {
    const list = metadataOnly(() =>
      Promise.resolve({ items: null } as unknown as KubernetesListObject<KubernetesObject>),
    );
    expect((await list()).items).toEqual([]);
  });

  it('keeps name, namespace and resourceVersion, and drops annotations and managed fields', async () => {
    const secret = {
      apiVersion: 'meta.k8s.io/v1',
      kind: 'PartialObjectMetadata',
      metadata: {
        name: 'k',
        namespace: 'ns',
        resourceVersion: '7',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"streamKey":"c2VjcmV0"}}' },
        managedFields: [{ manager: 'kubectl' }],
      },
    };
    const list = metadataOnly(() => Promise.resolve<KubernetesListObject<KubernetesObject>>({ items: [secret] }));
    expect((await list()).items).toEqual([
      {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'PartialObjectMetadata',
        metadata: { name: 'k', namespace: 'ns', resourceVersion: '7' },
      },
    ]);
  });
});

describe('withListKind', () => {
  it("gives a list item the list's apiVersion and kind, which the API server leaves out of items", () => {
    const list = { apiVersion: 'apps/v1', kind: 'DeploymentList', items: [] };
    expect(withListKind(list, { metadata: { name: 'd' } })).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
    });
    const item = { apiVersion: 'x/v1', kind: 'LiveStream', metadata: { name: 'l' } };
    expect(withListKind({ apiVersion: 'x/v1', kind: 'LiveStreamList', items: [] }, item)).toBe(item);
  });
});
