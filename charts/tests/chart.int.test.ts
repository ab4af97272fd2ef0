// The chart against a real kube-apiserver (no kubelet here: pods never run; they come with the node in the e2e issue).
// - every rendered object passes a server-side dry-run, the Prometheus Operator CRDs applied first;
// - every pod (operator, Redis, helm test, and a transcoder pod from the operator's own builders) is admitted by a
//   namespace enforcing the "restricted" Pod Security Standard;
// - `helm install` creates the objects; the operator, run as a local process with a token of the chart's
//   ServiceAccount (the identity its pods would have), becomes leader and reconciles an example LiveStream: proof
//   that the chart's RBAC suffices; verbs it does not grant are refused;
// - `helm upgrade` to a changed CRD changes the CRD in the cluster (and back);
// - `helm uninstall` keeps the CRD and the LiveStreams when crds.keep is true.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor as pollUntil } from '../../test/support/wait-for.ts';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { fullExample, storedLiveStream } from '../../test/support/livestream-examples.ts';
import { buildDeployment } from '../../operator/src/controller/desired/index.ts';
import { freePorts } from '../../hack/cluster/processes.ts';
import { useTestCluster } from '../../test/support/test-namespace.ts';
import { startRedisProcess, type RedisProcess } from '../../test/support/redis-process.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test/support/gateway-process.ts';
import {
  everySwitch,
  baseMetricName,
  chartDir,
  dashboardQueries,
  exec,
  renderChart,
  renderChartText,
  repo,
  tool,
  toolBuildTimeoutMs,
  type K8sObject,
  metricNames,
  readAlertRules,
  readDashboards,
  toPromQL,
} from './chart-tools.ts';

const cluster = useTestCluster('chart');
const crdName = 'livestreams.streaming.livestream-operator.dev';
const release = `lso-${randomBytes(3).toString('hex')}`;
const fullname = `${release}-livestream-operator`;

let helm: string;
const helmRun = async (args: string[]) => {
  const r = await exec(helm, ['--kubeconfig', cluster.kubeconfig, ...args]);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const kubectlJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;

const waitFor = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  pollUntil(what, fn, { timeoutMs, intervalMs: 250 });

/** Pods without a serviceAccountName use "default", which the controller-manager creates shortly after a namespace. */
const defaultServiceAccount = (namespace: string) =>
  waitFor(`serviceaccount default in ${namespace}`, async () =>
    (await cluster.kubectl(['get', 'serviceaccount', 'default', '-n', namespace])) ? true : undefined,
  );

beforeAll(async () => {
  helm = await tool('helm');
  await defaultServiceAccount(cluster.namespace);
  const crds = await exec(join(repo, 'hack', 'tools', 'prometheus-operator-crds', 'crds.sh'), []);
  if (crds.code !== 0) throw new Error(crds.stderr);
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', crds.stdout.trim()]);
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/podmonitors.monitoring.coreos.com',
    'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']); // prettier-ignore
}, toolBuildTimeoutMs);

describe('rendered objects on the real API server', () => {
  it('every object of helm template (every switch on) passes a server-side dry-run', async () => {
    const text = await renderChartText(everySwitch, { release, namespace: cluster.namespace });
    const objs = await renderChart(everySwitch, { release, namespace: cluster.namespace });
    expect(objs.length).toBeGreaterThanOrEqual(25);
    const out = await cluster.kubectl(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=chart-dry-run', '--dry-run=server', '-f', '-'],
      text,
    );
    // One line per object, each accepted by the server.
    const accepted = out
      .trim()
      .split('\n')
      .filter((l) => l.includes('(server dry run)'));
    expect(accepted).toHaveLength(objs.length);
  });

  it('every pod passes the restricted Pod Security Standard', async () => {
    const ns = `${cluster.namespace}-restricted`;
    await cluster.kubectl(['create', 'namespace', ns]);
    try {
      await cluster.kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted',
        'pod-security.kubernetes.io/enforce-version=latest']); // prettier-ignore
      const objs = (await renderChart({ gateway: { enabled: true } }, { release, namespace: ns })) as (K8sObject & {
        spec: any;
      })[];
      // The operator pod names its ServiceAccount, which admission looks up.
      await cluster.kubectl(['create', 'serviceaccount', fullname, '-n', ns]);
      await defaultServiceAccount(ns);
      const pods: object[] = [];
      const asPod = (name: string, spec: object) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec,
      });
      for (const o of objs) {
        if (o.kind === 'Deployment') pods.push(asPod(`${o.metadata.name}-pod`, o.spec.template.spec));
        if (o.kind === 'Pod') pods.push({ ...o, metadata: { ...o.metadata, annotations: {} } });
      }
      // The transcoder pod exactly as the operator builds it (the full example: relays, recording, resources).
      const ls = storedLiveStream(fullExample, { namespace: ns });
      const transcoder = buildDeployment(ls, {
        image: 'livestream-transcoder:0.1.0',
        redis: { secretName: 'x-redis', key: 'url' },
      });
      pods.push(asPod('transcoder-pod', transcoder.spec?.template.spec ?? {}));
      expect(pods).toHaveLength(5); // operator, redis, gateway, helm test, transcoder
      for (const pod of pods) {
        const out = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(pod));
        expect(out).toContain('(server dry run)');
      }
      // The namespace does enforce: a pod without the restricted settings is refused.
      await expect(
        cluster.kubectl(['create', '--dry-run=server', '-f', '-'],
          JSON.stringify(asPod('plain', { containers: [{ name: 'c', image: 'livestream-operator:0.1.0' }] }))), // prettier-ignore
      ).rejects.toThrow(/violates PodSecurity "restricted/);
    } finally {
      await cluster.kubectl(['delete', 'namespace', ns, '--wait=false']);
    }
  });
});

describe('helm install, the operator with the chart identity, upgrade and uninstall', () => {
  const streams = `${cluster.namespace}-streams`;
  let redis: RedisProcess | undefined;
  let operator: ChildProcess | undefined;
  let output = '';
  let metricsPort = 0;
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'lso-chart-int-'));
    await cluster.kubectl(['create', 'namespace', streams]);
  });

  afterAll(async () => {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator?.once('exit', r));
      operator.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (operator.exitCode === null) operator.kill('SIGKILL');
    }
    await redis?.stop();
    await exec(helm, ['--kubeconfig', cluster.kubeconfig, 'uninstall', release, '-n', cluster.namespace]);
    await cluster.kubectl(['delete', 'namespace', streams, '--wait=false']).catch(() => '');
    await rm(tmp, { recursive: true, force: true });
  });

  it('helm install creates the objects', async () => {
    // The CRD may already exist (applied by other suites with kubectl): the release takes it over.
    await helmRun(['install', release, chartDir, '-n', cluster.namespace, '--take-ownership', '--force-conflicts',
      '--set', 'monitoring.operator.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true,monitoring.dashboards.enabled=true']); // prettier-ignore
    const status = parse(await helmRun(['status', release, '-n', cluster.namespace, '-o', 'yaml'])) as {
      info: { status: string };
    };
    expect(status.info.status).toBe('deployed');
    for (const [kind, name] of [
      ['deployment', fullname],
      ['deployment', `${fullname}-redis`],
      ['service', `${fullname}-metrics`],
      ['secret', `${fullname}-redis`],
      ['serviceaccount', fullname],
      ['poddisruptionbudget', fullname],
      ['role', `${fullname}-leader-election`],
      ['servicemonitor', fullname],
      ['prometheusrule', fullname],
    ] as const) {
      await cluster.kubectl(['get', kind, name, '-n', cluster.namespace]);
    }
    await cluster.kubectl(['get', 'clusterrole', fullname]);
    const crd = await kubectlJson<K8sObject>(['get', 'crd', crdName]);
    expect(crd.metadata.annotations?.['meta.helm.sh/release-name']).toBe(release);
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
  });

  it('the operator with a token of the chart ServiceAccount becomes leader and reconciles a LiveStream', async () => {
    // A kubeconfig holding only the ServiceAccount's token: every request is authorized by the chart's RBAC.
    const token = (
      await cluster.kubectl(['create', 'token', fullname, '-n', cluster.namespace, '--duration=1h'])
    ).trim();
    const admin = parse(await readFile(cluster.kubeconfig, 'utf8')) as {
      clusters: { cluster: Record<string, unknown> }[];
    };
    const saKubeconfig = join(tmp, 'sa.kubeconfig');
    await writeFile(saKubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
      clusters: [{ name: 'local', cluster: admin.clusters[0]?.cluster }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'local', user: 'sa' } }],
    }), { mode: 0o600 }); // prettier-ignore

    // The Deployment's environment as rendered; only what a pod gets from the cluster is supplied locally.
    const deployment = await kubectlJson<{ spec: any }>(['get', 'deployment', fullname, '-n', cluster.namespace]);
    const container = deployment.spec.template.spec.containers[0];
    expect(deployment.spec.template.spec.serviceAccountName).toBe(fullname);
    redis = await startRedisProcess();
    metricsPort = (await freePorts('127.0.0.1', 1))[0] ?? 0;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', KUBECONFIG: saKubeconfig };
    for (const e of container.env as { name: string; value?: string; valueFrom?: any }[]) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = cluster.namespace;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = `${fullname}-local`;
      // The chart's Redis URL names an in-cluster Service; a local redis-server stands in for it.
      else if (e.name === 'LSO_REDIS_URL') env[e.name] = redis.url;
    }
    env.LSO_METRICS_PORT = String(metricsPort);
    env.HOME = tmp;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['LSO_TRANSCODER_IMAGE', 'LSO_LEASE_NAME', 'POD_NAMESPACE']),
    );

    operator = spawn(process.execPath, container.command.slice(1), {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-100_000)));
    operator.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-100_000)));

    const lease = await waitFor('the Lease', async () => {
      const l = await kubectlJson<{ spec: { holderIdentity?: string } }>([
        'get',
        'lease',
        fullname,
        '-n',
        cluster.namespace,
      ]);
      return l.spec.holderIdentity?.startsWith(`${fullname}-local_`) ? l : undefined;
    });
    expect(lease.spec.holderIdentity).toContain(`${fullname}-local_`);

    const ls = parse(await readFile(join(repo, 'examples', 'basic.yaml'), 'utf8')) as K8sObject;
    ls.metadata.namespace = streams;
    await cluster.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(ls));
    const stored = await waitFor('the status', async () => {
      const s = await kubectlJson<{ status?: { state?: string; conditions?: unknown[] } }>([
        'get',
        'livestream',
        'basic',
        '-n',
        streams,
      ]);
      return s.status?.state && s.status.conditions?.length ? s : undefined;
    });
    // No kubelet: the transcoder never becomes available, so the channel waits as Pending.
    expect(stored.status?.state).toBe('Pending');
    for (const [kind, name] of [
      ['secret', 'basic-stream-key'],
      ['secret', 'basic-redis'],
      ['configmap', 'basic-config'],
      ['service', 'basic'],
      ['deployment', 'basic-transcoder'],
      ['podmonitor', 'basic'],
    ] as const) {
      await waitFor(
        `${kind}/${name}`,
        async () => (await cluster.kubectl(['get', kind, name, '-n', streams])) || undefined,
      );
    }
    const events = await kubectlJson<{ items: { reason: string }[] }>(['get', 'events', '-n', streams]);
    expect(events.items.map((e) => e.reason)).toContain('StreamKeyGenerated');
    // The playback signing keys the gateway mounts, made with the chart's Role: one <kid>.key.
    const keys = await waitFor('the playback keys Secret', async () => {
      const s = await kubectlJson<{ data?: Record<string, string> }>([
        'get',
        'secret',
        `${fullname}-playback-keys`,
        '-n',
        cluster.namespace,
      ]);
      return s.data;
    });
    expect(Object.keys(keys)).toEqual([expect.stringMatching(/^k-\d{8}-[0-9a-f]{6}\.key$/)]);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^livestream_operator_leader 1$/m);
    expect(metrics).toMatch(/^livestream_operator_reconciles_total\{result="success"\} [1-9]/m);
    expect(output).not.toMatch(/forbidden/i);
  });

  it('every metric name used in the dashboards and alerts is exported by the operator, transcoder, relay or gateway', async () => {
    // The operator started above (leader, one LiveStream reconciled), a standalone transcoder, a relay process and
    // the gateway entry point routing one channel, watched by one viewer.
    const [rtmpPort = 0, httpPort = 0, relayPort = 0] = await freePorts('127.0.0.1', 3);
    const config = join(tmp, 'livestream.json');
    const example = parse(await readFile(join(repo, 'examples', 'basic.yaml'), 'utf8')) as K8sObject;
    await writeFile(
      config,
      JSON.stringify({ ...example, metadata: { name: 'basic', namespace: 'default', uid: 'u1', generation: 1 } }),
    );
    const children: ChildProcess[] = [];
    let logs = '';
    // The gateway's channel: an origin answering a master playlist, a variant playlist and a segment.
    const origin = createServer((req, res) => {
      const body = req.url?.endsWith('.ts')
        ? Buffer.alloc(1024)
        : '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg-1.ts\n';
      res.writeHead(200, { 'content-type': req.url?.endsWith('.ts') ? 'video/mp2t' : 'application/vnd.apple.mpegurl' });
      res.end(body);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    let gateway: GatewayProcess | undefined;
    const gatewayWithAViewer = async () => {
      const http = `127.0.0.1:${(origin.address() as AddressInfo).port}`;
      gateway = await startGatewayProcess({
        routes: [{ key: 'k', namespace: 'shows', name: 'news', rtmp: http, http }],
      });
      const base = `http://127.0.0.1:${gateway.httpPort}/shows/news`;
      for (const path of ['master.m3u8', '360p/index.m3u8', '360p/seg-1.ts']) {
        const res = await fetch(`${base}/${path}?vs=metric-names-viewer`);
        expect(res.status, path).toBe(200);
        await res.arrayBuffer();
      }
      return gateway.metrics();
    };
    const start = (args: string[], env: Record<string, string>) => {
      const c = spawn(process.execPath, args, {
        cwd: repo,
        env: { PATH: process.env.PATH ?? '', HOME: tmp, LSO_REDIS_URL: redis?.url ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      c.stdout?.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-50_000)));
      c.stderr?.on('data', (d: Buffer) => (logs = (logs + d.toString()).slice(-50_000)));
      children.push(c);
    };
    try {
      start(['transcoder/src/main.ts', '--livestream', join(repo, 'examples', 'custom-ladder.yaml'), '--data-dir', tmp,
        '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--host', '127.0.0.1'], {}); // prettier-ignore
      start(['transcoder/src/relay/main.ts', '--config', config], {
        LSO_RTMP_PORT: String(rtmpPort),
        LSO_RELAY_METRICS_PORT: String(relayPort),
        LSO_RELAY_KEYS_DIR: join(tmp, 'relay-keys'),
      });
      const scrape = (port: number, what: string) =>
        waitFor(`${what} /metrics (${logs.slice(-500)})`, async () => {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          return res.ok ? await res.text() : undefined;
        }, 30_000); // prettier-ignore
      const texts = {
        operator: await scrape(metricsPort, 'operator'),
        transcoder: await scrape(httpPort, 'transcoder'),
        relay: await scrape(relayPort, 'relay'),
        gateway: await gatewayWithAViewer(),
      };
      const exported = new Map<string, string>();
      for (const [source, text] of Object.entries(texts)) {
        for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) exported.set(m[1] ?? '', `${source} ${m[2]}`);
      }
      // The viewers gauge has a series only while a channel has a viewer: the one made above.
      expect(texts.gateway).toMatch(/^livestream_gateway_viewers\{[^}]*name="news"[^}]*\} 1$/m);
      const isExported = (name: string) =>
        exported.has(name) || /(histogram|summary)$/.test(exported.get(baseMetricName(name)) ?? '') || name === 'up'; // made by Prometheus for every target it scrapes
      const used = new Set<string>();
      for (const a of await readAlertRules()) for (const n of metricNames(a.expr)) used.add(n);
      for (const q of dashboardQueries(await readDashboards()))
        for (const n of metricNames(toPromQL(q.expr))) used.add(n);
      expect(used.size).toBeGreaterThan(25);
      const missing = [...used].filter((n) => !isExported(n)).sort();
      expect(missing, `used in dashboards/alerts but not exported: ${missing.join(', ')}`).toEqual([]);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await gateway?.close();
      await new Promise((resolve) => origin.close(resolve));
    }
  });

  it('the chart ServiceAccount is refused what the operator does not need', async () => {
    const sa = `system:serviceaccount:${cluster.namespace}:${fullname}`;
    const can = async (...args: string[]) =>
      (
        await exec(inject('kubectl'), ['--kubeconfig', cluster.kubeconfig, 'auth', 'can-i', '--as', sa, ...args])
      ).stdout.trim();
    expect(await can('patch', 'deployments', '-n', streams)).toBe('yes');
    expect(await can('create', 'leases', '-n', cluster.namespace)).toBe('yes');
    expect(await can('delete', 'deployments', '-n', streams)).toBe('no');
    expect(await can('update', 'livestreams', '-n', streams)).toBe('no');
    expect(await can('delete', 'secrets', '-n', streams)).toBe('no');
    expect(await can('get', 'pods', '-n', streams)).toBe('no');
    expect(await can('create', 'clusterroles')).toBe('no');
    expect(await can('create', 'leases', '-n', streams)).toBe('no');
    expect(await can('update', 'leases/someone-else', '-n', cluster.namespace)).toBe('no');
    expect(await can('update', `leases/${fullname}`, '-n', cluster.namespace)).toBe('yes');
  });

  it('helm upgrade to a changed CRD changes it in the cluster, and back', async () => {
    const changed = join(tmp, 'chart');
    await cp(chartDir, changed, { recursive: true });
    const crdFile = join(changed, 'files', 'crds', 'livestream.yaml');
    const crd = parse(await readFile(crdFile, 'utf8')) as { spec: { names: { shortNames: string[] } } };
    crd.spec.names.shortNames.push('lsupgraded');
    await writeFile(crdFile, stringify(crd));
    const names = async () => (await kubectlJson<typeof crd>(['get', 'crd', crdName])).spec.names.shortNames;

    await helmRun(['upgrade', release, changed, '-n', cluster.namespace, '--reuse-values', '--force-conflicts']);
    expect(await names()).toContain('lsupgraded');
    await waitFor(
      'the new short name served',
      async () =>
        (await cluster.kubectl(['get', 'lsupgraded', '-n', streams, '-o', 'name'])).includes('basic') || undefined,
    );

    await helmRun(['upgrade', release, chartDir, '-n', cluster.namespace, '--reuse-values', '--force-conflicts']);
    expect(await names()).not.toContain('lsupgraded');
  });

  it('helm uninstall keeps the CRD and the LiveStreams (crds.keep)', async () => {
    const out = await helmRun(['uninstall', release, '-n', cluster.namespace]);
    expect(out).toMatch(/kept due to the resource policy/i);
    const crd = await kubectlJson<K8sObject>(['get', 'crd', crdName]);
    expect(crd.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    await cluster.kubectl(['get', 'livestream', 'basic', '-n', streams]);
    // The release's own objects are gone.
    await expect(cluster.kubectl(['get', 'clusterrole', fullname])).rejects.toThrow(/NotFound/);
    await expect(cluster.kubectl(['get', 'deployment', fullname, '-n', cluster.namespace])).rejects.toThrow(/NotFound/);
  });
});
