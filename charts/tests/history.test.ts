// The chart's session-history settings rendered by the pinned helm: nothing of it by default; the chart's own
// PostgreSQL (StatefulSet, Service, Secret, NetworkPolicy) and the operator's URL file, spool, stats port and the stats
// API's review permissions; an existing server's Secret (CloudNativePG's `uri`) with TLS; Grafana's data source and
// dashboard; and the contradictory settings failing with a message that names the values.
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { statsPortName } from '../../contract/src/stats-api.ts';
import { historyEnv } from '../../operator/src/history/history-config.ts';
import { chartDir, exec, renderChart, tool, toolBuildTimeoutMs, type K8sObject } from './chart-tools.ts';

type Obj = K8sObject & { spec?: any; rules?: any[]; stringData?: Record<string, string> };
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

const ofKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind) as Obj[];
const named = (objs: K8sObject[], kind: string, name: string): Obj => {
  const o = ofKind(objs, kind).find((x) => x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
const operatorPod = (objs: K8sObject[]) => named(objs, 'Deployment', 'lso-livestream-operator').spec.template.spec;
const operatorContainer = (objs: K8sObject[]) => operatorPod(objs).containers[0];
const env = (objs: K8sObject[]): Map<string, EnvVar> =>
  new Map((operatorContainer(objs).env as EnvVar[]).map((e) => [e.name, e]));
/** The Secret name and key behind the file a path in the operator container points at. */
function mountedSecretFile(objs: K8sObject[], file: string): { secret: string; key: string } {
  const mount = (operatorContainer(objs).volumeMounts as { name: string; mountPath: string }[]).find((m) =>
    file.startsWith(`${m.mountPath}/`),
  );
  if (!mount) throw new Error(`${file} is on no mount`);
  const volume = (operatorPod(objs).volumes as { name: string; secret?: any }[]).find((v) => v.name === mount.name);
  const item = (volume?.secret?.items as { key: string; path: string }[]).find(
    (i) => `${mount.mountPath}/${i.path}` === file,
  );
  if (!volume?.secret || !item) throw new Error(`${file} is no Secret item`);
  return { secret: volume.secret.secretName, key: item.key };
}

const pgName = 'lso-livestream-operator-postgres';
const own = { history: { enabled: true, postgres: { enabled: true } } };
const cnpg = {
  history: {
    enabled: true,
    existingSecret: { name: 'history-app', key: 'uri' },
    tls: { mode: 'verify-full', caSecret: { name: 'history-ca', key: 'ca.crt' } },
  },
};

let defaults: K8sObject[];
let withOwn: K8sObject[];

beforeAll(async () => {
  await tool('helm');
  [defaults, withOwn] = await Promise.all([renderChart(), renderChart(own)]);
}, toolBuildTimeoutMs);

describe('history disabled (the default)', () => {
  it('renders no database, no history env, no stats port and no review permissions', () => {
    expect(defaults.filter((o) => o.metadata.name.includes('postgres'))).toEqual([]);
    expect(ofKind(defaults, 'StatefulSet')).toEqual([]);
    expect([...env(defaults).keys()].filter((n) => n.startsWith('LSO_HISTORY') || n === 'LSO_STATS_PORT')).toEqual([]);
    expect(operatorContainer(defaults).ports.map((p: { name: string }) => p.name)).not.toContain(statsPortName);
    expect(JSON.stringify(ofKind(defaults, 'ClusterRole'))).not.toMatch(/tokenreviews|subjectaccessreviews/);
  });
});

describe("history with the chart's own PostgreSQL", () => {
  it('renders a one-replica StatefulSet on a claim, its Service, Secret and NetworkPolicy, restricted like Redis', () => {
    const sts = named(withOwn, 'StatefulSet', pgName);
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('8Gi');
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(named(withOwn, 'Service', pgName).spec.ports).toEqual([
      { name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' },
    ]);
    named(withOwn, 'NetworkPolicy', pgName);
    // The password reaches the server as a file only.
    const pgEnv = pod.containers[0].env as EnvVar[];
    expect(pgEnv).toContainEqual({ name: 'POSTGRES_PASSWORD_FILE', value: '/etc/postgres/password' });
    const secret = named(withOwn, 'Secret', pgName);
    const password = secret.stringData?.password ?? '';
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(JSON.stringify(sts)).not.toContain(password);
    expect(secret.stringData?.url).toBe(`postgres://livestream:${password}@${pgName}.lso-system.svc:5432/livestream`);
  });

  it('takes an emptyDir instead of the claim without persistence', async () => {
    const objs = await renderChart({
      history: { ...own.history, postgres: { enabled: true, persistence: { enabled: false } } },
    });
    const sts = named(objs, 'StatefulSet', pgName);
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect(sts.spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: { sizeLimit: '8Gi' } });
  });

  it('gives the operator the URL as a mounted Secret file (never in env or args), the spool, retention and stats port', () => {
    const vars = env(withOwn);
    const file = vars.get(historyEnv.databaseUrlFile)?.value ?? '';
    expect(mountedSecretFile(withOwn, file)).toEqual({ secret: pgName, key: 'url' });
    expect(vars.has(historyEnv.databaseUrl)).toBe(false);
    expect(JSON.stringify(operatorContainer(withOwn))).not.toContain('postgres://');
    const spool = vars.get(historyEnv.spoolDir)?.value;
    const spoolMount = operatorContainer(withOwn).volumeMounts.find(
      (m: { mountPath: string }) => m.mountPath === spool,
    );
    expect(operatorPod(withOwn).volumes.find((v: { name: string }) => v.name === spoolMount?.name)?.emptyDir).toEqual({
      sizeLimit: 134217728,
    });
    expect(vars.get(historyEnv.spoolMaxBytes)?.value).toBe('67108864');
    expect(vars.get(historyEnv.retentionDays)?.value).toBe('400');
    expect(vars.get('LSO_STATS_PORT')?.value).toBe('8081');
    expect(operatorContainer(withOwn).ports).toContainEqual({
      name: statsPortName,
      containerPort: 8081,
      protocol: 'TCP',
    });
    const service = named(withOwn, 'Service', 'lso-livestream-operator-metrics');
    expect(service.spec.ports).toContainEqual({
      name: statsPortName,
      port: 8081,
      targetPort: statsPortName,
      protocol: 'TCP',
    });
  });

  it('lets the operator create TokenReviews and SubjectAccessReviews, cluster-wide even with watchNamespace', async () => {
    const watched = await renderChart({ ...own, operator: { watchNamespace: 'tenant' } });
    for (const objs of [withOwn, watched]) {
      const role = named(objs, 'ClusterRole', 'lso-livestream-operator-stats-auth');
      expect(role.rules).toEqual([
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ]);
      const binding = named(objs, 'ClusterRoleBinding', 'lso-livestream-operator-stats-auth');
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'lso-livestream-operator', namespace: 'lso-system' },
      ]);
    }
  });

  it('renders a Grafana data source Secret as the read-only role, and the history dashboard', async () => {
    const objs = await renderChart({
      history: { ...own.history, grafana: { datasource: { enabled: true, namespace: 'grafana' } } },
      monitoring: { dashboards: { enabled: true } },
    });
    const ds = named(objs, 'Secret', 'lso-livestream-operator-history-datasource');
    expect(ds.metadata).toMatchObject({ namespace: 'grafana', labels: { grafana_datasource: '1' } });
    const file = parse(ds.stringData?.['livestream-history-datasource.yaml'] ?? '') as { datasources: any[] };
    const roPassword = named(objs, 'Secret', pgName).stringData?.['grafana-password'];
    expect(file.datasources[0]).toMatchObject({
      type: 'grafana-postgresql-datasource',
      url: `${pgName}.lso-system.svc:5432`,
      user: 'grafana',
      jsonData: { database: 'livestream' },
      secureJsonData: { password: roPassword },
    });
    const pgEnv = named(objs, 'StatefulSet', pgName).spec.template.spec.containers[0].env as EnvVar[];
    expect(pgEnv).toContainEqual({ name: 'LSO_POSTGRES_READONLY_USER', value: 'grafana' });
    const dashboards = ofKind(objs, 'ConfigMap').map((c) => c.metadata.name);
    expect(dashboards).toContain('lso-livestream-operator-dashboard-livestream-history');
    const withoutHistory = await renderChart({ monitoring: { dashboards: { enabled: true } } });
    expect(ofKind(withoutHistory, 'ConfigMap').map((c) => c.metadata.name)).not.toContain(
      'lso-livestream-operator-dashboard-livestream-history',
    );
  });

  it('passes helm lint --strict', async () => {
    const helm = await tool('helm');
    const set = 'history.enabled=true,history.postgres.enabled=true,history.grafana.datasource.enabled=true';
    const r = await exec(helm, ['lint', '--strict', chartDir, '--set', `${set},monitoring.dashboards.enabled=true`]);
    expect(r.stdout + r.stderr).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('history on an existing server', () => {
  it("mounts the user's Secret key (CloudNativePG's uri) with TLS and its CA, and runs no PostgreSQL", async () => {
    const objs = await renderChart(cnpg);
    expect(ofKind(objs, 'StatefulSet')).toEqual([]);
    expect(objs.filter((o) => o.metadata.name === pgName)).toEqual([]);
    const vars = env(objs);
    expect(mountedSecretFile(objs, vars.get(historyEnv.databaseUrlFile)?.value ?? '')).toEqual({
      secret: 'history-app',
      key: 'uri',
    });
    expect(vars.get('PGSSLMODE')?.value).toBe('verify-full');
    expect(mountedSecretFile(objs, vars.get('NODE_EXTRA_CA_CERTS')?.value ?? '')).toEqual({
      secret: 'history-ca',
      key: 'ca.crt',
    });
  });
});

describe('contradictory history settings', () => {
  it('fail with a message naming the values', async () => {
    const cases: [object, RegExp][] = [
      [
        { history: { enabled: true, postgres: { enabled: true }, existingSecret: { name: 'x', key: 'uri' } } },
        /history.postgres.enabled .* or history.existingSecret.name .*, not both/,
      ],
      [{ history: { enabled: true } }, /history.enabled needs a database: set history.postgres.enabled=true/],
      [{ history: { ...own.history, tls: { mode: 'require' } } }, /history.tls applies to history.existingSecret only/],
      [
        { history: { ...cnpg.history, tls: { mode: '' }, grafana: { datasource: { enabled: true } } } },
        /history.grafana.datasource.enabled needs history.postgres.enabled/,
      ],
    ];
    for (const [values, message] of cases) await expect(renderChart(values)).rejects.toThrow(message);
    await expect(renderChart({ history: { enabled: true, tls: { mode: 'prefer' } } })).rejects.toThrow(/mode/);
  });
});
