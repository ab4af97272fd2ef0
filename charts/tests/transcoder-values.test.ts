// The chart's `transcoder` values, as the operator receives them (its environment): the node address of NodePort
// channels' status URLs and the placement defaults of the media pods.
import { beforeAll, describe, expect, it } from 'vitest';
import { renderChart, toolBuildTimeoutMs, type K8sObject } from './chart-tools.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

const operatorEnv = (objs: K8sObject[]): EnvVar[] => {
  const deployment = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('livestream-operator'));
  const spec = (deployment as unknown as { spec: { template: { spec: { containers: { env: EnvVar[] }[] } } } }).spec;
  return spec.template.spec.containers[0]!.env;
};

let defaults: K8sObject[];
beforeAll(async () => {
  defaults = await renderChart();
}, toolBuildTimeoutMs);

describe('transcoder.nodeAddress', () => {
  it("defaults LSO_NODE_ADDRESS to the operator pod's node IP (no Node RBAC needed)", () => {
    expect(operatorEnv(defaults).find((e) => e.name === 'LSO_NODE_ADDRESS')).toEqual({
      name: 'LSO_NODE_ADDRESS',
      valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } },
    });
  });

  it('passes a set address as is, and refuses one with a scheme or a port', async () => {
    for (const address of ['203.0.113.7', 'media.example.com', 'fd00::7']) {
      const env = operatorEnv(await renderChart({ transcoder: { nodeAddress: address } }));
      expect(env.find((e) => e.name === 'LSO_NODE_ADDRESS')).toEqual({ name: 'LSO_NODE_ADDRESS', value: address });
    }
    await expect(renderChart({ transcoder: { nodeAddress: 'http://x' } })).rejects.toThrow(/nodeAddress/);
    await expect(renderChart({ transcoder: { nodeAddress: 'media.example.com:30000' } })).rejects.toThrow(
      /nodeAddress/,
    );
  });
});

describe('transcoder.placement', () => {
  it('passes no LSO_TRANSCODER_PLACEMENT by default (every field empty)', () => {
    expect(operatorEnv(defaults).map((e) => e.name)).not.toContain('LSO_TRANSCODER_PLACEMENT');
  });

  it('passes the non-empty fields as JSON', async () => {
    const placement = {
      nodeSelector: { pool: 'media' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }],
      priorityClassName: 'live-media',
      imagePullSecrets: [{ name: 'regcred' }],
      imagePullPolicy: 'Always',
    };
    const env = operatorEnv(await renderChart({ transcoder: { placement: { ...placement, affinity: {} } } }));
    const value = env.find((e) => e.name === 'LSO_TRANSCODER_PLACEMENT')?.value;
    expect(JSON.parse(value ?? 'null')).toEqual(placement);
  });

  it('refuses a field the placement does not have and a bad pull policy', async () => {
    await expect(renderChart({ transcoder: { placement: { nodeSelectors: {} } } })).rejects.toThrow(/nodeSelectors/);
    await expect(renderChart({ transcoder: { placement: { imagePullPolicy: 'Sometimes' } } })).rejects.toThrow(
      /imagePullPolicy/,
    );
  });
});
