import { describe, expect, it } from 'vitest';
import type { StatsAnswer, StatsSession } from '../../../contract/src/stats-api.ts';
import { collectSessions, sessionRow, sessionsTable, video } from './sessions.ts';
import { bucketLabel, intervalOf, statsTable } from './stats.ts';

const zero = { sessions: 0, liveSeconds: 0, viewerMinutes: 0, peakViewers: 0, bytesIn: 0 };

describe('stats table', () => {
  it('prints one row per bucket, empty ones included, and a TOTAL row', () => {
    const answer: StatsAnswer = {
      namespace: 'team',
      name: 'show',
      interval: 'day',
      from: '2026-12-01T00:00:00Z',
      to: '2026-12-03T00:00:00Z',
      totals: { sessions: 3, liveSeconds: 7322, viewerMinutes: 1234.5, peakViewers: 40, bytesIn: 3 * 1024 ** 3 },
      series: [
        {
          start: '2026-12-01T00:00:00Z',
          sessions: 3,
          liveSeconds: 7322,
          viewerMinutes: 1234.5,
          peakViewers: 40,
          bytesIn: 3 * 1024 ** 3,
        },
        { start: '2026-12-02T00:00:00Z', ...zero },
      ],
    };
    expect(statsTable(answer)).toBe(
      [
        'START        SESSIONS   LIVE      VIEWER-MINUTES   PEAK   BYTES-IN',
        '2026-12-01   3          2:02:02   1234.5           40     3.0GiB',
        '2026-12-02   0          0:00:00   0                0      0B',
        'TOTAL        3          2:02:02   1234.5           40     3.0GiB',
        '',
      ].join('\n'),
    );
  });
  it('labels days and weeks by date and months by YYYY-MM', () => {
    expect(bucketLabel('2026-11-30T00:00:00Z', 'week')).toBe('2026-11-30');
    expect(bucketLabel('2026-12-01T00:00:00.000Z', 'month')).toBe('2026-12');
  });
  it('takes the contract intervals only', () => {
    expect(intervalOf(undefined)).toBe('day');
    expect(intervalOf('month')).toBe('month');
    expect(() => intervalOf('year')).toThrow('--interval must be one of day, week, month');
  });
});

const session = (over: Partial<StatsSession> = {}): StatsSession => ({
  sessionId: 's-1',
  namespace: 'team',
  name: 'show',
  startedAt: '2026-12-01T10:00:00.000Z',
  endedAt: '2026-12-01T11:00:05.000Z',
  durationSeconds: 3605,
  endReason: 'publisherLeft',
  videoCodec: 'h264',
  audioCodec: 'aac',
  width: 1280,
  height: 720,
  bitrateKbps: 3000,
  bytesIn: 10,
  peakViewers: 12,
  averageViewers: 4.25,
  viewerMinutes: 255,
  relays: {},
  recordingUris: [],
  ...over,
});

describe('sessions table', () => {
  it('prints a row per session with codec WxH and h:mm:ss', () => {
    expect(sessionRow(session())).toEqual([
      's-1',
      '2026-12-01T10:00:00Z',
      '1:00:05',
      'publisherLeft',
      'h264 1280x720',
      '12',
      '4.25',
    ]);
  });
  it('shows a live session and unknown figures as such', () => {
    const live = session({ endedAt: null, durationSeconds: null, endReason: null, averageViewers: null });
    expect(sessionRow(live)).toEqual([
      's-1',
      '2026-12-01T10:00:00Z',
      'live',
      '<none>',
      'h264 1280x720',
      '12',
      '<none>',
    ]);
    expect(video({ videoCodec: null, width: null, height: null })).toBe('<none>');
    expect(video({ videoCodec: 'hevc', width: null, height: 720 })).toBe('hevc');
  });
  it('says so when there are none', () => {
    expect(sessionsTable([])).toBe('No sessions found.\n');
  });
});

describe('collectSessions', () => {
  const pages = (sizes: number[]) => {
    const asked: [number, string | undefined][] = [];
    let n = 0;
    const fetchPage = (limit: number, cont: string | undefined) => {
      asked.push([limit, cont]);
      const i = cont === undefined ? 0 : Number(cont);
      const size = Math.min(sizes[i] ?? 0, limit);
      const items = Array.from({ length: size }, () => session({ sessionId: `s-${n++}` }));
      return Promise.resolve({ namespace: 'team', items, ...(i + 1 < sizes.length && { continue: String(i + 1) }) });
    };
    return { asked, fetchPage };
  };
  it('follows continue until the limit, asking each page for what is left', async () => {
    const p = pages([500, 500, 500]);
    const answer = await collectSessions(1200, p.fetchPage);
    expect(answer.items).toHaveLength(1200);
    expect(p.asked).toEqual([
      [500, undefined],
      [500, '1'],
      [200, '2'],
    ]);
    expect(answer.continue).toBe(undefined);
  });
  it('stops at the last page, and keeps continue when the limit cut it short', async () => {
    expect((await collectSessions(50, pages([3, 2]).fetchPage)).items).toHaveLength(5);
    const cut = await collectSessions(2, pages([2, 2]).fetchPage);
    expect(cut.items.map((s) => s.sessionId)).toEqual(['s-0', 's-1']);
    expect(cut.continue).toBe('1');
  });
});
