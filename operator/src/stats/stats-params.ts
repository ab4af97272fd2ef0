// The stats API's query parameters (contract/src/stats-api.ts), parsed into typed queries or a 400 naming the
// parameter. Pure: the clock comes in as `now`. Buckets are UTC calendar days, ISO weeks (Monday) and months; the
// bucket arithmetic here is what stats-queries.ts's generate_series produces (same starts, same count).
import {
  defaultSessionsPageSize,
  maxSessionsPageSize,
  maxStatsBuckets,
  statsIntervals,
  type StatsInterval,
} from '../../../contract/src/stats-api.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; parameter: string; message: string };

export interface StatsQuery {
  interval: StatsInterval;
  /** the first bucket's start */
  from: Date;
  /** the end of the range, exclusive */
  to: Date;
}

/** Where the previous page stopped: the last session's start (microseconds since the epoch, exact) and id. */
export interface SessionsCursor {
  startedAtMicros: bigint;
  sessionId: string;
}

export interface SessionsQuery {
  /** on the session's start, inclusive */
  from?: Date;
  /** on the session's start, exclusive */
  to?: Date;
  limit: number;
  after?: SessionsCursor;
}

const dayMs = 86_400_000;
/** How many buckets the default range of each interval spans (the current one included). */
const defaultBuckets: Record<StatsInterval, number> = { day: 30, week: 12, month: 12 };

/** The start of the UTC bucket that holds `t`. */
export function bucketStart(interval: StatsInterval, t: Date): Date {
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  if (interval === 'month') return new Date(Date.UTC(y, m, 1));
  const day = Date.UTC(y, m, t.getUTCDate());
  if (interval === 'day') return new Date(day);
  return new Date(day - ((t.getUTCDay() + 6) % 7) * dayMs); // ISO weeks start on Monday
}

/** `start` moved by `n` buckets (n may be negative); `start` is a bucket start. */
export function addBuckets(interval: StatsInterval, start: Date, n: number): Date {
  if (interval === 'month') return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + n, 1));
  return new Date(start.getTime() + n * (interval === 'week' ? 7 : 1) * dayMs);
}

/** The bucket starts of [from, to), `from` a bucket start: what the series of an answer has, in order. */
export function bucketStarts(interval: StatsInterval, from: Date, to: Date, max = maxStatsBuckets + 1): Date[] {
  const starts: Date[] = [];
  for (let b = from; b < to && starts.length < max; b = addBuckets(interval, from, starts.length)) starts.push(b);
  return starts;
}

// RFC 3339 date-time (section 5.6): a full date, T, a time with optional fraction, Z or an offset.
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time, or undefined when `text` is not one (a 31st of February included). */
export function parseRfc3339(text: string): Date | undefined {
  const m = rfc3339.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const calendar = new Date(Date.UTC(y, mo - 1, d));
  // Date.parse rolls 2026-02-30 over to March: check that the date names a real day, and the time is in range.
  if (calendar.getUTCFullYear() !== y || calendar.getUTCMonth() !== mo - 1 || calendar.getUTCDate() !== d)
    return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined; // no leap seconds: a JS Date has none
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

const bad = (parameter: string, message: string): { ok: false; parameter: string; message: string } => ({
  ok: false,
  parameter,
  message: `${parameter}: ${message}`,
});

/** A parameter given once at most (a repeated one is ambiguous, so refused). */
function single(params: URLSearchParams, name: string): Parsed<string | undefined> {
  const all = params.getAll(name);
  if (all.length > 1) return bad(name, 'given more than once');
  return { ok: true, value: all[0] };
}

function time(params: URLSearchParams, name: string): Parsed<Date | undefined> {
  const raw = single(params, name);
  if (!raw.ok || raw.value === undefined) return raw as Parsed<undefined>;
  const t = parseRfc3339(raw.value);
  if (t === undefined) return bad(name, `${JSON.stringify(raw.value)} is not an RFC 3339 time (2026-01-31T00:00:00Z)`);
  return { ok: true, value: t };
}

const statsParameters = new Set(['interval', 'from', 'to']);
const sessionsParameters = new Set(['from', 'to', 'limit', 'continue']);

function unknownParameter(params: URLSearchParams, known: Set<string>): string | undefined {
  for (const k of params.keys()) if (!known.has(k)) return k;
  return undefined;
}

/** interval, from, to: the range defaults to the last 30 days, 12 weeks or 12 months up to `now`. */
export function parseStatsParams(params: URLSearchParams, now: Date): Parsed<StatsQuery> {
  const unknown = unknownParameter(params, statsParameters);
  if (unknown !== undefined) return bad(unknown, `unknown parameter (known: ${[...statsParameters].join(', ')})`);
  const rawInterval = single(params, 'interval');
  if (!rawInterval.ok) return rawInterval;
  const interval = (rawInterval.value ?? 'day') as StatsInterval;
  if (!statsIntervals.includes(interval))
    return bad('interval', `${JSON.stringify(rawInterval.value)} is not one of ${statsIntervals.join(', ')}`);
  const from = time(params, 'from');
  if (!from.ok) return from;
  const to = time(params, 'to');
  if (!to.ok) return to;
  const end = to.value ?? now;
  const start = bucketStart(
    interval,
    from.value ?? addBuckets(interval, bucketStart(interval, end), 1 - defaultBuckets[interval]),
  );
  if (start >= end) return bad(from.value ? 'from' : 'to', 'the range is empty: from must be before to');
  const buckets = bucketStarts(interval, start, end).length;
  if (buckets > maxStatsBuckets)
    return bad(
      'from',
      `the range spans more than ${maxStatsBuckets} ${interval} buckets: narrow it or use a longer interval`,
    );
  return { ok: true, value: { interval, from: start, to: end } };
}

/** The opaque `continue` token of a page that stopped at this session. */
export function encodeCursor(c: SessionsCursor): string {
  return Buffer.from(JSON.stringify({ t: c.startedAtMicros.toString(), id: c.sessionId })).toString('base64url');
}

const maxSessionIdLength = 512;

export function decodeCursor(token: string): SessionsCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(token)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { t, id } = v as { t?: unknown; id?: unknown };
  if (typeof t !== 'string' || !/^-?\d{1,19}$/.test(t)) return undefined;
  if (typeof id !== 'string' || id.length === 0 || id.length > maxSessionIdLength) return undefined;
  return { startedAtMicros: BigInt(t), sessionId: id };
}

/** from, to (on the start), limit (1..500, default 50), continue. */
export function parseSessionsParams(params: URLSearchParams): Parsed<SessionsQuery> {
  const unknown = unknownParameter(params, sessionsParameters);
  if (unknown !== undefined) return bad(unknown, `unknown parameter (known: ${[...sessionsParameters].join(', ')})`);
  const from = time(params, 'from');
  if (!from.ok) return from;
  const to = time(params, 'to');
  if (!to.ok) return to;
  if (from.value && to.value && from.value >= to.value)
    return bad('from', 'the range is empty: from must be before to');
  const rawLimit = single(params, 'limit');
  if (!rawLimit.ok) return rawLimit;
  const limit = rawLimit.value === undefined ? defaultSessionsPageSize : Number(rawLimit.value);
  if (rawLimit.value !== undefined && (!/^\d{1,4}$/.test(rawLimit.value) || limit < 1 || limit > maxSessionsPageSize))
    return bad('limit', `${JSON.stringify(rawLimit.value)} is not a whole number from 1 to ${maxSessionsPageSize}`);
  const rawContinue = single(params, 'continue');
  if (!rawContinue.ok) return rawContinue;
  const query: SessionsQuery = { limit };
  if (from.value) query.from = from.value;
  if (to.value) query.to = to.value;
  if (rawContinue.value !== undefined) {
    const after = decodeCursor(rawContinue.value);
    if (!after) return bad('continue', "not a token this API gave (pass back the previous page's continue as is)");
    query.after = after;
  }
  return { ok: true, value: query };
}
