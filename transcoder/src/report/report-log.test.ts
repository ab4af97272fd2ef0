import { describe, expect, it } from 'vitest';
import { parseEvent, type EventDataByType } from '../../../contract/src/reports.ts';
import {
  maxReportLogPage,
  parseReportLogPage,
  parseReportLogQuery,
  reportLogQuery,
  type ReportLogCursor,
} from '../../../contract/src/report-log.ts';
import { ReportLog } from './report-log.ts';

const heartbeat: EventDataByType['heartbeat'] = {
  state: 'live',
  bitrateKbps: 900,
  fps: 30,
  width: 1280,
  height: 720,
  viewers: 2,
  bytesIn: 1000,
  segments: { '720p': 3 },
};
const started: EventDataByType['publish-started'] = { resumed: false, width: 1280, height: 720 };

function log(maxEntries = 100, boot = 'boot-a') {
  let now = 1_000;
  return new ReportLog({ namespace: 'ns', name: 'show', boot, maxEntries, now: () => (now += 10) });
}

/** Reads everything after `cursor`, page by page, as a poller does. */
function drain(l: ReportLog, cursor: ReportLogCursor, limit: number) {
  const seqs: number[] = [];
  let missed = 0;
  for (let round = 0; round < 10_000; round++) {
    const page = parseReportLogPage(JSON.parse(JSON.stringify(l.page(cursor, limit))));
    missed += page.missed;
    for (const fields of page.entries) seqs.push(parseEvent(fields).seq);
    cursor = { boot: page.boot, after: page.through };
    if (!page.more) return { seqs, missed, cursor };
  }
  throw new Error('pages never ended');
}

/** A seeded PRNG: the class of inputs is explored, the run stays reproducible. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe('ReportLog', () => {
  it('keeps each report as the protocol encodes it, with this process seq, time and channel', () => {
    const l = log();
    l.add('publish-started', 's1', started);
    l.add('heartbeat', 's1', heartbeat);
    const page = l.page({ boot: '', after: 0 });
    const events = page.entries.map((f) => parseEvent(f));
    expect(events.map((e) => [e.type, e.seq, e.namespace, e.name, e.session])).toEqual([
      ['publish-started', 1, 'ns', 'show', 's1'],
      ['heartbeat', 2, 'ns', 'show', 's1'],
    ]);
    expect(events[1]!.ts).toBeGreaterThan(events[0]!.ts);
    expect(events[1]!.data).toEqual(heartbeat);
    expect(page).toMatchObject({ boot: 'boot-a', through: 2, missed: 0, more: false });
  });

  it('answers only what follows the cursor of its own boot; another boot (a restarted process) reads from the start', () => {
    const l = log(100, 'boot-b');
    for (let i = 0; i < 5; i++) l.add('heartbeat', 's', heartbeat);
    const seqs = (cursor: ReportLogCursor) => l.page(cursor).entries.map((f) => parseEvent(f).seq);
    expect(seqs({ boot: 'boot-b', after: 3 })).toEqual([4, 5]);
    expect(seqs({ boot: 'boot-b', after: 5 })).toEqual([]);
    expect(seqs({ boot: 'boot-a', after: 3 })).toEqual([1, 2, 3, 4, 5]);
    expect(seqs({ boot: '', after: 4 })).toEqual([1, 2, 3, 4, 5]);
    // A cursor ahead of the log (not one it handed out) reads nothing, misses nothing and is brought back.
    expect(l.page({ boot: 'boot-b', after: 99 })).toMatchObject({ entries: [], missed: 0, through: 5 });
  });

  it('stays within its bound, dropping heartbeats before lifecycle reports, and says how many a reader missed', () => {
    const l = log(4);
    l.add('publish-started', 's', started); // 1
    for (let i = 0; i < 5; i++) l.add('heartbeat', 's', heartbeat); // 2..6
    l.add('publish-ended', 's', { reconnectWindowSeconds: 5, bytesIn: 10 }); // 7
    expect(l.length).toBe(4);
    expect(l.dropped).toBe(3);
    const page = l.page({ boot: 'boot-a', after: 0 });
    expect(page.entries.map((f) => parseEvent(f).seq)).toEqual([1, 5, 6, 7]);
    expect(page.missed).toBe(3);
    // A reader that had read up to 5 missed nothing.
    expect(l.page({ boot: 'boot-a', after: 5 })).toMatchObject({ missed: 0 });
  });

  it('pages a long log: every entry once, in seq order, for any bound, limit and mix of reports', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = random(seed);
      const bound = 1 + Math.floor(rand() * 50);
      const l = log(bound);
      let cursor: ReportLogCursor = { boot: '', after: 0 };
      const seen: number[] = [];
      let missed = 0;
      let made = 0;
      for (let step = 0; step < 30; step++) {
        const adds = Math.floor(rand() * 40);
        for (let i = 0; i < adds; i++) {
          if (rand() < 0.2) l.add('publish-refused', '', { reason: 'bad_key' });
          else l.add('heartbeat', 's', heartbeat);
          made++;
        }
        const read = drain(l, cursor, 1 + Math.floor(rand() * 20));
        seen.push(...read.seqs);
        missed += read.missed;
        cursor = read.cursor;
      }
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(new Set(seen).size).toBe(seen.length);
      // Every report made was either read or counted as missed.
      expect(seen.length + missed).toBe(made);
      expect(l.length).toBeLessThanOrEqual(bound);
    }
  });

  it('limits a page and says there is more', () => {
    const l = log(2 * maxReportLogPage);
    for (let i = 0; i < maxReportLogPage + 10; i++) l.add('heartbeat', 's', heartbeat);
    const first = l.page({ boot: 'boot-a', after: 0 }, 10_000);
    expect(first.entries).toHaveLength(maxReportLogPage);
    expect(first.more).toBe(true);
    expect(first.missed).toBe(0);
    const rest = l.page({ boot: 'boot-a', after: maxReportLogPage });
    expect(rest).toMatchObject({ more: false, missed: 0 });
    expect(rest.entries).toHaveLength(10);
  });
});

describe('the report log query', () => {
  it('round-trips a cursor, and takes any malformed value as the start', () => {
    const q = reportLogQuery({ boot: 'b-1', after: 42 }, 7);
    const parsed = parseReportLogQuery(new URL(q, 'http://x').searchParams);
    expect(parsed).toEqual({ cursor: { boot: 'b-1', after: 42 }, limit: 7 });
    for (const search of ['after=-1', 'after=1.5', 'after=abc', 'after=1e400', '']) {
      expect(parseReportLogQuery(new URLSearchParams(search)).cursor.after).toBe(0);
    }
    expect(parseReportLogQuery(new URLSearchParams('limit=0')).limit).toBe(1);
    expect(parseReportLogQuery(new URLSearchParams('limit=99999')).limit).toBe(maxReportLogPage);
  });

  it('refuses a body that is not a page, naming the field and not the content', () => {
    const good = { boot: 'b', through: 1, missed: 0, more: false, entries: [['type', 'heartbeat']] };
    expect(parseReportLogPage(good)).toEqual(good);
    expect(() => parseReportLogPage({ ...good, boot: '' })).toThrow(/boot/);
    expect(() => parseReportLogPage({ ...good, entries: [[1]] })).toThrow(/entries\.0\.0/);
    expect(() => parseReportLogPage({ ...good, through: -1 })).toThrow(/through/);
    expect(() => parseReportLogPage('secret-looking text')).toThrow(/not a report log page/);
    expect(() => parseReportLogPage('secret-looking text')).not.toThrow(/secret/);
  });
});
