// The metadata-only Secret informer against a real API server: it sees every Secret of the namespace and each change
// of one, maps a Secret to the LiveStream that references it, and its cache holds no Secret data, not even the copy
// `kubectl apply` leaves in the last-applied-configuration annotation.
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { storedLiveStream, fullExample } from '../../test/support/livestream-examples.ts';
import { useTestCluster } from '../../test/support/test-namespace.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { secretMetadataResource } from './controller/reconcile/secrets.ts';
import { ResilientInformer } from './runtime/informer.ts';
import { watchSpecs } from './watches.ts';

describe('the metadata-only Secret informer', () => {
  const cluster = useTestCluster('secret-meta');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const changes: { name: string; kind: string; key: string | undefined }[] = [];
  let informer: ResilientInformer<KubernetesObject> | undefined;
  afterAll(async () => {
    await informer?.stop();
  });

  it('caches names and resourceVersions only, and maps a changed Secret to the LiveStream naming it', async () => {
    const ns = cluster.namespace;
    const value = 'plaintext-value-that-must-not-be-cached';
    // kubectl apply, as a user would: it copies the data into the last-applied-configuration annotation.
    const applySecret = (streamKey: string) =>
      cluster.kubectl(
        ['apply', '-n', ns, '-f', '-'],
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'studio-key' },
          stringData: { streamKey },
        }),
      );
    await applySecret(value);
    const { primary, secondaries, references } = watchSpecs(cluster.kc, ns, false);
    const spec = secondaries.find((s) => s.resource === secretMetadataResource);
    if (!spec) throw new Error('no metadata-only Secret watch');
    // The LiveStream informer notes what each LiveStream references (fullExample names studio-key).
    primary.keyFor(storedLiveStream(fullExample, { namespace: ns }));
    expect(references.keysFor({ metadata: { namespace: ns, name: 'studio-key' } })).toEqual([`${ns}/full`]);

    informer = new ResilientInformer({
      kc: cluster.kc,
      path: spec.path,
      list: spec.list,
      onChange: (obj, kind) => changes.push({ name: obj.metadata?.name ?? '', kind, key: spec.keyFor(obj) }),
    });
    informer.start();
    await informer.waitForSync();
    const cached = informer.get('studio-key', ns);
    expect(cached?.metadata?.resourceVersion).toMatch(/^\d+$/);
    const read = await core.readNamespacedSecret({ name: 'studio-key', namespace: ns });
    expect(read.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain(value);
    expect(JSON.stringify(cached)).not.toContain(Buffer.from(value).toString('base64'));
    expect(JSON.stringify(cached)).not.toContain(value);
    expect(Object.keys(cached ?? {}).sort()).toEqual(['apiVersion', 'kind', 'metadata']);

    await applySecret(`${value}-2`);
    await waitFor('the update', () => (changes.some((c) => c.kind === 'update') ? true : undefined), {
      timeoutMs: 5_000,
    });
    const updated = informer.get('studio-key', ns);
    expect(updated?.metadata?.resourceVersion).not.toBe(cached?.metadata?.resourceVersion);
    expect(JSON.stringify(updated)).not.toContain(Buffer.from(`${value}-2`).toString('base64'));
    expect(changes.find((c) => c.kind === 'update')).toEqual({ name: 'studio-key', kind: 'update', key: `${ns}/full` });

    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'unrelated' }, data: { x: 'eA==' } },
    });
    await waitFor('the unrelated add', () => (changes.some((c) => c.name === 'unrelated') ? true : undefined), {
      timeoutMs: 5_000,
    });
    expect(changes.find((c) => c.name === 'unrelated')?.key).toBeUndefined();
    for (const obj of informer.list(ns)) expect(obj).not.toHaveProperty('data');
  });
});
