// Turns publish transitions into Kubernetes events (sparingly: the recorder folds repeats within its window, so a
// key-guessing publisher yields one StreamKeyRejected per window) and per-stream counters for Grafana.
import { EventReason, type LiveStream } from '../../../contract/src/api/index.ts';
import type { EventRecorder } from '../telemetry/events.ts';
import type { OperatorMetrics } from '../telemetry/metrics.ts';
import { splitKey } from '../runtime/controller.ts';
import type { PublishTransition } from './publish-state.ts';

export function reportEvents(deps: {
  metrics: OperatorMetrics;
  events: EventRecorder;
  liveStream: (key: string) => LiveStream | undefined;
}): (key: string, transition: PublishTransition) => void {
  return (key, t) => {
    const { namespace, name: livestream } = splitKey(key);
    const ls = deps.liveStream(key);
    switch (t.kind) {
      case 'started':
        if (ls) deps.events.record(ls, 'Normal', EventReason.PublishStarted, `session ${t.session} started`);
        break;
      case 'ended':
        deps.metrics.sessionsEnded.inc({ namespace, livestream, reason: t.summary.endReason ?? 'unknown' });
        deps.metrics.sessionSeconds.inc({ namespace, livestream }, t.summary.durationSeconds ?? 0);
        if (ls) {
          deps.events.record(
            ls,
            'Normal',
            EventReason.PublishEnded,
            `session ${t.summary.id} ended after ${t.summary.durationSeconds ?? 0} s (${t.summary.endReason ?? 'unknown'})`,
          );
        }
        break;
      case 'refused':
        deps.metrics.publishRefused.inc({ namespace, livestream, reason: t.reason });
        if (ls && t.reason === 'bad_key') {
          deps.events.record(
            ls,
            'Warning',
            EventReason.StreamKeyRejected,
            'a publish with a wrong stream key was refused',
          );
        }
        break;
      case 'ffmpeg-failed':
        if (ls) deps.events.record(ls, 'Warning', EventReason.TranscoderFailed, t.message);
        break;
      case 'relay':
        if (!ls) break;
        if (t.to === 'Retrying') {
          deps.events.record(ls, 'Warning', EventReason.RelayFailed, `relay ${t.name}: ${t.lastError ?? 'retrying'}`);
        } else if (t.to === 'Active' && t.from === 'Retrying') {
          deps.events.record(ls, 'Normal', EventReason.RelayRecovered, `relay ${t.name} is pushing again`);
        }
        break;
      case 'none':
        break;
    }
  };
}
