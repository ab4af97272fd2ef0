// spec.placement against a real API server: each rule refuses what it should with a message naming the field, and
// what passes is stored as written (the affinity terms too, which the API server checks again on the Deployment).
import { beforeAll, describe, expect, it } from 'vitest';
import type { LiveStream } from '../contract/src/api/index.ts';
import { applyLiveStreamCrd } from '../test/support/livestream-crd.ts';
import { useTestCluster } from '../test/support/test-namespace.ts';

const apiVersion = 'streaming.livestream-operator.dev/v1alpha1';
const toleration = (t: Record<string, unknown>) => ({ tolerations: [t] });

const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'a value with operator Exists',
    toleration({ key: 'gpu', operator: 'Exists', value: 'yes' }),
    /spec\.placement\.tolerations\[0\]\.value: .*operator Exists must not have a value/,
  ],
  [
    'no key without operator Exists',
    toleration({ operator: 'Equal', value: 'media' }),
    /spec\.placement\.tolerations\[0\]\.operator: .*without a key must have operator Exists/,
  ],
  [
    'tolerationSeconds without NoExecute',
    toleration({ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }),
    /spec\.placement\.tolerations\[0\]\.tolerationSeconds: .*NoExecute effect only/,
  ],
  [
    'an unknown taint effect',
    toleration({ key: 'k', operator: 'Exists', effect: 'NoRun' }),
    /spec\.placement\.tolerations\[0\]\.effect: Unsupported value: "NoRun"/,
  ],
  [
    'an unknown pull policy',
    { imagePullPolicy: 'Sometimes' },
    /spec\.placement\.imagePullPolicy: Unsupported value: "Sometimes"/,
  ],
  [
    'a PriorityClass name that is not a DNS subdomain',
    { priorityClassName: 'Live_Media' },
    /spec\.placement\.priorityClassName: Invalid value: "Live_Media"/,
  ],
  [
    'a node selector value that is not a label value',
    { nodeSelector: { pool: 'media pool' } },
    /spec\.placement\.nodeSelector\.pool: Invalid value: "media pool"/,
  ],
  [
    'the same pull Secret twice',
    { imagePullSecrets: [{ name: 'regcred' }, { name: 'regcred' }] },
    /spec\.placement\.imagePullSecrets: duplicate entries for key \[name="regcred"\]/,
  ],
  ['a misspelt affinity kind', { affinity: { nodeAfinity: {} } }, /spec\.placement\.affinity\.nodeAfinity/],
];

describe('LiveStream spec.placement', () => {
  const cluster = useTestCluster('placement');
  const apply = (name: string, placement: Record<string, unknown>) =>
    cluster.kubectl(
      ['apply', '--server-side', '--field-manager=placement-test', '-n', cluster.namespace, '-f', '-'],
      JSON.stringify({ apiVersion, kind: 'LiveStream', metadata: { name }, spec: { placement } }),
    );

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
  });

  it.each(invalid)('rejects %s, naming the field', async (_, placement, expected) => {
    await expect(apply('invalid', placement)).rejects.toThrow(expected);
  });

  it('stores a GPU-pool placement as written, affinity terms included', async () => {
    const placement = {
      nodeSelector: { 'nvidia.com/gpu.present': 'true' },
      tolerations: [
        { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
        { operator: 'Exists' },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['media'] }] }],
          },
        },
      },
      priorityClassName: 'live-media',
      imagePullSecrets: [{ name: 'regcred' }],
      imagePullPolicy: 'Always',
    };
    await apply('gpu', placement);
    const stored = JSON.parse(
      await cluster.kubectl(['get', 'livestream', 'gpu', '-n', cluster.namespace, '-o', 'json']),
    ) as LiveStream;
    expect(stored.spec.placement).toEqual(placement);
  });
});
