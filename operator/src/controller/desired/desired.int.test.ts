// The builders' manifests against a real API server: every child is accepted as built (server-side apply, strict
// field validation), re-applying the same manifests writes nothing, and the owner references make the children
// garbage when the LiveStream goes.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { useTestCluster } from '../../../../test/support/test-namespace.ts';
import { fullExample, minimalExample, type Example } from '../../../../test/support/livestream-examples.ts';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { buildConfigMap } from './config-map.ts';
import { buildDeployment } from './deployment.ts';
import { channelRedisUrl } from '../../../../contract/src/report-streams.ts';
import { channelOf } from './redis-secret.ts';
import { buildRedisSecret } from './redis-secret.ts';
import { buildService } from './service.ts';
import { buildStreamKeySecret } from './stream-key-secret.ts';
import { applyLiveStreamCrd } from '../../../../test/support/livestream-crd.ts';

describe('child manifests on a real API server', () => {
  const cluster = useTestCluster('desired');
  const ctx: BuildContext = { image: 'livestream-operator/transcoder:test', redis: { secretName: '', key: 'url' } };

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
  });

  async function stored(example: Example): Promise<LiveStream> {
    await cluster.kubectl(
      ['apply', '--server-side', '--field-manager=desired-test', '-n', cluster.namespace, '-f', '-'],
      JSON.stringify(example.written),
    );
    return JSON.parse(
      await cluster.kubectl([
        'get',
        'livestream',
        example.written.metadata.name,
        '-n',
        cluster.namespace,
        '-o',
        'json',
      ]),
    ) as LiveStream;
  }

  function children(ls: LiveStream) {
    const c = { ...ctx, redis: { secretName: `${ls.metadata.name}-redis`, key: 'url' } };
    return [
      ...(ls.spec.streamKey ? [] : [buildStreamKeySecret(ls, { streamKey: 'a-test-key-that-is-long-enough' })]),
      buildRedisSecret(ls, {
        redisUrl: channelRedisUrl('redis://redis.lso-system:6379', channelOf(ls), 'channel-password-0123456789'),
      }),
      buildConfigMap(ls, c),
      buildDeployment(ls, c),
      buildService(ls, c),
    ];
  }

  const applyAll = (objects: object[]) =>
    cluster.kubectl(
      ['apply', '--server-side', '--field-manager=livestream-operator', '-o', 'json', '-f', '-'],
      objects.map((o) => stringify(o)).join('---\n'),
    );

  /**
   * One line per child: its resourceVersion, except for the Deployment, whose status the deployment controller keeps
   * writing: there the generation and the time of our field manager's last write stand for it.
   */
  const writeMarks = async (ls: LiveStream) => {
    const list = JSON.parse(
      await cluster.kubectl([
        'get',
        'secret,configmap,deployment,service',
        '-n',
        cluster.namespace,
        '-l',
        `app.kubernetes.io/instance=${ls.metadata.name}`,
        '-o',
        'json',
      ]),
    ) as {
      items: {
        kind: string;
        metadata: {
          name: string;
          resourceVersion: string;
          generation?: number;
          managedFields?: { manager: string; time: string }[];
        };
      }[];
    };
    return list.items
      .map(({ kind, metadata: m }) => {
        const ours = m.managedFields?.find((f) => f.manager === 'livestream-operator')?.time;
        const mark = kind === 'Deployment' ? `generation ${m.generation} applied ${ours}` : m.resourceVersion;
        return `${kind}/${m.name}=${mark}`;
      })
      .sort();
  };

  it.each([
    ['minimal', minimalExample],
    ['full', fullExample],
  ])('accepts every child of the %s example, and a second apply writes nothing', async (_, example) => {
    const ls = await stored(example);
    await applyAll(children(ls));
    const first = await writeMarks(ls);
    expect(first.map((l) => l.split('=')[0])).toEqual(
      [
        ...(ls.spec.streamKey ? [] : [`Secret/${ls.metadata.name}-stream-key`]),
        `Secret/${ls.metadata.name}-redis`,
        `ConfigMap/${ls.metadata.name}-config`,
        `Deployment/${ls.metadata.name}-transcoder`,
        `Service/${ls.metadata.name}`,
      ].sort(),
    );
    // Builders are deterministic, so the reconciler's steady state is free of writes. (Field manager times have a
    // resolution of one second: wait past it so that a write would show.)
    await sleep(1100);
    await applyAll(children(ls));
    expect(await writeMarks(ls)).toEqual(first);

    const deployment = JSON.parse(
      await cluster.kubectl([
        'get',
        'deployment',
        `${ls.metadata.name}-transcoder`,
        '-n',
        cluster.namespace,
        '-o',
        'json',
      ]),
    ) as { metadata: { ownerReferences: { uid: string; controller: boolean }[] } };
    expect(deployment.metadata.ownerReferences).toEqual([
      expect.objectContaining({ uid: ls.metadata.uid, controller: true }),
    ]);
  });

  it('children are garbage-collected with their LiveStream', async () => {
    const ls = await stored({
      ...minimalExample,
      written: { ...minimalExample.written, metadata: { name: 'doomed' } },
    });
    await applyAll(children(ls));
    await cluster.kubectl(['delete', 'livestream', 'doomed', '-n', cluster.namespace, '--wait=true']);
    let left = ['?'];
    for (let i = 0; i < 60 && left.length > 0; i++) {
      left = await writeMarks(ls);
      if (left.length > 0) await sleep(500);
    }
    expect(left).toEqual([]);
  });

  // spec.placement's affinity is kept as written by the CRD; the Deployment is where the API server checks it.
  const placed = (name: string, placement: Record<string, unknown>): Example => ({
    ...minimalExample,
    written: { ...minimalExample.written, metadata: { name }, spec: { placement } },
  });
  const dryRun = (objects: object[]) =>
    cluster.kubectl(
      ['apply', '--server-side', '--dry-run=server', '--field-manager=livestream-operator', '-f', '-'],
      objects.map((o) => stringify(o)).join('---\n'),
    );
  const defaults = { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }] };
  // Without Redis too: the Deployment then has no Redis URL at all.
  const { redis: _redis, ...withoutRedis } = ctx;

  it('a placed Deployment (chart defaults and spec.placement) is accepted as built', async () => {
    const ls = await stored(
      placed('placed', {
        nodeSelector: { 'nvidia.com/gpu.present': 'true' },
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } },
            ],
          },
        },
        imagePullSecrets: [{ name: 'regcred' }],
        imagePullPolicy: 'Always',
      }),
    );
    const deployment = buildDeployment(ls, { ...withoutRedis, placement: defaults as BuildContext['placement'] });
    const out = await dryRun([deployment]);
    expect(out).toContain('placed-transcoder');
  });

  it('a placement the API server refuses on the Deployment is named by its field', async () => {
    const ls = await stored(
      placed('misplaced', {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      }),
    );
    await expect(dryRun([buildDeployment(ls, withoutRedis)])).rejects.toThrow(
      /spec\.template\.spec\.affinity\.nodeAffinity\.requiredDuringSchedulingIgnoredDuringExecution\.nodeSelectorTerms/,
    );
  });
});
