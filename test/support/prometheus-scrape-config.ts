// The chart's PodMonitors as plain Prometheus scrape configs (kubernetes_sd_configs, role pod), for a Prometheus
// without the Prometheus Operator: the same pods and ports kept and the same target labels (namespace, pod,
// container, endpoint, job, podTargetLabels) as the operator's generated config, so the alerts and dashboards see
// the series they would see in a cluster. Derived from the rendered PodMonitors: a chart change is followed.
import type { K8sObject } from '../../charts/tests/chart-tools.ts';

export interface PodMonitorSpec {
  selector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { any?: boolean; matchNames?: string[] };
  podTargetLabels?: string[];
  jobLabel?: string;
  podMetricsEndpoints: {
    port: string;
    path?: string;
    honorLabels?: boolean;
    interval?: string;
    scrapeTimeout?: string;
  }[];
}

export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action: 'keep' | 'drop' | 'replace';
}

export interface ScrapeConfig {
  job_name: string;
  honor_labels: boolean;
  metrics_path: string;
  scrape_interval: string;
  scrape_timeout: string;
  kubernetes_sd_configs: { role: 'pod'; kubeconfig_file: string; namespaces?: { names: string[] } }[];
  relabel_configs: RelabelConfig[];
}

/** A Kubernetes label name as Prometheus spells it in meta labels and target labels. */
export const sanitizeLabel = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface ScrapeOptions {
  kubeconfigFile: string;
  /** Replaces every endpoint's interval (and bounds its timeout): the tests scrape every second or two. */
  interval?: string;
}

/** One scrape config per endpoint of a PodMonitor, as the Prometheus Operator generates them. */
export function podMonitorScrapeConfigs(pm: K8sObject, opts: ScrapeOptions): ScrapeConfig[] {
  if (pm.kind !== 'PodMonitor') throw new Error(`not a PodMonitor: ${pm.kind} ${pm.metadata.name}`);
  const spec = pm.spec as PodMonitorSpec;
  const ns = pm.metadata.namespace ?? 'default';
  const sel = spec.namespaceSelector;
  const namespaces = sel?.any ? undefined : { names: sel?.matchNames ?? [ns] };
  return spec.podMetricsEndpoints.map((ep, i) => {
    const selector: RelabelConfig[] = Object.entries(spec.selector?.matchLabels ?? {}).map(([k, v]) => ({
      action: 'keep',
      source_labels: [
        `__meta_kubernetes_pod_label_${sanitizeLabel(k)}`,
        `__meta_kubernetes_pod_labelpresent_${sanitizeLabel(k)}`,
      ],
      regex: `(${escapeRegex(v)});true`,
    }));
    const fromMeta = (meta: string, target: string): RelabelConfig => ({
      action: 'replace',
      source_labels: [meta],
      target_label: target,
    });
    const jobLabel = spec.jobLabel ? sanitizeLabel(spec.jobLabel) : undefined;
    const interval = opts.interval ?? ep.interval ?? '30s';
    return {
      job_name: `podMonitor/${ns}/${pm.metadata.name}/${i}`,
      honor_labels: ep.honorLabels ?? false,
      metrics_path: ep.path ?? '/metrics',
      scrape_interval: interval,
      scrape_timeout: opts.interval ? interval : (ep.scrapeTimeout ?? '10s'),
      kubernetes_sd_configs: [
        { role: 'pod', kubeconfig_file: opts.kubeconfigFile, ...(namespaces ? { namespaces } : {}) },
      ],
      relabel_configs: [
        ...selector,
        { action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: escapeRegex(ep.port) },
        // Finished pods keep their IP in the API for a while; the operator's config drops them too.
        { action: 'drop', source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)' },
        fromMeta('__meta_kubernetes_namespace', 'namespace'),
        fromMeta('__meta_kubernetes_pod_container_name', 'container'),
        fromMeta('__meta_kubernetes_pod_name', 'pod'),
        ...(spec.podTargetLabels ?? []).map((l) =>
          fromMeta(`__meta_kubernetes_pod_label_${sanitizeLabel(l)}`, sanitizeLabel(l)),
        ),
        jobLabel
          ? fromMeta(`__meta_kubernetes_pod_label_${jobLabel}`, 'job')
          : { action: 'replace', target_label: 'job', replacement: `${ns}/${pm.metadata.name}` },
        { action: 'replace', target_label: 'endpoint', replacement: ep.port },
      ],
    };
  });
}

/** The scrape configs of every PodMonitor among rendered chart objects. */
export const chartScrapeConfigs = (objects: K8sObject[], opts: ScrapeOptions): ScrapeConfig[] =>
  objects.filter((o) => o.kind === 'PodMonitor').flatMap((pm) => podMonitorScrapeConfigs(pm, opts));

export interface RuleGroups {
  groups: { name: string; rules: { alert?: string; for?: string; [k: string]: unknown }[] }[];
}

/** The chart's rules with every `for:` shortened, so that a test sees an alert fire within seconds. */
export const shortenedRules = (doc: RuleGroups, forDuration: string): RuleGroups => ({
  groups: doc.groups.map((g) => ({
    ...g,
    rules: g.rules.map((r) => (r.alert !== undefined && r.for !== undefined ? { ...r, for: forDuration } : r)),
  })),
});
