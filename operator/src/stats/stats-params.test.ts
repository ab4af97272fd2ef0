import { describe, expect, it } from 'vitest';
import { maxSessionsPageSize, maxStatsBuckets } from '../../../contract/src/stats-api.ts';
import {
  addBuckets,
  bucketStart,
  bucketStarts,
  decodeCursor,
  encodeCursor,
  parseRfc3339,
  parseSessionsParams,
  parseStatsParams,
} from './stats-params.ts';

const q = (s: string): URLSearchParams => new URLSearchParams(s);
const now = new Date('2026-12-02T17:05:00Z'); // a Wednesday
const iso = (d: Date): string => d.toISOString();

describe('buckets', () => {
  it('are UTC days, ISO weeks from Monday and calendar months', () => {
    const t = new Date('2026-03-01T23:59:59.999Z'); // a Sunday
    expect(iso(bucketStart('day', t))).toBe('2026-03-01T00:00:00.000Z');
    expect(iso(bucketStart('week', t))).toBe('2026-02-23T00:00:00.000Z');
    expect(iso(bucketStart('week', new Date('2026-02-23T00:00:00Z')))).toBe('2026-02-23T00:00:00.000Z');
    expect(iso(bucketStart('month', t))).toBe('2026-03-01T00:00:00.000Z');
    expect(iso(addBuckets('month', new Date('2026-01-01T00:00:00Z'), 1))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(addBuckets('month', new Date('2026-01-01T00:00:00Z'), -13))).toBe('2024-12-01T00:00:00.000Z');
    expect(iso(addBuckets('week', new Date('2026-02-23T00:00:00Z'), 1))).toBe('2026-03-02T00:00:00.000Z');
  });
  it('of a range end before its end, the last one partial', () => {
    const starts = bucketStarts('month', new Date('2026-01-01T00:00:00Z'), new Date('2026-03-01T00:00:01Z'));
    expect(starts.map(iso)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(bucketStarts('day', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'))).toEqual([]);
  });
});

describe('parseRfc3339', () => {
  it.each([
    ['2026-01-31T00:00:00Z', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31t10:20:30.5z', '2026-01-31T10:20:30.500Z'],
    ['2026-01-31T10:20:30+02:00', '2026-01-31T08:20:30.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, want) => expect(parseRfc3339(text)?.toISOString()).toBe(want));
  it.each([
    '2026-02-30T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-01-31',
    '2026-01-31T24:00:00Z',
    '2026-01-31 00:00:00Z',
    '2026-01-31T00:00:00',
    '1769817600',
    '2026-13-01T00:00:00Z',
    '2026-01-31T00:00:60Z',
    '',
  ])('refuses %j', (text) => expect(parseRfc3339(text)).toBeUndefined());
});

describe('parseStatsParams', () => {
  it('defaults to days, the last 30 of them up to now', () => {
    expect(parseStatsParams(q(''), now)).toEqual({
      ok: true,
      value: { interval: 'day', from: new Date('2026-11-03T00:00:00Z'), to: now },
    });
  });
  it('defaults to 12 weeks or 12 months up to now', () => {
    const week = parseStatsParams(q('interval=week'), now);
    expect(week.ok && [iso(week.value.from), bucketStarts('week', week.value.from, week.value.to).length]).toEqual([
      '2026-09-14T00:00:00.000Z',
      12,
    ]);
    const month = parseStatsParams(q('interval=month'), now);
    expect(month.ok && iso(month.value.from)).toBe('2026-01-01T00:00:00.000Z');
  });
  it('starts the range at the bucket that holds from, and ends it at to', () => {
    const r = parseStatsParams(q('interval=month&from=2026-02-10T12:00:00Z&to=2026-04-01T00:00:00Z'), now);
    expect(r).toEqual({
      ok: true,
      value: { interval: 'month', from: new Date('2026-02-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') },
    });
  });
  it.each([
    ['interval=hour', 'interval'],
    ['interval=day&interval=week', 'interval'],
    ['from=yesterday', 'from'],
    ['to=2026-02-30T00:00:00Z', 'to'],
    ['from=2026-12-03T00:00:00Z', 'from'], // after now: empty
    ['from=2026-05-01T00:00:00Z&to=2026-05-01T00:00:00Z', 'from'],
    ['interval=day&from=2020-01-01T00:00:00Z', 'from'], // more than 1,000 days
    ['limit=5', 'limit'], // not a stats parameter
  ])('%s: a 400 naming %s', (params, parameter) => {
    const r = parseStatsParams(q(params), now);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.parameter).toBe(parameter);
      expect(r.message.startsWith(`${parameter}: `)).toBe(true);
    }
  });
  it('allows exactly maxStatsBuckets buckets', () => {
    const from = addBuckets('day', bucketStart('day', now), 1 - maxStatsBuckets);
    expect(parseStatsParams(q(`from=${iso(from)}`), now).ok).toBe(true);
    expect(parseStatsParams(q(`from=${iso(addBuckets('day', from, -1))}`), now).ok).toBe(false);
  });
});

describe('parseSessionsParams', () => {
  it('defaults to 50 with no range and no cursor', () => {
    expect(parseSessionsParams(q(''))).toEqual({ ok: true, value: { limit: 50 } });
  });
  it('reads from, to, limit and continue', () => {
    const token = encodeCursor({ startedAtMicros: 1_764_662_400_123_456n, sessionId: 's-1' });
    const r = parseSessionsParams(q(`from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&limit=500&continue=${token}`));
    expect(r).toEqual({
      ok: true,
      value: {
        from: new Date('2026-01-01T00:00:00Z'),
        to: new Date('2026-02-01T00:00:00Z'),
        limit: maxSessionsPageSize,
        after: { startedAtMicros: 1_764_662_400_123_456n, sessionId: 's-1' },
      },
    });
  });
  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1e2', 'limit'],
    ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
    ['continue=not-a-token', 'continue'],
    [`continue=${Buffer.from('{"t":"1.5","id":"x"}').toString('base64url')}`, 'continue'],
    [`continue=${Buffer.from('{"t":"1","id":""}').toString('base64url')}`, 'continue'],
    [`continue=${Buffer.from('[1,2]').toString('base64url')}`, 'continue'],
    ['interval=day', 'interval'],
  ])('%s: a 400 naming %s', (params, parameter) => {
    const r = parseSessionsParams(q(params));
    expect(r.ok === false && r.parameter).toBe(parameter);
  });
});

describe('the continue token', () => {
  it('round-trips the exact start and any session id', () => {
    for (const c of [
      { startedAtMicros: 0n, sessionId: 'a' },
      { startedAtMicros: -1n, sessionId: 'ü/+=?&' },
      { startedAtMicros: 9_223_372_036_854_775_807n, sessionId: 'x'.repeat(512) },
    ]) {
      const token = encodeCursor(c);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a query string as is
      expect(decodeCursor(token)).toEqual(c);
    }
  });
});
