// The reports this process made, kept for an operator without Redis to poll (contract/src/report-log.ts). No I/O:
// the clock and the boot id come in. Bounded with the reporter's buffer policy (report-buffer.ts): when full the
// oldest heartbeat goes first, a lifecycle report only when nothing else is left; a page says how many of the reports
// it should have held were dropped. Reading never removes anything: entries leave only by the bound.
import {
  encodeEvent,
  isLifecycleEvent,
  type EventDataByType,
  type EventType,
  type TranscoderEvent,
} from '../../../contract/src/reports.ts';
import { maxReportLogPage, type ReportLogCursor, type ReportLogPage } from '../../../contract/src/report-log.ts';
import { ReportBuffer } from './report-buffer.ts';

interface LoggedReport {
  seq: number;
  lifecycle: boolean;
  fields: string[];
}

export interface ReportLogOptions {
  namespace: string;
  name: string;
  /** Random id of this process (a restarted one starts its seq again at 1). */
  boot: string;
  /** Default 2,000 reports (~600 KB): 2.7 hours of one container's heartbeats. */
  maxEntries?: number;
  now?: () => number;
}

export class ReportLog {
  readonly boot: string;
  private readonly options: ReportLogOptions;
  private readonly entries: ReportBuffer<LoggedReport>;
  private seq = 0;
  private droppedTotal = 0;

  constructor(options: ReportLogOptions) {
    this.options = options;
    this.boot = options.boot;
    this.entries = new ReportBuffer<LoggedReport>(options.maxEntries ?? 2_000);
  }

  /** Reports dropped by the bound since the start. */
  get dropped(): number {
    return this.droppedTotal;
  }

  get length(): number {
    return this.entries.length;
  }

  add<T extends EventType>(type: T, session: string, data: EventDataByType[T]): void {
    this.seq++;
    const { namespace, name } = this.options;
    const event: TranscoderEvent = { type, namespace, name, session, seq: this.seq, ts: this.now(), data };
    const dropped = this.entries.push({ seq: this.seq, lifecycle: isLifecycleEvent(type), fields: encodeEvent(event) });
    this.droppedTotal += dropped.length;
  }

  /** The entries after `cursor` (all of them when it names another boot), oldest first, at most `limit`. */
  page(cursor: ReportLogCursor, limit: number = maxReportLogPage): ReportLogPage {
    const after = cursor.boot === this.boot ? cursor.after : 0;
    const all = this.entries.toArray();
    const from = firstAfter(all, after);
    const taken = all.slice(from, from + Math.max(1, Math.min(limit, maxReportLogPage)));
    const more = from + taken.length < all.length;
    // Seqs are dense as made: every seq of (after, end] not in the page was dropped by the bound. A cursor beyond
    // this process's seq (not one it handed out) is brought back to it.
    const end = more ? taken[taken.length - 1]!.seq : this.seq;
    return {
      boot: this.boot,
      through: end,
      missed: Math.max(0, end - after - taken.length),
      more,
      entries: taken.map((e) => e.fields),
    };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** Index of the first entry with seq > after (entries are in seq order). */
function firstAfter(entries: readonly LoggedReport[], after: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.seq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
