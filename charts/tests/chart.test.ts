// The chart rendered by the pinned helm: lint, the strict values schema, the CRD equal to crds/, the RBAC, the pods'
// security settings and every switch. (The kube tier checks the same output against a real API server.)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartCopy, chartCopyPath, sourcePath } from '../../scripts/sync-chart-crd.ts';
import {
  allMonitoring,
  chartDir,
  everySwitch,
  exec,
  renderChart,
  tool,
  toolBuildTimeoutMs,
  type K8sObject,
} from './chart-tools.ts';
import { parseRoutingSecret, routeTableFileName, routingSecretFileName } from '../../contract/src/route-table.ts';
import { gatewayDefaults, gatewayEnv } from '../../gateway/src/config/settings.ts';

type Obj = K8sObject & {
  spec?: any;
  rules?: any[];
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const find = (objs: K8sObject[], kind: string, nameSuffix = '') =>
  objs.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix)) as Obj[];
const one = (objs: K8sObject[], kind: string, nameSuffix = ''): Obj => {
  const found = find(objs, kind, nameSuffix);
  if (found.length !== 1) throw new Error(`expected one ${kind} *${nameSuffix}, found ${found.length}`);
  return found[0] as Obj;
};

let defaults: K8sObject[];
let helm: string;

beforeAll(async () => {
  helm = await tool('helm');
  defaults = await renderChart();
}, toolBuildTimeoutMs);

describe('helm lint and values', () => {
  it('passes helm lint --strict with defaults and with every switch on', async () => {
    const all = 'monitoring.prometheusRule.enabled=true,monitoring.dashboards.enabled=true,gateway.enabled=true';
    for (const args of [[], ['--set', all], ['--set', `${all},gateway.autoscaling.enabled=true`]]) {
      const r = await exec(helm, ['lint', '--strict', chartDir, ...args]);
      expect(r.stdout + r.stderr).toContain('0 chart(s) failed');
      expect(r.code).toBe(0);
    }
  });

  it('rejects unknown and invalid values through values.schema.json', async () => {
    await expect(renderChart({ operator: { replica: 2 } })).rejects.toThrow(/additional properties 'replica'/);
    await expect(renderChart({ operator: { image: { tag: 'latest' } } })).rejects.toThrow(/tag/);
    await expect(renderChart({ operator: { concurrency: 0 } })).rejects.toThrow(/concurrency/);
    await expect(renderChart({ redis: { external: { key: 'url', secretName: 'Bad_Name' } } })).rejects.toThrow(
      /secretName/,
    );
    await expect(renderChart({ unknownTopLevel: true })).rejects.toThrow(/unknownTopLevel/);
  });

  it('has a comment above every key in values.yaml', async () => {
    const lines = (await readFile(join(chartDir, 'values.yaml'), 'utf8')).split('\n');
    const uncommented: string[] = [];
    // Keys inside resources and labels maps are data (cpu, memory, label names), not chart values.
    const stack: { indent: number; key: string }[] = [];
    lines.forEach((line, i) => {
      const m = /^(\s*)([a-zA-Z_][a-zA-Z0-9_./-]*):/.exec(line);
      if (!m) return;
      const indent = m[1]?.length ?? 0;
      while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
      const inData = stack.some((s) => ['resources', 'labels'].includes(s.key));
      stack.push({ indent, key: m[2] ?? '' });
      if (!inData && !(lines[i - 1] ?? '').trim().startsWith('#')) uncommented.push(`${i + 1}: ${line.trim()}`);
    });
    expect(uncommented).toEqual([]);
  });

  it('uses lowerCamelCase keys only', async () => {
    const values = parse(await readFile(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const bad: string[] = [];
    const walk = (v: unknown, path: string, free: boolean) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return;
      for (const [k, child] of Object.entries(v)) {
        // Maps whose keys are data (labels, resource names) are exempt.
        if (!free && !/^[a-z][a-zA-Z0-9]*$/.test(k)) bad.push(`${path}${k}`);
        walk(child, `${path}${k}.`, free || ['labels', 'requests', 'limits'].includes(k));
      }
    };
    walk(values, '', false);
    expect(bad).toEqual([]);
  });
});

describe('the CRD', () => {
  it('the chart copy is in sync with crds/livestream.yaml (drift check)', async () => {
    const [source, copy] = await Promise.all([readFile(sourcePath, 'utf8'), readFile(chartCopyPath, 'utf8')]);
    expect(copy).toBe(chartCopy(source));
    const r = await exec(process.execPath, [
      join(import.meta.dirname, '..', '..', 'scripts', 'sync-chart-crd.ts'),
      '--check',
    ]);
    expect(r.code).toBe(0);
  });

  it('renders the same CRD as crds/, with the keep policy when crds.keep', async () => {
    const source = parse(await readFile(sourcePath, 'utf8')) as Obj;
    const crd = one(defaults, 'CustomResourceDefinition');
    expect(crd.spec).toEqual(source.spec);
    expect(crd.metadata.name).toBe(source.metadata.name);
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    expect(crd.metadata.labels).toMatchObject({ ...source.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' });

    const notKept = one(await renderChart({ crds: { keep: false } }), 'CustomResourceDefinition');
    expect(notKept.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
    expect(find(await renderChart({ crds: { enabled: false } }), 'CustomResourceDefinition')).toEqual([]);
  });
});

describe('the operator', () => {
  it('runs 2 replicas with a PDB, probes, resources and the env the operator reads', () => {
    const d = one(defaults, 'Deployment', '-livestream-operator');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe('livestream-operator:0.1.0');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env.LSO_TRANSCODER_IMAGE).toBe('livestream-transcoder:0.1.0');
    expect(env.LSO_REDIS_URL).toEqual({ secretKeyRef: { name: 'lso-livestream-operator-redis', key: 'url' } });
    expect(env.LSO_LEASE_NAME).toBe('lso-livestream-operator');
    expect(env.POD_NAMESPACE).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(env.LSO_METRICS_PORT).toBe('8080');
    const pdb = one(defaults, 'PodDisruptionBudget', '-livestream-operator');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
  });

  it('pins images by digest when one is given', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const objs = await renderChart({ operator: { image: { digest } }, transcoder: { image: { digest } } });
    const c = one(objs, 'Deployment', '-livestream-operator').spec.template.spec.containers[0];
    expect(c.image).toBe(`livestream-operator@${digest}`);
    expect(c.env.find((e: any) => e.name === 'LSO_TRANSCODER_IMAGE').value).toBe(`livestream-transcoder@${digest}`);
  });

  it('renders every pod non-root with a read-only root filesystem and no capabilities', async () => {
    const pods = (await renderChart()).flatMap((o: Obj) =>
      o.kind === 'Deployment' ? [o.spec.template.spec] : o.kind === 'Pod' ? [o.spec] : [],
    );
    expect(pods).toHaveLength(4); // operator, gateway, redis, helm test
    for (const pod of pods) {
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
  });
});

describe('RBAC', () => {
  it('grants exactly the verbs the operator uses, cluster-wide, and the Lease in its own namespace', () => {
    expect(rulesOf(one(defaults, 'ClusterRole'))).toEqual([
      'streaming.livestream-operator.dev/livestreams: list,watch',
      'streaming.livestream-operator.dev/livestreams/status: patch',
      'streaming.livestream-operator.dev/livestreams/finalizers: update',
      'core/secrets: get,list,watch,create,patch',
      'core/configmaps: list,watch,create,patch',
      'core/services: list,watch,create,patch',
      'core/pods: list,watch,patch',
      'apps/deployments: list,watch,create,patch',
      'monitoring.coreos.com/podmonitors: list,watch,create,patch',
      'batch/jobs: get,list,watch,create,delete',
      'core/events: create',
    ]);
    const lease = one(defaults, 'Role', '-leader-election');
    expect(lease.metadata.namespace).toBe('lso-system');
    expect(rulesOf(lease)).toEqual([
      'coordination.k8s.io/leases: create',
      'coordination.k8s.io/leases[lso-livestream-operator]: get,update',
    ]);
    const verbs = defaults.flatMap((o: Obj) => (o.rules ?? []).flatMap((r: any) => r.verbs as string[]));
    expect(verbs).not.toContain('*');
    expect(verbs).not.toContain('escalate');
    expect(verbs).not.toContain('bind');
  });

  it('becomes a Role in the watched namespace with operator.watchNamespace', async () => {
    const objs = await renderChart({ operator: { watchNamespace: 'streams' } });
    expect(find(objs, 'ClusterRole')).toEqual([]);
    expect(find(objs, 'ClusterRoleBinding')).toEqual([]);
    const role = one(objs, 'Role', '-livestream-operator');
    expect(role.metadata.namespace).toBe('streams');
    const binding = one(objs, 'RoleBinding', '-livestream-operator');
    expect(binding.metadata.namespace).toBe('streams');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'lso-livestream-operator', namespace: 'lso-system' },
    ]);
  });
});

describe('Redis', () => {
  it('runs redis-server with the password in a config file, never in its arguments', () => {
    const secret = one(defaults, 'Secret', '-redis');
    const password = secret.stringData?.password ?? '';
    expect(password).toMatch(/^[a-zA-Z0-9]{32}$/);
    expect(secret.stringData?.url).toBe(`redis://:${password}@lso-livestream-operator-redis.lso-system.svc:6379`);
    expect(secret.stringData?.['redis.conf']).toContain(`requirepass ${password}`);
    const d = one(defaults, 'Deployment', '-redis');
    const c = d.spec.template.spec.containers[0];
    expect(c.command).toEqual(['redis-server', '/etc/redis/redis.conf']);
    expect(JSON.stringify(d)).not.toContain(password);
    expect(d.spec.template.spec.volumes.find((v: any) => v.name === 'data').emptyDir).toBeDefined();
  });

  it('uses an existing Secret instead with redis.external', async () => {
    const objs = await renderChart({ redis: { enabled: false, external: { secretName: 'my-redis', key: 'uri' } } });
    expect(find(objs, 'Deployment', '-redis')).toEqual([]);
    expect(find(objs, 'Secret')).toEqual([]);
    const env = one(objs, 'Deployment', '-livestream-operator').spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === 'LSO_REDIS_URL').valueFrom).toEqual({
      secretKeyRef: { name: 'my-redis', key: 'uri' },
    });
  });
});

describe('monitoring switches', () => {
  it('renders nothing of monitoring by default', () => {
    for (const kind of ['PodMonitor', 'ServiceMonitor', 'PrometheusRule']) expect(find(defaults, kind)).toEqual([]);
    expect(defaults.filter((o) => o.metadata.labels?.grafana_dashboard)).toEqual([]);
  });

  it('renders monitors, rules with runbook links and labelled dashboards when enabled', async () => {
    const objs = await renderChart(allMonitoring);
    expect(one(objs, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({ port: 'http-metrics', honorLabels: true });
    expect(one(objs, 'PodMonitor', '-transcoders').spec.namespaceSelector).toEqual({ any: true });
    const rule = one(objs, 'PrometheusRule');
    const urls = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.annotations.runbook_url));
    expect(urls.length).toBeGreaterThanOrEqual(6);
    for (const u of urls) expect(u).toMatch(/^https:\/\/.+\/docs\/runbooks\/LiveStream[A-Za-z]+\.md$/);
    const dashboards = objs.filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1',
    ) as Obj[];
    expect(dashboards.map((d) => Object.keys(d.data ?? {})[0]).sort()).toEqual([
      'livestream-fleet.json',
      'livestream-stream.json',
    ]);
    for (const d of dashboards) expect(() => JSON.parse(Object.values(d.data ?? {})[0] ?? '')).not.toThrow();
  });

  it('refuses a PodMonitor and a ServiceMonitor for the operator at once', async () => {
    await expect(
      renderChart({ monitoring: { operator: { podMonitor: { enabled: true }, serviceMonitor: { enabled: true } } } }),
    ).rejects.toThrow(/not both/);
  });
});

describe('the gateway', () => {
  let on: K8sObject[];
  beforeAll(async () => {
    on = await renderChart({ gateway: { enabled: true } });
  });
  const operatorEnv = (objs: K8sObject[]) =>
    Object.fromEntries(
      one(objs, 'Deployment', '-livestream-operator').spec.template.spec.containers[0].env.map((e: any) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );
  const gatewayObjects = (objs: K8sObject[]) =>
    objs.filter(
      (o) => o.metadata.name.includes('gateway') || o.metadata.labels?.['app.kubernetes.io/component'] === 'gateway',
    );

  it('is on by default, and with gateway.enabled=false renders nothing of it and the operator publishes no table', async () => {
    expect(gatewayObjects(defaults).map((o) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'Service']));
    const off = await renderChart({ gateway: { enabled: false } });
    expect(gatewayObjects(off)).toEqual([]);
    expect(Object.keys(operatorEnv(off)).filter((k) => k.startsWith('LSO_GATEWAY'))).toEqual([]);
  });

  it('gives the operator the gateway Service for status, and the public URLs only when they are set', async () => {
    const env = operatorEnv(on);
    expect(env.LSO_GATEWAY_SERVICE).toBe('lso-livestream-operator-gateway');
    expect(one(on, 'Service', '-gateway').metadata.name).toBe(env.LSO_GATEWAY_SERVICE);
    expect(env.LSO_GATEWAY_INGEST_URL).toBeUndefined();
    expect(env.LSO_GATEWAY_PLAYBACK_URL).toBeUndefined();
    const urls = { ingest: 'rtmps://ingest.example.com:443', playback: 'https://cdn.example.com/live' };
    const set = operatorEnv(await renderChart({ gateway: { enabled: true, urls } }));
    expect([set.LSO_GATEWAY_INGEST_URL, set.LSO_GATEWAY_PLAYBACK_URL]).toEqual([urls.ingest, urls.playback]);
    // A URL the operator would refuse (config.ts) is refused by the schema at install already.
    for (const bad of [
      { ingest: 'https://x.example' },
      { ingest: 'rtmp://x.example/live' },
      { playback: 'https://u@x' },
    ]) {
      await expect(renderChart({ gateway: { enabled: true, urls: { ...urls, ...bad } } })).rejects.toThrow(/urls/);
    }
  });

  it('runs 2 replicas with a PDB, probes, resource requests, no API token, both Secrets mounted where it reads them', () => {
    const d = one(on, 'Deployment', '-gateway');
    expect(d.spec.replicas).toBe(2);
    const pod = d.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = pod.containers[0];
    expect(c.image).toBe('livestream-gateway:0.1.0');
    expect(c.command).toEqual(['node', 'gateway/src/main.ts']);
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.resources.requests).toEqual({ cpu: '200m', memory: '256Mi' });
    expect(c.resources.limits.memory).toBeDefined();
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    const port = (name: string) => c.ports.find((p: any) => p.name === name).containerPort;
    expect(Number(env[gatewayEnv.rtmpPort])).toBe(port('rtmp'));
    expect(Number(env[gatewayEnv.httpPort])).toBe(port('http'));
    // Where the gateway reads, what the volumes hold (the operator writes these data keys).
    const mountOf = (volume: string) => c.volumeMounts.find((m: any) => m.name === volume).mountPath;
    const volume = (name: string) => pod.volumes.find((v: any) => v.name === name).secret;
    expect(env[gatewayEnv.routeTable]).toBe(gatewayDefaults.routeTable);
    expect(env[gatewayEnv.routingSecretFile]).toBe(gatewayDefaults.routingSecretFile);
    expect(`${mountOf('routes')}/${routeTableFileName}`).toBe(gatewayDefaults.routeTable);
    expect(`${mountOf('routing-secret')}/${routingSecretFileName}`).toBe(gatewayDefaults.routingSecretFile);
    expect(volume('routes')).toEqual({
      secretName: 'lso-livestream-operator-gateway-routes',
      optional: true,
      items: [{ key: routeTableFileName, path: routeTableFileName }],
    });
    expect(volume('routing-secret')).toEqual({
      secretName: 'lso-livestream-operator-gateway-routing',
      optional: true,
      items: [{ key: routingSecretFileName, path: routingSecretFileName }],
    });
    const pdb = one(on, 'PodDisruptionBudget', '-gateway');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: d.spec.selector });
    expect(find(on, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it('runs under the restricted Pod Security Standard', () => {
    const pod = one(on, 'Deployment', '-gateway').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.volumes.map((v: any) => Object.keys(v).filter((k) => k !== 'name')[0])).toEqual([
      'emptyDir',
      'secret',
      'secret',
      'secret',
      'secret',
    ]);
  });

  it('mounts the admin token the operator makes, and tells the operator its Secret', () => {
    const pod = one(on, 'Deployment', '-gateway').spec.template.spec;
    const c = pod.containers[0];
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    const volume = pod.volumes.find((v: any) => v.name === 'admin-token');
    expect(volume.secret).toEqual({
      secretName: 'lso-livestream-operator-gateway-admin',
      optional: true,
      items: [{ key: 'token', path: 'token' }],
    });
    const mount = c.volumeMounts.find((m: any) => m.name === 'admin-token');
    expect(`${mount.mountPath}/token`).toBe(env[gatewayEnv.adminTokenFile]);
    expect(env[gatewayEnv.trustForwarded]).toBe('0');
    expect(operatorEnv(on).LSO_GATEWAY_ADMIN_SECRET).toBe(volume.secret.secretName);
  });

  it('has one Service: RTMP 1935 and HTTP 80 to the gateway ports, of the type asked for', async () => {
    const svc = one(on, 'Service', '-gateway');
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.selector).toEqual(one(on, 'Deployment', '-gateway').spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([
      { name: 'rtmp', protocol: 'TCP', port: 1935, targetPort: 'rtmp' },
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' },
    ]);
    const lb = await renderChart({
      gateway: {
        enabled: true,
        service: { type: 'LoadBalancer', httpPort: 8088, rtmpPort: 1935, annotations: { a: 'b' } },
      },
    });
    expect(one(lb, 'Service', '-gateway').spec.type).toBe('LoadBalancer');
    expect(one(lb, 'Service', '-gateway').metadata.annotations).toEqual({ a: 'b' });
    expect(one(lb, 'Service', '-gateway').spec.ports[1].port).toBe(8088);
    await expect(renderChart({ gateway: { enabled: true, service: { type: 'ExternalName' } } })).rejects.toThrow(
      /type/,
    );
  });

  it('mounts the playback signing keys read-only, whole, and has the operator make them once unless you name yours', async () => {
    const mounted = (objs: K8sObject[]) => {
      const pod = one(objs, 'Deployment', '-gateway').spec.template.spec;
      const c = pod.containers[0];
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
      const mount = c.volumeMounts.find((m: any) => m.name === 'playback-keys');
      return { env, mount, volume: pod.volumes.find((v: any) => v.name === 'playback-keys') };
    };
    const made = mounted(on);
    expect(made.volume.secret).toEqual({
      secretName: 'lso-livestream-operator-playback-keys',
      optional: true,
      defaultMode: 0o440,
    });
    expect(made.mount).toEqual({ name: 'playback-keys', mountPath: '/etc/livestream/playback-keys', readOnly: true });
    expect(made.env.LSO_GATEWAY_PLAYBACK_KEYS_DIR).toBe(made.mount.mountPath);
    expect(operatorEnv(on).LSO_GATEWAY_PLAYBACK_KEYS_SECRET).toBe(made.volume.secret.secretName);
    expect(find(on, 'Secret').map((o) => o.metadata.name)).not.toContain(made.volume.secret.secretName);

    const own = await renderChart({ gateway: { enabled: true, playbackKeys: { secretName: 'my-signing-keys' } } });
    expect(mounted(own).volume.secret.secretName).toBe('my-signing-keys');
    expect(operatorEnv(own).LSO_GATEWAY_PLAYBACK_KEYS_SECRET).toBeUndefined();
    expect(rulesOf(one(own, 'Role', '-gateway-routes')).join('\n')).not.toMatch(/playback-keys|my-signing-keys/);
    await expect(renderChart({ gateway: { playbackKeys: { secretName: 'Bad_Name' } } })).rejects.toThrow(/secretName/);
    await expect(renderChart({ gateway: { playbackKeys: { dir: '/x' } } })).rejects.toThrow(/dir/);
  });

  it('tells the operator where the table goes, and which pods to mark', () => {
    const env = operatorEnv(on);
    expect(env.LSO_GATEWAY_ROUTES_SECRET).toBe('lso-livestream-operator-gateway-routes');
    expect(env.LSO_GATEWAY_ROUTING_SECRET).toBe('lso-livestream-operator-gateway-routing');
    expect(env.LSO_GATEWAY_NAMESPACE).toBe('lso-system');
    const labels = one(on, 'Deployment', '-gateway').spec.template.metadata.labels;
    const terms = String(env.LSO_GATEWAY_POD_SELECTOR)
      .split(',')
      .map((t) => t.split('='));
    expect(terms.length).toBeGreaterThanOrEqual(3);
    for (const [k, v] of terms) expect(labels[k ?? '']).toBe(v);
    expect(Object.fromEntries(terms)).toEqual(one(on, 'Deployment', '-gateway').spec.selector.matchLabels);
  });

  it('lets the operator get, update and create its four Secrets, mark pods and read the Service, in its own namespace only', () => {
    const role = one(on, 'Role', '-gateway-routes');
    expect(role.metadata.namespace).toBe('lso-system');
    expect(rulesOf(role)).toEqual([
      'core/secrets: create',
      'core/secrets[lso-livestream-operator-gateway-routes,lso-livestream-operator-gateway-routing,lso-livestream-operator-gateway-admin,lso-livestream-operator-playback-keys]: get,update',
      'core/pods: list,patch',
      'core/services[lso-livestream-operator-gateway]: get',
    ]);
    const binding = one(on, 'RoleBinding', '-gateway-routes');
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect((binding as any).subjects).toEqual([
      { kind: 'ServiceAccount', name: 'lso-livestream-operator', namespace: 'lso-system' },
    ]);
  });

  it('renders no Secret of its own: the operator makes the routing secret once and keeps it across upgrades', () => {
    expect(gatewayObjects(on).filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(() => parseRoutingSecret(Buffer.from('x'.repeat(31)))).toThrow(/32/);
  });

  it('scales with an HPA on CPU instead of a fixed replica count when asked', async () => {
    const objs = await renderChart(everySwitch);
    const d = one(objs, 'Deployment', '-gateway');
    expect(d.spec.replicas).toBeUndefined();
    const hpa = one(objs, 'HorizontalPodAutoscaler', '-gateway');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      ],
    });
  });

  it('rejects unknown gateway values', async () => {
    await expect(renderChart({ gateway: { enabled: true, replica: 3 } })).rejects.toThrow(/replica/);
    await expect(renderChart({ gateway: { image: { tag: 'latest' } } })).rejects.toThrow(/tag/);
  });
});

function rulesOf(o: Obj): string[] {
  return (o.rules ?? []).flatMap((r: any) =>
    r.resources.map(
      (res: string) =>
        `${r.apiGroups[0] || 'core'}/${res}${r.resourceNames ? `[${r.resourceNames}]` : ''}: ${r.verbs.join(',')}`,
    ),
  );
}
