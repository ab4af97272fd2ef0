import { describe, expect, it } from 'vitest';
import { allMonitoring, renderChart, toolBuildTimeoutMs } from '../../charts/tests/chart-tools.ts';
import {
  chartScrapeConfigs,
  podMonitorScrapeConfigs,
  sanitizeLabel,
  shortenedRules,
} from './prometheus-scrape-config.ts';

const opts = { kubeconfigFile: '/k/config' };
const podMonitor = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PodMonitor',
  metadata: { name: 'gw', namespace: 'ops' },
  spec: {
    selector: { matchLabels: { 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/instance': 'r.1' } },
    podTargetLabels: ['app.kubernetes.io/component'],
    podMetricsEndpoints: [{ port: 'http', path: '/metrics', honorLabels: true, interval: '30s' }],
  },
};

describe('podMonitorScrapeConfigs', () => {
  it('keeps the selected pods and port and gives the operator’s target labels', () => {
    const [c] = podMonitorScrapeConfigs(podMonitor, opts);
    expect(c?.job_name).toBe('podMonitor/ops/gw/0');
    expect(c?.honor_labels).toBe(true);
    expect(c?.scrape_interval).toBe('30s');
    expect(c?.kubernetes_sd_configs).toEqual([
      { role: 'pod', kubeconfig_file: '/k/config', namespaces: { names: ['ops'] } },
    ]);
    const keeps = c?.relabel_configs.filter((r) => r.action === 'keep') ?? [];
    expect(keeps).toContainEqual({
      action: 'keep',
      source_labels: [
        '__meta_kubernetes_pod_label_app_kubernetes_io_instance',
        '__meta_kubernetes_pod_labelpresent_app_kubernetes_io_instance',
      ],
      regex: '(r\\.1);true',
    });
    expect(keeps).toContainEqual({
      action: 'keep',
      source_labels: ['__meta_kubernetes_pod_container_port_name'],
      regex: 'http',
    });
    const targets = c?.relabel_configs.map((r) => r.target_label).filter(Boolean);
    expect(targets).toEqual(['namespace', 'container', 'pod', 'app_kubernetes_io_component', 'job', 'endpoint']);
    expect(c?.relabel_configs.find((r) => r.target_label === 'job')?.replacement).toBe('ops/gw');
  });

  it('watches every namespace for `any`, the listed ones for matchNames, and takes a test interval', () => {
    const any = { ...podMonitor, spec: { ...podMonitor.spec, namespaceSelector: { any: true } } };
    expect(podMonitorScrapeConfigs(any, opts)[0]?.kubernetes_sd_configs[0]?.namespaces).toBeUndefined();
    const named = { ...podMonitor, spec: { ...podMonitor.spec, namespaceSelector: { matchNames: ['a'] } } };
    const [c] = podMonitorScrapeConfigs(named, { ...opts, interval: '2s' });
    expect(c?.kubernetes_sd_configs[0]?.namespaces).toEqual({ names: ['a'] });
    expect([c?.scrape_interval, c?.scrape_timeout]).toEqual(['2s', '2s']);
  });

  it('refuses anything but a PodMonitor', () => {
    expect(() => podMonitorScrapeConfigs({ ...podMonitor, kind: 'ServiceMonitor' }, opts)).toThrow(/not a PodMonitor/);
    expect(sanitizeLabel('app.kubernetes.io/name')).toBe('app_kubernetes_io_name');
  });

  it(
    'follows the rendered chart: one job per endpoint of the gateway, operator and transcoder PodMonitors',
    async () => {
      const objects = await renderChart({
        ...allMonitoring,
        monitoring: {
          ...allMonitoring.monitoring,
          operator: { podMonitor: { enabled: true }, serviceMonitor: { enabled: false } },
        },
      });
      const jobs = chartScrapeConfigs(objects, opts).map((c) => c.job_name);
      expect(jobs).toEqual([
        'podMonitor/lso-system/lso-livestream-operator-gateway/0',
        'podMonitor/lso-system/lso-livestream-operator/0',
        'podMonitor/lso-system/lso-livestream-operator-transcoders/0',
        'podMonitor/lso-system/lso-livestream-operator-transcoders/1',
      ]);
    },
    toolBuildTimeoutMs,
  );
});

describe('shortenedRules', () => {
  it('shortens the alerts’ for and leaves recording rules alone', () => {
    const doc = {
      groups: [
        {
          name: 'g',
          rules: [
            { alert: 'A', expr: '1', for: '5m' },
            { record: 'r', expr: '1' },
          ],
        },
      ],
    };
    expect(shortenedRules(doc, '5s').groups[0]?.rules).toEqual([
      { alert: 'A', expr: '1', for: '5s' },
      { record: 'r', expr: '1' },
    ]);
  });
});
