// The trimmed child caches against a real API server: children applied by our field manager, then seen through the
// informers of watches.ts (the list's typed objects first, then watch events) hold far less than the stored objects,
// yet change detection still finds nothing to apply, still sees a field someone else changed, and the reads the
// status needs (assigned node ports) are there.
import type { KubernetesObject, V1Deployment, V1Service } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { fullExample } from '../../../test/support/livestream-examples.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { buildConfigMap, buildDeployment, buildService } from '../controller/desired/index.ts';
import type { BuildContext } from '../controller/desired/context.ts';
import { KubeClient } from '../k8s/client.ts';
import { needsApply, withDesiredHash } from '../k8s/semantic.ts';
import { watchSpecs } from '../watches.ts';
import { ResilientInformer } from './informer.ts';

describe('trimmed child caches on a real API server', () => {
  const cluster = useTestCluster('cache-trim');
  const ctx: BuildContext = {
    image: 'livestream-operator/transcoder:test',
    redis: { secretName: 'full-redis', key: 'url' },
  };
  const informers = new Map<string, ResilientInformer<KubernetesObject>>();
  let desired: Record<'configmaps' | 'deployments' | 'services', KubernetesObject>;
  let client: KubeClient;

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
    const ns = cluster.namespace;
    await cluster.kubectl(
      ['apply', '--server-side', '--field-manager=cache-test', '-n', ns, '-f', '-'],
      JSON.stringify(fullExample.written),
    );
    const ls = JSON.parse(await cluster.kubectl(['get', 'livestream', 'full', '-n', ns, '-o', 'json'])) as LiveStream;
    desired = {
      configmaps: withDesiredHash(buildConfigMap(ls, ctx)),
      deployments: withDesiredHash(buildDeployment(ls, ctx)),
      services: withDesiredHash(buildService(ls, ctx)),
    };
    client = new KubeClient(cluster.kc);
    for (const obj of Object.values(desired)) await client.apply(obj);
    const { secondaries } = watchSpecs(cluster.kc, ns, false);
    for (const resource of Object.keys(desired)) {
      const spec = secondaries.find((s) => s.resource === resource);
      if (!spec?.transform) throw new Error(`no trimmed watch of ${resource}`);
      const informer = new ResilientInformer({ kc: cluster.kc, ...spec, onChange: () => undefined });
      informer.start();
      await informer.waitForSync();
      informers.set(resource, informer);
    }
  });
  afterAll(async () => {
    await Promise.all([...informers.values()].map((i) => i.stop()));
  });

  const cached = <T extends KubernetesObject>(resource: keyof typeof desired) => {
    const name = desired[resource].metadata?.name ?? '';
    return informers.get(resource)?.get(name, cluster.namespace) as T | undefined;
  };

  const stored = async (resource: keyof typeof desired) =>
    JSON.parse(
      await cluster.kubectl([
        'get',
        resource,
        desired[resource].metadata?.name ?? '',
        '-n',
        cluster.namespace,
        '-o',
        'json',
        '--show-managed-fields',
      ]),
    ) as KubernetesObject;

  it('holds a fraction of each stored child, and change detection finds nothing to apply', async () => {
    for (const resource of ['configmaps', 'deployments', 'services'] as const) {
      const full = await stored(resource);
      const kept = cached(resource);
      expect(kept, resource).toBeDefined();
      expect(full.metadata?.managedFields?.length, resource).toBeGreaterThan(0);
      expect(kept?.metadata?.managedFields, resource).toBeUndefined();
      expect([kept?.apiVersion, kept?.kind], resource).toEqual([full.apiVersion, full.kind]);
      expect(kept?.metadata?.resourceVersion, resource).toBe(full.metadata?.resourceVersion);
      expect(needsApply(desired[resource], full), resource).toBe(false);
      expect(needsApply(desired[resource], kept), resource).toBe(false);
    }
    const deployment = JSON.stringify(cached('deployments'));
    expect(deployment.length).toBeLessThan(JSON.stringify(await stored('deployments')).length / 2);
    expect(deployment).not.toContain('terminationMessagePath');
  });

  it('keeps the node ports the API server assigned (read by the status), which are not our fields', () => {
    const ports = cached<V1Service>('services')?.spec?.ports ?? [];
    expect(cached<V1Service>('services')?.spec?.type).toBe('LoadBalancer');
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p.nodePort).toBeGreaterThan(0);
  });

  /** The cached Deployment once the cache has caught up with resourceVersion `rv` (the informer may skip one). */
  const deploymentAtLeast = (rv: string | undefined) =>
    waitFor(
      `the Deployment at resourceVersion ${rv} in the cache`,
      () => {
        const d = cached<V1Deployment>('deployments');
        return Number(d?.metadata?.resourceVersion) >= Number(rv) ? d : undefined;
      },
      { timeoutMs: 10_000 },
    );

  it('sees drift through a watch event: an image changed by hand needs an apply, and after it none', async () => {
    const name = desired.deployments.metadata?.name ?? '';
    const patched = JSON.parse(
      await cluster.kubectl([
        'patch',
        'deployment',
        name,
        '-n',
        cluster.namespace,
        '--type=json',
        '-o',
        'json',
        '-p',
        '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"edited/by-hand:1"}]',
      ]),
    ) as V1Deployment;
    const drifted = await deploymentAtLeast(patched.metadata?.resourceVersion);
    // The edited image is kubectl's field now, so the cache does not hold it, and the desired image is missing.
    expect(JSON.stringify(drifted)).not.toContain('edited/by-hand');
    expect(needsApply(desired.deployments, drifted)).toBe(true);

    const applied = await client.apply(desired.deployments);
    const healed = await deploymentAtLeast(applied.metadata?.resourceVersion);
    expect(needsApply(desired.deployments, healed)).toBe(false);
  });
});
