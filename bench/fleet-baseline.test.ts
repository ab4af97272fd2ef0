import { describe, expect, it } from 'vitest';
import { replayable } from './fleet-baseline.ts';

const owner = { apiVersion: 'example/v1', kind: 'LiveStream', name: 'ch-1', uid: 'u-1', controller: true };

describe('replayable', () => {
  it('keeps what a client applies and drops what the API server assigned', () => {
    const read = {
      metadata: {
        name: 'ch-1',
        namespace: 'fleet-1',
        uid: 'old',
        resourceVersion: '42',
        creationTimestamp: new Date(0),
        managedFields: [{ manager: 'livestream-operator' }],
        labels: { app: 'x' },
        annotations: { 'livestream.example/desired-hash': 'h' },
        ownerReferences: [{ ...owner, uid: 'old-owner' }],
      },
      spec: { clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'], ports: [{ port: 1935 }], type: 'ClusterIP' },
      status: { loadBalancer: {} },
    };
    expect(replayable(read, { apiVersion: 'v1', kind: 'Service' }, owner)).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'ch-1',
        namespace: 'fleet-1',
        labels: { app: 'x' },
        annotations: { 'livestream.example/desired-hash': 'h' },
        ownerReferences: [owner],
      },
      spec: { ports: [{ port: 1935 }], type: 'ClusterIP' },
    });
  });

  it('keeps a Deployment spec whole and a Secret its data, without labels it did not have', () => {
    const spec = { replicas: 1, clusterIP: 'kept: only a Service has one' };
    const deployment = replayable(
      { metadata: { name: 'd' }, spec },
      { apiVersion: 'apps/v1', kind: 'Deployment' },
      owner,
    );
    expect(deployment).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', spec });
    expect(deployment.metadata).toEqual({ name: 'd', namespace: undefined, ownerReferences: [owner] });
    const secret = replayable(
      { metadata: { name: 's' }, data: { key: 'YQ==' }, type: 'Opaque' } as never,
      { apiVersion: 'v1', kind: 'Secret' },
      owner,
    );
    expect(secret).toMatchObject({ kind: 'Secret', data: { key: 'YQ==' }, type: 'Opaque' });
    expect(secret).not.toHaveProperty('spec');
  });
});
