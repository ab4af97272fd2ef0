// `kubectl livestream stats NAME | --all`: the stats API's series, one row per bucket and a TOTAL row.
import {
  statsAnswerSchema,
  statsIntervals,
  statsPath,
  type StatsAnswer,
  type StatsFigures,
  type StatsInterval,
} from '../../../contract/src/stats-api.ts';
import { UsageError, one, rfc3339 } from '../args.ts';
import { globalFlags, statsApiFlags, type Command } from '../command.ts';
import { bytes, figure, hms, serialized, table } from '../format.ts';
import { getAnswer, requestUrl, statsBaseUrl } from '../stats-client.ts';
import { statsToken } from '../stats-token.ts';

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
    const { args } = ctx;
    const all = args.switches.has('all');
    if (all ? args.positionals.length !== 0 : args.positionals.length !== 1) {
      throw new UsageError('stats takes one LiveStream NAME, or --all (and no NAME)');
    }
    const interval = intervalOf(one(args, 'interval'));
    const from = one(args, 'from');
    const to = one(args, 'to');
    const query = {
      interval,
      from: from === undefined ? undefined : rfc3339(from, 'from'),
      to: to === undefined ? undefined : rfc3339(to, 'to'),
    };
    const base = statsBaseUrl(one(args, 'stats-url'), ctx.env);
    const token = await statsToken(args, ctx.cluster);
    const { namespace } = ctx.cluster();
    const scope = all ? { namespace } : { namespace, name: args.positionals[0]! };
    const answer = await getAnswer(requestUrl(base, statsPath(scope), query), token, statsAnswerSchema);
    ctx.out(serialized(answer, ctx.output) ?? statsTable(answer));
  },
};
