import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LiveStream, PlacementSpec } from '../../../../contract/src/api/index.ts';
import { validateSpec } from '../../../../contract/src/api/validate.ts';
import { fullExample, minimalExample, storedLiveStream } from '../../../../test/support/livestream-examples.ts';
import type { BuildContext } from './context.ts';
import { buildDeployment } from './deployment.ts';
import { buildFinalizeJob } from './finalize-job.ts';
import { effectivePlacement } from './placement.ts';

// The chart-wide defaults, as the operator gets them (checked by the CRD's schema, as config.ts does).
const defaults: PlacementSpec = validateSpec({
  placement: {
    nodeSelector: { 'livestream.dev/pool': 'media' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }],
    priorityClassName: 'live-media',
    imagePullSecrets: [{ name: 'regcred' }],
    imagePullPolicy: 'IfNotPresent',
  },
}).placement!;
const ctx: BuildContext = {
  image: 'livestream-operator/transcoder:0.1.0',
  redis: { secretName: 'livestream-redis', key: 'url' },
  placement: defaults,
};

const withPlacement = (placement: unknown, example = minimalExample): LiveStream => {
  const ls = storedLiveStream(example);
  ls.spec = { ...ls.spec, placement: validateSpec({ placement }).placement! };
  return ls;
};
const gpu = {
  nodeSelector: { 'nvidia.com/gpu.present': 'true' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: 'kubernetes.io/hostname',
            labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'transcoder' } },
          },
        },
      ],
    },
  },
  imagePullPolicy: 'Always',
};

describe('placement of the media pods', () => {
  it('golden: chart defaults with a LiveStream overriding some fields (the Deployment)', async () => {
    const yaml = stringify(buildDeployment(withPlacement(gpu), ctx), {
      lineWidth: 0,
      aliasDuplicateObjects: false,
      singleQuote: true,
    });
    await expect(yaml).toMatchFileSnapshot('./__golden__/placed-deployment.yaml');
  });

  it('takes the chart defaults when the LiveStream sets none, on both containers and the pod', () => {
    const spec = buildDeployment(storedLiveStream(minimalExample), ctx).spec!.template.spec!;
    expect(spec.nodeSelector).toEqual({ 'livestream.dev/pool': 'media' });
    expect(spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }]);
    expect(spec.priorityClassName).toBe('live-media');
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec.affinity).toBeUndefined();
    expect(spec.containers.map((c) => [c.name, c.imagePullPolicy])).toEqual([
      ['transcoder', 'IfNotPresent'],
      ['relay', 'IfNotPresent'],
    ]);
  });

  it('replaces a default field whole with the LiveStream’s, and an empty list or map clears it', () => {
    const placed = effectivePlacement(withPlacement({ ...gpu, imagePullSecrets: [] }), defaults);
    expect(placed.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' }); // not merged with the pool label
    expect(placed.tolerations).toEqual(gpu.tolerations);
    expect(placed.priorityClassName).toBe('live-media'); // not set by the LiveStream: the default
    expect(placed.imagePullPolicy).toBe('Always');
    const spec = buildDeployment(withPlacement({ imagePullSecrets: [], nodeSelector: {} }), ctx).spec!.template.spec!;
    expect(spec.imagePullSecrets).toBeUndefined();
    expect(spec.nodeSelector).toBeUndefined();
    expect(spec.tolerations).toHaveLength(1);
  });

  it('sets nothing without defaults or spec.placement (the cluster defaults apply)', () => {
    const { placement: _p, ...bare } = ctx;
    const spec = buildDeployment(storedLiveStream(minimalExample), bare).spec!.template.spec!;
    for (const field of ['nodeSelector', 'tolerations', 'affinity', 'priorityClassName', 'imagePullSecrets']) {
      expect(spec).not.toHaveProperty(field);
    }
    expect(spec.containers.every((c) => c.imagePullPolicy === undefined)).toBe(true);
  });

  it('rolls the pod on a placement change: the template differs', () => {
    const before = buildDeployment(storedLiveStream(minimalExample), ctx).spec!.template;
    const after = buildDeployment(withPlacement({ priorityClassName: 'premium' }), ctx).spec!.template;
    expect(after.spec!.priorityClassName).toBe('premium');
    expect(after).not.toEqual(before);
  });

  it('places the finalize Job of a recording like the transcoder (same image, same registry, same nodes)', () => {
    const job = buildFinalizeJob(withPlacement(gpu, fullExample), 'session-1', ctx).spec!.template.spec!;
    expect(job.nodeSelector).toEqual(gpu.nodeSelector);
    expect(job.tolerations).toEqual(gpu.tolerations);
    expect(job.affinity).toEqual(gpu.affinity);
    expect(job.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(job.containers[0]!.imagePullPolicy).toBe('Always');
  });
});
