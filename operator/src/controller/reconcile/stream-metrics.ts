// Per-stream gauges, set on every reconcile from the computed status: the figures at full rate, whatever the status
// write budget lets through.
import type { LiveStream, LiveStreamStatus } from '../../../../contract/src/api/index.ts';
import type { OperatorMetrics } from '../../telemetry/metrics.ts';

export class StreamMetrics {
  private readonly metrics: OperatorMetrics | undefined;
  private readonly lastState = new Map<string, string>();

  constructor(metrics: OperatorMetrics | undefined) {
    this.metrics = metrics;
  }

  update(key: string, ls: LiveStream, status: LiveStreamStatus): void {
    const m = this.metrics;
    if (!m) return;
    const labels = { namespace: ls.metadata.namespace ?? '', livestream: ls.metadata.name ?? '' };
    const state = status.state ?? 'Pending';
    const before = this.lastState.get(key);
    if (before !== undefined && before !== state) m.streamInfo.remove({ ...labels, state: before });
    m.streamInfo.set({ ...labels, state }, 1);
    this.lastState.set(key, state);
    m.streamViewers.set(labels, status.viewers ?? 0);
    m.streamBitrate.set(labels, status.bitrateKbps ?? 0);
  }

  forget(key: string, namespace: string, name: string): void {
    const m = this.metrics;
    if (m) {
      for (const g of [m.streamViewers, m.streamBitrate]) g.remove({ namespace, livestream: name });
      m.streamInfo.remove({ namespace, livestream: name, state: this.lastState.get(key) ?? '' });
    }
    this.lastState.delete(key);
  }
}
