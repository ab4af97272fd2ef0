// The gateway's TLS objects against a real kube-apiserver: with gateway.tls.certManager the Certificate, the gateway
// Deployment that mounts its Secret and the Service with the rtmps/https ports pass a server-side dry-run, the
// Certificate validated by cert-manager's own CRD (the released YAML, hack/tools/cert-manager-crds/crds.sh).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestCluster } from '../../test/support/test-namespace.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { exec, renderChart, repo, toolBuildTimeoutMs, type K8sObject } from './chart-tools.ts';

const cluster = useTestCluster('chart-tls');
const release = `lso-${randomBytes(3).toString('hex')}`;
const certManager = {
  enabled: true,
  issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
  dnsNames: ['ingest.example.com', 'live.example.com'],
};

const dryRun = (objs: object[]) =>
  cluster.kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=chart-dry-run', '--dry-run=server', '-f', '-'],
    objs.map((o) => JSON.stringify(o)).join('\n'),
  );

beforeAll(async () => {
  const crds = await exec(join(repo, 'hack', 'tools', 'cert-manager-crds', 'crds.sh'), []);
  if (crds.code !== 0) throw new Error(crds.stderr);
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', crds.stdout.trim()]);
  // Polled rather than `kubectl wait`, which fails outright on a CRD whose status has no conditions yet.
  const established = ['get', 'crd', 'certificates.cert-manager.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']; // prettier-ignore
  await waitFor('the Certificate CRD to be established', async () => (await cluster.kubectl(established)) === 'True', {
    timeoutMs: 60_000,
  });
}, toolBuildTimeoutMs);

describe('gateway TLS on the real API server', () => {
  it('the Certificate, the Deployment mounting its Secret and the Service pass a server-side dry-run', async () => {
    const objs = await renderChart(
      { gateway: { enabled: true, tls: { certManager } } },
      { release, namespace: cluster.namespace },
    );
    const tlsObjects = objs.filter(
      (o) =>
        o.kind === 'Certificate' ||
        (['Deployment', 'Service'].includes(o.kind) && o.metadata.name.endsWith('-gateway')),
    );
    expect(tlsObjects.map((o) => o.kind).sort()).toEqual(['Certificate', 'Deployment', 'Service']);
    const out = await dryRun(tlsObjects);
    expect(
      out
        .trim()
        .split('\n')
        .filter((l) => l.includes('(server dry run)')),
    ).toHaveLength(3);
    expect(out).toMatch(/certificate\.cert-manager\.io\/\S+ serverside-applied \(server dry run\)/);
  });

  it('the gateway pod with its TLS mount is admitted under the restricted Pod Security Standard', async () => {
    const ns = `${cluster.namespace}-restricted`;
    await cluster.kubectl(['create', 'namespace', ns]);
    try {
      await cluster.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
      // Admission looks up the pod's ServiceAccount, which the controller-manager makes shortly after the namespace.
      await waitFor(
        `serviceaccount default in ${ns}`,
        () => cluster.kubectl(['get', 'serviceaccount', 'default', '-n', ns]),
        {
          timeoutMs: 60_000,
        },
      );
      const objs = await renderChart({ gateway: { enabled: true, tls: { certManager } } }, { release, namespace: ns });
      const deployment = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-gateway')) as
        (K8sObject & { spec: { template: { spec: { volumes: { name: string }[] } } } }) | undefined;
      const spec = deployment?.spec.template.spec;
      expect(spec?.volumes.map((v) => v.name)).toContain('tls');
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gateway-tls', namespace: ns }, spec };
      expect(await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod))).toContain(
        '(server dry run)',
      );
    } finally {
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  });

  it("cert-manager's CRD does check the Certificate: a field it does not allow is refused", async () => {
    const objs = await renderChart(
      { gateway: { enabled: true, tls: { certManager } } },
      { release, namespace: cluster.namespace },
    );
    const cert = objs.find((o) => o.kind === 'Certificate') as K8sObject & { spec: { privateKey: object } };
    const bad = { ...cert, spec: { ...cert.spec, privateKey: { ...cert.spec.privateKey, algorithm: 'DSA' } } };
    await expect(dryRun([bad])).rejects.toThrow(/spec\.privateKey\.algorithm.*Unsupported value: "DSA"/s);
  });
});
