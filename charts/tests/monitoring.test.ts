// The chart's alerts and dashboards checked by the pinned promtool: the rule file passes `check rules`, its unit tests
// pass `test rules`, every dashboard query parses as PromQL (as a recording rule in a generated file), and every
// alert carries what an on-call engineer needs, with a runbook that exists. The gateway's PodMonitor and dashboard
// row, rendered by the pinned helm, are checked against the labels its alerts rely on.
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  allMonitoring,
  dashboardQueries,
  everySwitch,
  exec,
  metricNames,
  readAlertRules,
  readDashboards,
  renderChart,
  rulesPath,
  runbooksDir,
  toPromQL,
  tool,
  toolBuildTimeoutMs,
  withTempDir,
  type AlertRule,
  type Dashboard,
  type K8sObject,
} from './chart-tools.ts';

let promtool: string;
let alerts: AlertRule[];
let dashboards: Map<string, Dashboard>;

beforeAll(async () => {
  promtool = await tool('promtool');
  alerts = await readAlertRules();
  dashboards = await readDashboards();
}, toolBuildTimeoutMs);

describe('alerting rules', () => {
  it('pass promtool check rules', async () => {
    const r = await exec(promtool, ['check', 'rules', rulesPath]);
    expect(r.stdout + r.stderr).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.code).toBe(0);
  });

  it('pass their promtool unit tests', async () => {
    const r = await exec(promtool, [
      'test',
      'rules',
      join(import.meta.dirname, 'livestream-alerts.promtool-test.yaml'),
    ]);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('promtool check rules catches a broken expression (the check is real)', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'broken.yaml');
      await writeFile(file, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (a (up)' }] }] }));
      const r = await exec(promtool, ['check', 'rules', file]);
      expect(r.code).not.toBe(0);
    });
  });

  it('cover what a streaming team needs, each with summary, description, for, severity and a runbook', async () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'LiveStreamOperatorDown',
        'LiveStreamOperatorReconcileErrors',
        'LiveStreamFailed',
        'LiveStreamIngestBitrateCollapsed',
        'LiveStreamRelayRetrying',
        'LiveStreamRecordingUploadsFailing',
        'LiveStreamRecordingSpooling',
        'LiveStreamGatewayRefusingPublishes',
        'LiveStreamGatewayBackendsUnavailable',
        'LiveStreamGatewayNoRouteTable',
      ]),
    );
    for (const a of alerts) {
      expect(a.for, a.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      expect(a.annotations?.runbook_url, a.alert).toBe(`RUNBOOK_BASE_URL/${a.alert}.md`);
      await expect(access(join(runbooksDir, `${a.alert}.md`)), a.alert).resolves.toBeUndefined();
    }
  });
});

describe('dashboards', () => {
  it('are valid dashboards with unique panel ids, a datasource variable and a LiveStream variable per stream', () => {
    expect([...dashboards.keys()]).toEqual(['livestream-fleet.json', 'livestream-stream.json']);
    for (const [file, d] of dashboards) {
      expect(d.uid, file).toMatch(/^[a-z0-9-]{1,40}$/);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      expect(
        d.templating.list.map((v) => v.name),
        file,
      ).toContain('datasource');
    }
    const stream = dashboards.get('livestream-stream.json');
    expect(stream?.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace', 'livestream']);
    const titles = stream?.panels.map((p) => p.title) ?? [];
    for (const t of [
      'Ingest bitrate',
      'Ingest frame rate',
      'Viewers',
      'Segments per rung',
      'ffmpeg restarts',
      'Relay state',
    ]) {
      expect(titles).toContain(t);
    }
    expect(titles.filter((t) => t?.startsWith('Sessions (last'))).toEqual([
      'Sessions (last day)',
      'Sessions (last week)',
      'Sessions (last month)',
    ]);
  });

  it('every query parses as PromQL (promtool check rules on a generated rule file)', async () => {
    const queries = dashboardQueries(dashboards);
    expect(queries.length).toBeGreaterThan(30);
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: toPromQL(q.expr) }));
    await withTempDir(async (dir) => {
      const file = join(dir, 'dashboard-queries.yaml');
      await writeFile(file, stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
      const r = await exec(promtool, ['check', 'rules', '--lint=none', file]);
      expect(r.stdout + r.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.code).toBe(0);
    });
  });
});

describe('gateway monitoring', () => {
  type PodMonitor = K8sObject & { spec: any };
  const gatewayMonitors = (objs: K8sObject[]) =>
    objs.filter((o) => o.kind === 'PodMonitor' && o.metadata.name.endsWith('-gateway')) as PodMonitor[];

  it('a PodMonitor selects the gateway pods, ready or not, with the labels the gateway alerts use', async () => {
    const objs = await renderChart(everySwitch);
    expect(gatewayMonitors(objs)).toHaveLength(1);
    const [monitor] = gatewayMonitors(objs);
    const deployment = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-gateway')) as PodMonitor;
    expect(monitor?.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    expect(podLabels['app.kubernetes.io/component']).toBe('gateway');
    // up{app_kubernetes_io_component="gateway"} in LiveStreamGatewayNoRouteTable comes from this target label.
    expect(monitor?.spec.podTargetLabels).toEqual(['app.kubernetes.io/component']);
    const port = (deployment.spec.template.spec.containers[0].ports as { name: string }[]).map((p) => p.name);
    expect(port).toContain(monitor?.spec.podMetricsEndpoints[0].port);
    expect(monitor?.spec.podMetricsEndpoints[0]).toMatchObject({ path: '/metrics', honorLabels: true });
    const noRouteTable = alerts.find((a) => a.alert === 'LiveStreamGatewayNoRouteTable');
    expect(noRouteTable?.expr).toContain('up{app_kubernetes_io_component="gateway"}');
  });

  it('renders no gateway PodMonitor without the gateway, nor without its switch', async () => {
    expect(gatewayMonitors(await renderChart({ ...allMonitoring, gateway: { enabled: false } }))).toEqual([]);
    expect(gatewayMonitors(await renderChart({ gateway: { enabled: true } }))).toEqual([]);
  });

  it('the fleet dashboard has a Gateway row with every gateway figure', () => {
    const fleet = dashboards.get('livestream-fleet.json')!;
    const row = fleet.panels.findIndex((p) => p.type === 'row' && p.title === 'Gateway');
    expect(row).toBeGreaterThan(0);
    const next = fleet.panels.findIndex((p, i) => i > row && p.type === 'row');
    const panels = fleet.panels.slice(row + 1, next === -1 ? undefined : next);
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
    for (const name of [
      'livestream_gateway_publishes_routed_total',
      'livestream_gateway_publishes_refused_total',
      'livestream_gateway_rtmp_bytes_total',
      'livestream_gateway_http_bytes_out_total',
      'livestream_gateway_cache_requests_total',
      'livestream_gateway_backend_fetches_total',
      'livestream_gateway_viewers',
      'livestream_gateway_route_table_loaded',
    ]) {
      expect(
        exprs.some((e) => metricNames(toPromQL(e)).includes(name)),
        name,
      ).toBe(true);
    }
    expect(exprs).toContain('topk(10, sum by (namespace, name) (livestream_gateway_viewers))');
    expect(exprs.filter((e) => e.includes('by (pod)')).length).toBeGreaterThanOrEqual(4);
  });
});

describe('metricNames', () => {
  it('finds the metrics of an expression and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(livestream_operator_reconcile_duration_seconds_bucket[5m]))) ' +
          'and on (namespace) max(up{job="x", le="1"} offset 5m) > 0.25 * 64 or vector(0)',
      ),
    ).toEqual(['livestream_operator_reconcile_duration_seconds_bucket', 'up']);
  });
});
