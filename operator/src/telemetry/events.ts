// Kubernetes events, sparingly: one event per (object, reason, message) per window, so a flapping condition or a
// resync never floods the API server. Failures to record are logged, never thrown: events are best effort.
import { CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../contract/src/logger.ts';

/** A Kubernetes Event's type (not a report type of contract/src/reports.ts). */
export type KubeEventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly api: CoreV1Api;
  private readonly recent = new Map<string, number>();

  private readonly component: string;
  private readonly logger: Logger;
  private readonly windowMs: number;
  private readonly maxRemembered = 10_000;

  constructor(kc: KubeConfig, component: string, logger: Logger, windowMs = 5 * 60_000) {
    this.component = component;
    this.logger = logger;
    this.windowMs = windowMs;
    this.api = kc.makeApiClient(CoreV1Api);
  }

  /** True when the same event was recorded within the window (pure bookkeeping, exported for tests). */
  isDuplicate(key: string, now: number): boolean {
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.windowMs) return true;
    if (this.recent.size >= this.maxRemembered) {
      for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
      if (this.recent.size >= this.maxRemembered) this.recent.clear();
    }
    this.recent.set(key, now);
    return false;
  }

  record(obj: KubernetesObject, type: KubeEventType, reason: string, message: string): void {
    const meta = obj.metadata ?? {};
    const key = `${meta.uid}/${reason}/${message}`;
    const now = Date.now();
    if (this.isDuplicate(key, now)) return;
    const namespace = meta.namespace ?? 'default';
    const time = new Date(now);
    this.api
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${meta.name}.${randomBytes(8).toString('hex')}`, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: meta.name,
            namespace,
            uid: meta.uid,
            resourceVersion: meta.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: process.env.POD_NAME ?? 'local',
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      })
      .catch((err: unknown) => this.logger.warn({ err: String(err), reason }, 'could not record event'));
  }
}
