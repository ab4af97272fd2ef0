// "<name>": a Prometheus Operator PodMonitor scraping the transcoder's /metrics. Applied only when the API server
// serves monitoring.coreos.com/v1 PodMonitor (the caller checks).
import type { KubernetesObject, V1LabelSelector, V1ObjectMeta } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames, selectorLabels } from './metadata.ts';
import { metricsPath, portNames } from '../../../../contract/src/pod-contract.ts';

export const podMonitorGroup = 'monitoring.coreos.com';
export const podMonitorVersion = 'v1';
export const podMonitorPlural = 'podmonitors';

export interface PodMonitor extends KubernetesObject {
  apiVersion: 'monitoring.coreos.com/v1';
  kind: 'PodMonitor';
  metadata: V1ObjectMeta;
  spec: {
    selector: V1LabelSelector;
    podMetricsEndpoints: { port: string; path: string; interval: string; scrapeTimeout?: string }[];
    podTargetLabels?: string[];
  };
}

export function buildPodMonitor(ls: LiveStream, ctx: Pick<BuildContext, 'extraLabels'>): PodMonitor {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: childMetadata(ls, childNames(ls).podMonitor, ctx),
    spec: {
      selector: { matchLabels: selectorLabels(ls) },
      podMetricsEndpoints: [
        { port: portNames.http, path: metricsPath, interval: '15s', scrapeTimeout: '10s' },
        { port: portNames.relayMetrics, path: metricsPath, interval: '15s', scrapeTimeout: '10s' },
      ],
      // The transcoder's metrics carry no stream labels: the pod's instance label names the LiveStream.
      podTargetLabels: ['app.kubernetes.io/instance'],
    },
  };
}
