// What the API server accepted in spec.audience but cannot take effect, told to the channel's owner as a Warning
// event once per occurrence: a scheduled start more than a day in the past (the CRD has no clock: ADR 0015) is not
// shown by the directory; the event says so once when it becomes stale (or is written stale), not at every pass.
import { EventReason, type LiveStream } from '../../../contract/src/api/index.ts';
import { scheduledStartIgnored, scheduledStartWarning } from '../../../contract/src/api/audience.ts';
import type { EventRecorder } from '../telemetry/events.ts';

export class ScheduledStartWarnings {
  /** By LiveStream uid: the generation and start already reported. */
  private readonly reported = new Map<string, string>();
  private readonly events: Pick<EventRecorder, 'record'>;

  constructor(events: Pick<EventRecorder, 'record'>) {
    this.events = events;
  }

  /** One pass over every LiveStream (the leader's, e.g. at each route table build). */
  check(liveStreams: readonly LiveStream[], nowMs: number): void {
    const seen = new Set<string>();
    for (const ls of liveStreams) {
      const uid = ls.metadata.uid ?? `${ls.metadata.namespace}/${ls.metadata.name}`;
      seen.add(uid);
      const start = ls.spec.audience?.scheduledStart;
      if (start === undefined || ls.metadata.deletionTimestamp || !scheduledStartIgnored(start, nowMs)) {
        this.reported.delete(uid);
        continue;
      }
      const mark = `${ls.metadata.generation ?? 0}/${start}`;
      if (this.reported.get(uid) === mark) continue;
      this.reported.set(uid, mark);
      this.events.record(ls, 'Warning', EventReason.ScheduledStartIgnored, scheduledStartWarning);
    }
    for (const uid of this.reported.keys()) if (!seen.has(uid)) this.reported.delete(uid);
  }
}
