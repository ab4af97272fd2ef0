// `kubectl livestream stats NAME | --all`: the stats API's series, one row per bucket and a TOTAL row.
import {
  statsAnswerSchema,
  statsIntervals,
  statsPath,
  type StatsAnswer,
  type StatsFigures,
  type StatsInterval,
} from '../../../contract/src/stats-api.ts';
import { UsageError, one } from '../args.ts';
import { globalFlags, statsApiFlags, type Command } from '../command.ts';
import { bytes, figure, hms, serialized, table } from '../format.ts';
import { getAnswer, requestUrl } from '../stats-client.ts';
import { statsCall } from '../stats-call.ts';

export const statsHeaders = ['START', 'SESSIONS', 'LIVE', 'VIEWER-MINUTES', 'PEAK', 'BYTES-IN'];

/** A bucket's start as its calendar unit: a day or week as its date, a month as YYYY-MM. */
export function bucketLabel(start: string, interval: StatsInterval): string {
  const iso = new Date(Date.parse(start)).toISOString();
  return interval === 'month' ? iso.slice(0, 7) : iso.slice(0, 10);
}

const cells = (f: StatsFigures): string[] => [
  String(f.sessions),
  hms(f.liveSeconds),
  figure(f.viewerMinutes),
  String(f.peakViewers),
  bytes(f.bytesIn),
];

export function statsTable(answer: StatsAnswer): string {
  const rows = answer.series.map((b) => [bucketLabel(b.start, answer.interval), ...cells(b)]);
  return table(statsHeaders, [...rows, ['TOTAL', ...cells(answer.totals)]]);
}

export function intervalOf(text: string | undefined): StatsInterval {
  if (text === undefined) return 'day';
  if (!(statsIntervals as readonly string[]).includes(text)) {
    throw new UsageError(`--interval must be one of ${statsIntervals.join(', ')} (got ${JSON.stringify(text)})`);
  }
  return text as StatsInterval;
}

export const statsCommand: Command = {
  name: 'stats',
  usage: 'kubectl livestream stats (NAME | --all) [--interval day|week|month] [--from RFC3339] [--to RFC3339]',
  summary: 'sessions, live time, viewers and bytes per day, week or month',
  about:
    "A channel's (or with --all the namespace's) sessions, live time, viewer-minutes, peak viewers and bytes " +
    "received, per UTC day, ISO week or month, from the operator's stats API. Default range: the last 30 days, " +
    '12 weeks or 12 months.',
  flags: [
    { name: 'all', help: "the namespace's totals instead of one channel" },
    { name: 'interval', value: 'day|week|month', help: 'bucket size (default day)' },
    { name: 'from', value: 'RFC3339', help: 'start of the range' },
    { name: 'to', value: 'RFC3339', help: 'end of the range (exclusive)' },
    ...statsApiFlags,
    ...globalFlags,
  ],
  async run(ctx) {
    const interval = intervalOf(one(ctx.args, 'interval'));
    const { scope, range, base, token } = await statsCall(ctx, 'stats');
    const url = requestUrl(base, statsPath(scope), { interval, ...range });
    const answer = await getAnswer(url, token, statsAnswerSchema);
    ctx.out(serialized(answer, ctx.output) ?? statsTable(answer));
  },
};
