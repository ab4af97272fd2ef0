// Where the poller finds each channel's report logs: the transcoder pods, from a pod informer (label-selected, so
// only the operator's transcoder pods are cached). A pod is asked at its IP on each container's report-log port
// (contract/src/report-log.ts), ports that the Service does not carry: the channel's Service may be a NodePort or a
// LoadBalancer, and the reports are not for the outside. A pod's channel is its namespace and its instance label.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { reportLogPorts } from '../../../contract/src/report-log.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { ResilientInformer } from '../runtime/informer.ts';
import { managedBy } from './desired/index.ts';
import type { ReportEndpoint } from './report-poller-cursor.ts';
import type { ReportTargets } from './report-poller.ts';

export const transcoderPodSelector = `app.kubernetes.io/managed-by=${managedBy},app.kubernetes.io/component=transcoder`;
const instanceLabel = 'app.kubernetes.io/instance';

export type ReportLogPorts = Record<keyof typeof reportLogPorts, number>;

/** Each channel's endpoints, from its pods that have an IP and have not ended (a terminating pod still reports). */
export function podReportTargets(
  pods: Iterable<V1Pod>,
  ports: ReportLogPorts = reportLogPorts,
): Map<string, ReportEndpoint[]> {
  const targets = new Map<string, ReportEndpoint[]>();
  for (const pod of pods) {
    const { namespace, uid, labels } = pod.metadata ?? {};
    const instance = labels?.[instanceLabel];
    const ip = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (!namespace || !uid || !instance || !ip || phase === 'Succeeded' || phase === 'Failed') continue;
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const key = `${namespace}/${instance}`;
    const endpoints = targets.get(key) ?? [];
    for (const [container, port] of Object.entries(ports)) {
      endpoints.push({ id: `${uid}/${container}`, url: `http://${host}:${port}` });
    }
    targets.set(key, endpoints);
  }
  return targets;
}

export interface PodTargetsOptions {
  kc: KubeConfig;
  /** Watch one namespace; undefined: all. */
  namespace: string | undefined;
  logger: Logger;
  ports?: ReportLogPorts;
}

/** The transcoder pods as the informer sees them, as ReportTargets. */
export class PodReportTargets implements ReportTargets {
  private readonly pods = new Map<string, V1Pod>();
  private readonly informer: ResilientInformer<V1Pod>;
  private readonly ports: ReportLogPorts;

  constructor(opts: PodTargetsOptions) {
    const core = opts.kc.makeApiClient(CoreV1Api);
    const { namespace } = opts;
    const labelSelector = transcoderPodSelector;
    this.ports = opts.ports ?? reportLogPorts;
    this.informer = new ResilientInformer<V1Pod>({
      kc: opts.kc,
      path: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
      labelSelector,
      list: () =>
        namespace
          ? core.listNamespacedPod({ namespace, labelSelector })
          : core.listPodForAllNamespaces({ labelSelector }),
      onChange: (pod, kind) => this.onChange(pod, kind),
      onError: (err, retryInMs) =>
        opts.logger.warn({ err: String(err), retryInMs }, 'transcoder pod watch failed; restarting it'),
    });
  }

  targets(): Map<string, ReportEndpoint[]> {
    return podReportTargets(this.pods.values(), this.ports);
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private onChange(pod: V1Pod, kind: 'add' | 'update' | 'delete'): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    if (kind === 'delete') this.pods.delete(uid);
    else this.pods.set(uid, pod);
  }
}
