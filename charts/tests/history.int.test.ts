// The chart's history objects against a real kube-apiserver: every object rendered with the chart's own PostgreSQL
// (claim, Grafana data source and dashboard) or with an existing server's Secret passes a server-side dry-run, and the
// PostgreSQL pod is admitted by a namespace enforcing the "restricted" Pod Security Standard.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestCluster } from '../../test/support/test-namespace.ts';
import { renderChart, renderChartText, tool, toolBuildTimeoutMs, type K8sObject } from './chart-tools.ts';

const cluster = useTestCluster('chart-history');
const release = `lso-${randomBytes(3).toString('hex')}`;
// The CRD is left out: it is cluster-wide, and another test of the run may have installed it with helm (its owner).
const crds = { enabled: false };
const own = {
  crds,
  history: { enabled: true, postgres: { enabled: true }, grafana: { datasource: { enabled: true } } },
  monitoring: { dashboards: { enabled: true } },
};
const existing = {
  crds,
  history: {
    enabled: true,
    existingSecret: { name: 'history-app', key: 'uri' },
    tls: { mode: 'verify-full', caSecret: { name: 'history-ca', key: 'ca.crt' } },
  },
};

beforeAll(async () => {
  await tool('helm');
}, toolBuildTimeoutMs);

describe('the history objects on the real API server', () => {
  it('pass a server-side dry-run, with the own PostgreSQL and with an existing server', async () => {
    for (const values of [own, existing]) {
      const opts = { release, namespace: cluster.namespace };
      const text = await renderChartText(values, opts);
      const objs = await renderChart(values, opts);
      const out = await cluster.kubectl(
        ['apply', '--server-side', '--field-manager=chart-dry-run', '--dry-run=server', '-f', '-'],
        text,
      );
      expect(out.split('\n').filter((l) => l.includes('(server dry run)'))).toHaveLength(objs.length);
    }
  });

  it('admits the PostgreSQL pod under the restricted Pod Security Standard', async () => {
    const ns = `${cluster.namespace}-restricted`;
    await cluster.kubectl(['create', 'namespace', ns]);
    try {
      await cluster.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted',
        'pod-security.kubernetes.io/enforce-version=latest']); // prettier-ignore
      const objs = (await renderChart(own, { release, namespace: ns })) as (K8sObject & { spec: any })[];
      const sts = objs.find((o) => o.kind === 'StatefulSet');
      const spec = sts?.spec.template.spec;
      // The claim's volume as the StatefulSet controller adds it (no controller here to make the claim).
      spec.volumes.push({ name: 'data', emptyDir: {} });
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'postgres', namespace: ns }, spec };
      await cluster.kubectl(['create', 'serviceaccount', 'default', '-n', ns]).catch(() => '');
      const out = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
      expect(out).toContain('(server dry run)');
    } finally {
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  });
});
