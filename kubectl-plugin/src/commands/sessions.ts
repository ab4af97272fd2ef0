// `kubectl livestream sessions NAME | --all`: stored sessions, newest first, following `continue` up to --limit.
import {
  defaultSessionsPageSize,
  maxSessionsPageSize,
  sessionsAnswerSchema,
  sessionsPath,
  type SessionsAnswer,
  type StatsSession,
} from '../../../contract/src/stats-api.ts';
import { one, positiveInt } from '../args.ts';
import { globalFlags, statsApiFlags, type Command } from '../command.ts';
import { figure, hms, orNone, serialized, table, time } from '../format.ts';
import { getAnswer, requestUrl } from '../stats-client.ts';
import { statsCall } from '../stats-call.ts';

/** The most sessions one command fetches (pages of at most the API's page size). */
export const maxSessionsLimit = 10_000;

export const sessionsHeaders = ['SESSION', 'STARTED', 'DURATION', 'REASON', 'VIDEO', 'PEAK', 'AVG VIEWERS'];

export function video(s: Pick<StatsSession, 'videoCodec' | 'width' | 'height'>): string {
  const size = s.width !== null && s.height !== null ? `${s.width}x${s.height}` : '';
  return [s.videoCodec ?? '', size].filter((p) => p !== '').join(' ') || '<none>';
}

export function sessionRow(s: StatsSession): string[] {
  return [
    s.sessionId,
    time(s.startedAt),
    s.durationSeconds === null ? (s.endedAt === null ? 'live' : '<none>') : hms(s.durationSeconds),
    orNone(s.endReason),
    video(s),
    String(s.peakViewers),
    s.averageViewers === null ? '<none>' : figure(s.averageViewers),
  ];
}

export const sessionsTable = (items: readonly StatsSession[]): string =>
  items.length === 0 ? 'No sessions found.\n' : table(sessionsHeaders, items.map(sessionRow));

/** Pages until `limit` items or the last page; `fetchPage(pageLimit, continueToken)` asks the API for one. */
export async function collectSessions(
  limit: number,
  fetchPage: (pageLimit: number, cont: string | undefined) => Promise<SessionsAnswer>,
): Promise<SessionsAnswer> {
  const items: StatsSession[] = [];
  let page: SessionsAnswer | undefined;
  let cont: string | undefined;
  do {
    page = await fetchPage(Math.min(limit - items.length, maxSessionsPageSize), cont);
    items.push(...page.items.slice(0, limit - items.length));
    cont = page.continue;
  } while (cont !== undefined && items.length < limit && page.items.length > 0);
  const { continue: _last, ...head } = page;
  return { ...head, items, ...(cont !== undefined && { continue: cont }) };
}

export const sessionsCommand: Command = {
  name: 'sessions',
  usage: 'kubectl livestream sessions (NAME | --all) [--limit N] [--from RFC3339] [--to RFC3339]',
  summary: 'stored publish sessions, newest first',
  about:
    "A channel's (or with --all the namespace's) stored publish sessions, newest first, from the operator's stats API.",
  flags: [
    { name: 'all', help: 'every channel of the namespace instead of one' },
    { name: 'limit', value: 'N', help: `at most N sessions (default ${defaultSessionsPageSize}, pages followed)` },
    { name: 'from', value: 'RFC3339', help: 'sessions that started at or after' },
    { name: 'to', value: 'RFC3339', help: 'sessions that started before' },
    ...statsApiFlags,
    ...globalFlags,
  ],
  async run(ctx) {
    const limitText = one(ctx.args, 'limit');
    const limit = limitText === undefined ? defaultSessionsPageSize : positiveInt(limitText, 'limit', maxSessionsLimit);
    const { scope, range, base, token } = await statsCall(ctx, 'sessions');
    const answer = await collectSessions(limit, (pageLimit, cont) => {
      const query = { limit: String(pageLimit), ...range, continue: cont };
      return getAnswer(requestUrl(base, sessionsPath(scope), query), token, sessionsAnswerSchema);
    });
    ctx.out(serialized(answer, ctx.output) ?? sessionsTable(answer.items));
  },
};
