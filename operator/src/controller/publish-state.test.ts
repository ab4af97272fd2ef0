import { describe, expect, it } from 'vitest';
import {
  eventTypes,
  type AnyEvent,
  type EventDataByType,
  type EventType,
  type HeartbeatData,
  type RelayStateData,
  type TranscoderEvent,
} from '../../../contract/src/reports.ts';
import {
  applyReport,
  expireSession,
  maxSessionHistory,
  observationFromStatus,
  publishPhase,
  reducers,
  transcoderLostReason,
  type PublishObservation,
} from './publish-state.ts';

const t0 = Date.parse('2026-11-21T12:00:00Z');
function ev<T extends EventType>(
  type: T,
  seq: number,
  tsOffset: number,
  data: EventDataByType[T],
  session = 's1',
): TranscoderEvent<T> {
  return { type, namespace: 'ns', name: 'show', session, seq, ts: t0 + tsOffset, data };
}
const hb = (
  seq: number,
  at: number,
  state: HeartbeatData['state'],
  more: Partial<HeartbeatData> = {},
  session = 's1',
) =>
  ev(
    'heartbeat',
    seq,
    at,
    {
      state,
      bitrateKbps: 900,
      fps: 30,
      width: 640,
      height: 360,
      viewers: 0,
      bytesIn: seq * 1000,
      segments: {},
      ...more,
    },
    session,
  );
const started = (seq: number, at: number, session = 's1', more: Partial<EventDataByType['publish-started']> = {}) =>
  ev('publish-started', seq, at, { resumed: false, ...more }, session);
const ended = (seq: number, at: number, session = 's1', duration = 10) =>
  ev('session-ended', seq, at, { duration, bytesIn: 5000, peakViewers: 7, reason: 'window-expired' }, session);
const failed = (seq: number, at: number, restarts: number, message?: string) =>
  ev('ffmpeg-failed', seq, at, { exitCode: 1, signal: null, restarts, ...(message ? { message } : {}) });
const relay = (name: string, state: RelayStateData['state'], sinceS: number, lastError?: string): RelayStateData => ({
  name,
  state,
  bytesOut: sinceS * 10,
  since: new Date(t0 + sinceS * 1000).toISOString(),
  ...(lastError ? { lastError } : {}),
});

function fold(events: AnyEvent[], from?: PublishObservation): PublishObservation {
  let obs = from;
  for (const e of events) obs = applyReport(obs, e).obs;
  if (!obs) throw new Error('no events');
  return obs;
}
const live = (extra: AnyEvent[] = []) => fold([started(1, 0), hb(2, 5_000, 'live', { viewers: 4 }), ...extra]);

describe('the reducer table', () => {
  it('has one reducer per report type', () => {
    expect(Object.keys(reducers).sort()).toEqual([...eventTypes].sort());
  });

  it.each(eventTypes)('does not mutate the observation it folds a %s into', (type) => {
    const prev = live([failed(3, 6_000, 1)]);
    const copy = structuredClone(prev);
    const samples: { [K in EventType]: AnyEvent } = {
      'publish-started': started(10, 9_000, 's2'),
      'publish-ended': ev('publish-ended', 10, 9_000, { reconnectWindowSeconds: 5, bytesIn: 1 }),
      'session-ended': ended(10, 9_000),
      'publish-refused': ev('publish-refused', 10, 9_000, { reason: 'busy' }),
      'ffmpeg-failed': failed(10, 9_000, 2),
      heartbeat: hb(10, 9_000, 'idle'),
      'relay-state': ev('relay-state', 1, 9_000, relay('yt', 'Active', 9), ''),
      'relay-heartbeat': ev('relay-heartbeat', 1, 9_000, { relays: [] }, ''),
      'recording-progress': ev('recording-progress', 1, 9_000, {
        track: '360p',
        uploaded: 1,
        lastSequence: 1,
        pending: 0,
        spoolBytes: 0,
        dropped: 0,
      }),
      'recording-failed': ev('recording-failed', 1, 9_000, {
        reason: 'spool-full',
        message: 'x',
        pending: 1,
        dropped: 1,
      }),
    };
    applyReport(prev, samples[type]);
    expect(prev).toEqual(copy);
  });
});

describe('publish-started', () => {
  it('opens a new session: live, figures from the source, a zero baseline for segments, the ladder', () => {
    const r = applyReport(undefined, started(1, 0, 's1', { width: 640, height: 360, fps: 30, ladder: '0123456789ab' }));
    expect(r.transition).toEqual({ kind: 'started', session: 's1' });
    expect(r.obs).toMatchObject({
      state: 'live',
      session: 's1',
      sessionStartedAt: t0,
      lastReportAt: t0,
      lastSeq: 1,
      segments: {},
      ladder: '0123456789ab',
      figures: { width: 640, height: 360, fps: 30, bitrateKbps: 0, viewers: 0 },
    });
  });

  it('resumes the same session after the publisher left: window closed, start and failures kept', () => {
    const before = live([
      failed(3, 6_000, 1),
      ev('publish-ended', 4, 7_000, { reconnectWindowSeconds: 30, bytesIn: 5000 }),
    ]);
    const r = applyReport(before, started(5, 9_000, 's1', { resumed: true, ladder: 'abcdefabcdef' }));
    expect(r.transition).toEqual({ kind: 'none' });
    expect(r.obs.state).toBe('live');
    expect(r.obs.publishEndedAt).toBeUndefined();
    expect(r.obs.sessionStartedAt).toBe(t0);
    expect(r.obs.ffmpeg?.failures).toBe(1);
    expect(r.obs.peakViewers).toBe(4);
    expect(r.obs.ladder).toBe('abcdefabcdef');
  });

  it('starts the next session afresh: no failures, growth, peak or ladder of the previous one', () => {
    const before = live([
      hb(3, 6_000, 'live', { segments: { '360p': 2 }, ladder: '0123456789ab', viewers: 9 }),
      failed(4, 7_000, 3),
      ended(5, 8_000),
    ]);
    const r = applyReport(before, started(6, 20_000, 's2'));
    expect(r.transition).toEqual({ kind: 'started', session: 's2' });
    expect(r.obs).toMatchObject({ session: 's2', sessionStartedAt: t0 + 20_000, peakViewers: 0, segments: {} });
    expect(r.obs.ffmpeg).toBeUndefined();
    expect(r.obs.segmentsGrewAt).toBeUndefined();
    expect(r.obs.ladder).toBeUndefined();
  });

  it('announces no start for a resumed publish of a session it had not seen', () => {
    expect(applyReport(undefined, started(1, 0, 's1', { resumed: true })).transition).toEqual({ kind: 'none' });
  });

  it('ignores a late or repeated one', () => {
    const before = live();
    expect(applyReport(before, started(1, 0))).toEqual({ obs: before, transition: { kind: 'none' } });
  });
});

describe('why the top rung is encoded (passthroughRefused)', () => {
  const source = { videoCodec: 'h264', width: 640, height: 360, fps: 30 };
  const refused = 'keyframe interval 10 s exceeds segment 2 s';
  it.each<[string, AnyEvent[], string | undefined]>([
    ['said at the start', [started(1, 0, 's1', { ...source, passthroughRefused: refused })], refused],
    ['absent: passed through', [started(1, 0, 's1', source)], undefined],
    [
      'kept by a start that does not know the source yet',
      [started(1, 0, 's1', { ...source, passthroughRefused: refused }), started(2, 1_000, 's1', { resumed: true })],
      refused,
    ],
    [
      'cleared by a returning source that is passed through',
      [
        started(1, 0, 's1', { ...source, passthroughRefused: refused }),
        started(2, 9_000, 's1', { ...source, resumed: true }),
      ],
      undefined,
    ],
    [
      'replaced by the returning source',
      [
        started(1, 0, 's1', { ...source, passthroughRefused: refused }),
        started(2, 9_000, 's1', { ...source, resumed: true, passthroughRefused: 'profile High 10' }),
      ],
      'profile High 10',
    ],
    ['taken from a heartbeat', [started(1, 0), hb(2, 5_000, 'live', { passthroughRefused: refused })], refused],
    [
      'kept while reconnecting',
      [started(1, 0), hb(2, 5_000, 'reconnecting', { passthroughRefused: refused })],
      refused,
    ],
    [
      'cleared by a heartbeat without one',
      [started(1, 0, 's1', { ...source, passthroughRefused: refused }), hb(2, 5_000, 'live')],
      undefined,
    ],
    [
      'dropped when the session ends',
      [started(1, 0, 's1', { ...source, passthroughRefused: refused }), ended(2, 5_000)],
      undefined,
    ],
    [
      'dropped by an idle heartbeat',
      [started(1, 0, 's1', { ...source, passthroughRefused: refused }), hb(2, 5_000, 'idle')],
      undefined,
    ],
    [
      'not carried into the next session',
      [started(1, 0, 's1', { ...source, passthroughRefused: refused }), started(2, 5_000, 's2', source)],
      undefined,
    ],
    [
      'not moved back by a late report',
      [started(1, 0, 's1', source), hb(3, 5_000, 'live'), hb(2, 4_000, 'live', { passthroughRefused: refused })],
      undefined,
    ],
  ])('%s', (_, events, expected) => {
    expect(fold(events).passthroughRefused).toBe(expected);
  });
});

describe('publish-ended', () => {
  it('opens the reconnect window: no bitrate nor fps, the bytes so far', () => {
    const obs = applyReport(live(), ev('publish-ended', 3, 8_000, { reconnectWindowSeconds: 30, bytesIn: 5000 })).obs;
    expect(obs).toMatchObject({ state: 'reconnecting', publishEndedAt: t0 + 8_000, reconnectWindowSeconds: 30 });
    expect(obs.figures).toMatchObject({ bitrateKbps: 0, fps: 0, bytesIn: 5000, width: 640 });
  });
});

describe('heartbeat', () => {
  it('takes the figures and the peak viewers while live', () => {
    const obs = live([hb(3, 10_000, 'live', { viewers: 2, bitrateKbps: 1200 })]);
    expect(obs.figures).toEqual({ bitrateKbps: 1200, fps: 30, width: 640, height: 360, viewers: 2, bytesIn: 3000 });
    expect(obs.peakViewers).toBe(4);
  });

  it.each([
    ['a count grew', { '360p': 3, '180p': 3 }, t0 + 15_000],
    ['a rendition appeared', { '360p': 2, '180p': 3, audio: 1 }, t0 + 15_000],
    ['no count grew', { '360p': 2, '180p': 3 }, t0 + 10_000],
  ])('sets segmentsGrewAt when %s', (_what, segments, expected) => {
    const obs = live([
      hb(3, 10_000, 'live', { segments: { '360p': 2, '180p': 3 } }),
      hb(4, 15_000, 'live', { segments }),
    ]);
    expect(obs.segmentsGrewAt).toBe(expected);
    expect(obs.segments).toEqual(segments);
  });

  it('needs a baseline: the first heartbeat of a session seen without its start proves no growth', () => {
    const first = fold([hb(10, 0, 'live', { segments: { '360p': 50 } })]);
    expect(first).toMatchObject({ session: 's1', sessionStartedAt: t0, state: 'live' });
    expect(first.segmentsGrewAt).toBeUndefined();
    expect(fold([hb(11, 5_000, 'live', { segments: { '360p': 52 } })], first).segmentsGrewAt).toBe(t0 + 5_000);
  });

  it('opens a session it had not seen, afresh', () => {
    const obs = live([failed(3, 6_000, 2), hb(4, 10_000, 'live', { viewers: 1 }, 's2')]);
    expect(obs).toMatchObject({ session: 's2', sessionStartedAt: t0 + 10_000, peakViewers: 1 });
    expect(obs.ffmpeg).toBeUndefined();
  });

  it('takes the ladder, and keeps it when a heartbeat carries none', () => {
    const obs = live([hb(3, 10_000, 'live', { ladder: '0123456789ab' })]);
    expect(obs.ladder).toBe('0123456789ab');
    expect(fold([hb(4, 15_000, 'live')], obs).ladder).toBe('0123456789ab');
  });

  it('closes the session when idle, keeping the viewers and the last failures', () => {
    const obs = live([
      hb(3, 6_000, 'live', { segments: { a: 1 }, ladder: '0123456789ab' }),
      failed(4, 7_000, 1),
      hb(5, 10_000, 'idle', { viewers: 3 }),
    ]);
    expect(obs).toMatchObject({ state: 'idle', session: '', peakViewers: 0 });
    expect(obs.figures).toEqual({ bitrateKbps: 0, fps: 0, width: 0, height: 0, viewers: 3, bytesIn: 0 });
    expect(obs.ffmpeg?.failures).toBe(1);
    for (const gone of ['sessionStartedAt', 'segments', 'segmentsGrewAt', 'ladder'] as const) {
      expect(obs[gone]).toBeUndefined();
    }
  });

  it('ignores a stale one, and trusts a restarted transcoder (seq from 1, later ts)', () => {
    const before = live([hb(3, 10_000, 'live')]);
    expect(applyReport(before, hb(2, 5_000, 'idle')).obs).toBe(before);
    expect(applyReport(before, hb(2, 10_000, 'idle')).obs).toBe(before);
    expect(applyReport(fold([hb(900, 10_000, 'live')]), hb(1, 11_000, 'idle')).obs.state).toBe('idle');
  });
});

describe('ffmpeg-failed', () => {
  it.each([
    [3, 'Invalid data found when processing input', 'ffmpeg exited (code 1): Invalid data found when processing input'],
    [1, undefined, 'ffmpeg exited (code 1)'],
  ])('counts %i failures of the session with how it exited', (restarts, message, expected) => {
    const r = applyReport(live(), failed(3, 6_000, restarts, message));
    expect(r.obs.ffmpeg).toEqual({ failures: restarts, lastAt: t0 + 6_000, message: expected });
    expect(r.transition).toEqual({ kind: 'ffmpeg-failed', message: `ffmpeg exited (code 1), restart ${restarts}` });
    expect(r.obs.state).toBe('live');
  });

  it('names the signal when killed by one', () => {
    const r = applyReport(live(), ev('ffmpeg-failed', 3, 6_000, { exitCode: null, signal: 'SIGSEGV', restarts: 1 }));
    expect(r.obs.ffmpeg?.message).toBe('ffmpeg exited (SIGSEGV)');
  });

  it('ignores a repeat', () => {
    const before = live([failed(3, 6_000, 1)]);
    expect(applyReport(before, failed(3, 6_000, 1))).toEqual({ obs: before, transition: { kind: 'none' } });
  });
});

describe('session-ended', () => {
  it('closes the session into the history, once', () => {
    const r = applyReport(live([failed(3, 6_000, 2)]), ended(4, 38_000, 's1', 38));
    expect(r.obs).toMatchObject({ state: 'idle', session: '', peakViewers: 0, lastReportAt: t0 + 38_000 });
    expect(r.obs.ffmpeg?.failures).toBe(2);
    const summary = {
      id: 's1',
      startedAt: '2026-11-21T12:00:00Z',
      endedAt: '2026-11-21T12:00:38Z',
      durationSeconds: 38,
      peakViewers: 7,
      bytesIn: 5000,
      endReason: 'window-expired',
    };
    expect(r.transition).toEqual({ kind: 'ended', summary });
    expect(r.obs.ended).toEqual([summary]);
    const again = applyReport(r.obs, ended(4, 38_000, 's1', 38));
    expect(again.transition).toEqual({ kind: 'none' });
    expect(again.obs.ended).toHaveLength(1);
  });

  it('adds a late one to the history without moving the state', () => {
    const before = live([hb(3, 10_000, 'live')]);
    const r = applyReport(before, ended(1, -60_000, 's0'));
    expect(r.obs.state).toBe('live');
    expect(r.obs.lastReportAt).toBe(before.lastReportAt);
    expect(r.obs.ended.map((s) => s.id)).toEqual(['s0']);
    expect(r.transition).toEqual({ kind: 'none' });
  });

  it(`keeps the newest ${maxSessionHistory} sessions, newest first`, () => {
    const events = Array.from({ length: maxSessionHistory + 5 }, (_, i) => ended(i + 1, i * 60_000, `s${i}`));
    const obs = fold(events.reverse());
    expect(obs.ended).toHaveLength(maxSessionHistory);
    expect(obs.ended[0]?.id).toBe(`s${maxSessionHistory + 4}`);
    expect(obs.ended.at(-1)?.id).toBe('s5');
  });
});

describe('publish-refused', () => {
  it('counts refused publishes by reason, late ones too, without moving the clock back', () => {
    const r = applyReport(undefined, ev('publish-refused', 5, 10_000, { reason: 'bad_key' }, ''));
    expect(r.transition).toEqual({ kind: 'refused', reason: 'bad_key' });
    const late = applyReport(r.obs, ev('publish-refused', 1, 0, { reason: 'bad_key' }, ''));
    expect(late.obs.refused).toEqual({ bad_key: 2 });
    expect(late.obs.lastReportAt).toBe(t0 + 10_000);
    expect(fold([ev('publish-refused', 6, 11_000, { reason: 'busy' }, '')], late.obs).refused).toEqual({
      bad_key: 2,
      busy: 1,
    });
  });
});

describe('relay-state', () => {
  const state = (r: RelayStateData) => ev('relay-state', 1, 0, r, '');
  it.each([
    ['a new relay', undefined, relay('yt', 'Active', 10), { kind: 'relay', name: 'yt', from: undefined, to: 'Active' }],
    [
      'a relay that fails',
      relay('yt', 'Active', 10),
      relay('yt', 'Retrying', 20, 'Connection refused'),
      { kind: 'relay', name: 'yt', from: 'Active', to: 'Retrying', lastError: 'Connection refused' },
    ],
    ['the same state again', relay('yt', 'Active', 10), relay('yt', 'Active', 20), { kind: 'none' }],
  ])('announces %s', (_what, before, now, transition) => {
    const prev = before ? fold([state(before)]) : undefined;
    const r = applyReport(prev, state(now));
    expect(r.transition).toEqual(transition);
    expect(r.obs.relays.yt).toEqual(now);
    expect(r.obs.lastReportAt).toBe(prev?.lastReportAt ?? 0);
  });

  it('does not move a relay back to an older state', () => {
    const before = fold([state(relay('yt', 'Retrying', 20))]);
    expect(applyReport(before, state(relay('yt', 'Active', 10)))).toEqual({
      obs: before,
      transition: { kind: 'none' },
    });
  });
});

describe('relay-heartbeat', () => {
  it('lists every configured relay: drops removed ones, keeps a newer state it holds, announces nothing', () => {
    const before = fold([
      ev('relay-state', 1, 0, relay('yt', 'Retrying', 20), ''),
      ev('relay-state', 2, 0, relay('twitch', 'Active', 5), ''),
    ]);
    const r = applyReport(
      before,
      ev('relay-heartbeat', 3, 0, { relays: [relay('yt', 'Active', 10), relay('kick', 'Connecting', 30)] }, ''),
    );
    expect(r.transition).toEqual({ kind: 'none' });
    expect(r.obs.relays).toEqual({ yt: relay('yt', 'Retrying', 20), kick: relay('kick', 'Connecting', 30) });
  });
});

describe('recording reports', () => {
  const progress = (at: number, uploaded: number, session = 's1') =>
    ev(
      'recording-progress',
      1,
      at,
      { track: '360p', uploaded, lastSequence: uploaded, pending: 1, spoolBytes: 9, dropped: 0 },
      session,
    );
  const fail = (at: number, session = 's1') =>
    ev('recording-failed', 1, at, { reason: 'upload-failed', message: 'HTTP 503', pending: 4, dropped: 1 }, session);

  it('takes progress, and ignores older progress of the same session', () => {
    const obs = fold([progress(10_000, 3)]);
    expect(obs.recording).toEqual({ session: 's1', uploaded: 3, pending: 1, dropped: 0, lastProgressAt: t0 + 10_000 });
    expect(applyReport(obs, progress(5_000, 2)).obs).toBe(obs);
    expect(applyReport(obs, progress(5_000, 1, 's2')).obs.recording?.session).toBe('s2');
  });

  it('records a failure with what was uploaded, and a later progress clears it', () => {
    const obs = fold([progress(10_000, 3), fail(12_000, '')]);
    expect(obs.recording).toEqual({
      session: 's1',
      uploaded: 3,
      pending: 4,
      dropped: 1,
      failedAt: t0 + 12_000,
      lastError: 'HTTP 503',
      lastProgressAt: t0 + 12_000,
    });
    expect(fold([progress(13_000, 4)], obs).recording?.failedAt).toBeUndefined();
  });
});

describe('expireSession', () => {
  const ttl = 15_000;
  // Started at t0, last heard of at t0 + 40 s with 4 peak viewers and 3000 bytes in.
  const open = live([hb(3, 40_000, 'live')]);

  it('closes a live session whose transcoder fell silent, at its last report, as TranscoderLost', () => {
    const r = expireSession(open, t0 + 40_000 + ttl + 1, ttl);
    const summary = {
      id: 's1',
      startedAt: '2026-11-21T12:00:00Z',
      endedAt: '2026-11-21T12:00:40Z',
      durationSeconds: 40,
      peakViewers: 4,
      bytesIn: 3000,
      endReason: transcoderLostReason,
    };
    expect(r.transition).toEqual({ kind: 'ended', summary });
    expect(r.obs).toMatchObject({ state: 'idle', session: '', lastReportAt: open.lastReportAt, ended: [summary] });
    expect(publishPhase(r.obs, t0 + 40_000 + ttl + 1, ttl).phase).toBe('stale');
  });

  it('closes a session in its reconnect window too', () => {
    const reconnecting = fold([ev('publish-ended', 4, 41_000, { reconnectWindowSeconds: 60, bytesIn: 3500 })], open);
    const r = expireSession(reconnecting, t0 + 41_000 + ttl + 1, ttl);
    expect(r.obs.ended[0]).toMatchObject({ id: 's1', durationSeconds: 41, bytesIn: 3500, endReason: 'TranscoderLost' });
  });

  it.each([
    ['within the TTL', open, t0 + 40_000 + ttl],
    ['an idle transcoder', live([hb(3, 40_000, 'idle')]), t0 + 100_000],
    ['a session that ended', live([ended(3, 40_000)]), t0 + 100_000],
  ])('leaves %s alone', (_what, obs, now) => {
    expect(expireSession(obs, now, ttl)).toEqual({ obs, transition: { kind: 'none' } });
  });

  it('ignores the real session-ended arriving later for the same session', () => {
    const expired = expireSession(open, t0 + 100_000, ttl).obs;
    const r = applyReport(expired, ended(4, 101_000, 's1', 101));
    expect(r.transition).toEqual({ kind: 'none' });
    expect(r.obs.ended).toEqual(expired.ended);
    expect(r.obs.state).toBe('idle');
  });
});

describe('a transcoder restarted within the heartbeat TTL (kill -9, OOM: the container came back)', () => {
  const open = () => live([hb(3, 10_000, 'live', { viewers: 6 })]);

  it.each([
    ['an idle heartbeat', hb(1, 12_000, 'idle'), 'idle', ''],
    ['a heartbeat of another session', hb(1, 12_000, 'live', {}, 's2'), 'live', 's2'],
    ['the start of another session', started(1, 12_000, 's2'), 'live', 's2'],
  ] as const)('closes the open session as lost on %s, at its last report', (_what, report, state, session) => {
    const step = applyReport(open(), report);
    expect(step.obs).toMatchObject({ state, session });
    const lost = step.obs.ended.find((s) => s.id === 's1');
    expect(lost).toEqual({
      id: 's1',
      startedAt: '2026-11-21T12:00:00Z',
      endedAt: '2026-11-21T12:00:10Z',
      durationSeconds: 10,
      peakViewers: 6,
      bytesIn: 3000,
      endReason: transcoderLostReason,
    });
    // The report's own transition (a new session started) wins; otherwise the loss is announced.
    expect(step.transition.kind).toBe(report.type === 'publish-started' ? 'started' : 'ended');
  });

  it('closes nothing when the session ended properly, or continues', () => {
    expect(fold([ended(3, 10_000), hb(4, 12_000, 'idle')]).ended.map((s) => s.endReason)).toEqual(['window-expired']);
    expect(applyReport(open(), hb(4, 15_000, 'live')).obs.ended).toEqual([]);
    expect(applyReport(open(), started(4, 15_000, 's1', { resumed: true })).obs.ended).toEqual([]);
  });

  it('ends the current session on its session-ended even when it is older than the last report', () => {
    const obs = applyReport(open(), ended(1, 8_000)).obs;
    expect(obs).toMatchObject({ state: 'idle', session: '' });
    expect(obs.ended.map((s) => s.endReason)).toEqual(['window-expired']);
  });
});

describe('observationFromStatus (a new leader, every report already acknowledged)', () => {
  const now = t0 + 60_000;

  it('continues the session status shows open, alive as of now, so the TTL closes it if nothing reports', () => {
    const obs = observationFromStatus(
      { state: 'Live', session: { id: 's1', startedAt: '2026-11-21T12:00:00Z', viewers: 4, bytesIn: 99 } },
      now,
      15_000,
    );
    expect(obs).toMatchObject({ state: 'live', session: 's1', sessionStartedAt: t0, lastReportAt: now });
    expect(expireSession(obs!, now + 15_000, 15_000).obs.session).toBe('s1');
    const closed = expireSession(obs!, now + 15_001, 15_000);
    expect(closed.obs.ended[0]).toMatchObject({ id: 's1', endReason: transcoderLostReason, bytesIn: 99 });
    // A heartbeat of the same session continues it instead.
    expect(applyReport(obs, hb(7, 61_000, 'live', {}, 's1')).obs).toMatchObject({ session: 's1', ended: [] });
  });

  it('keeps a session seen Reconnecting open for the TTL, then closes it as lost (not dropped as idle)', () => {
    const obs = observationFromStatus({ state: 'Reconnecting', session: { id: 's1' } }, now, 15_000)!;
    expect(publishPhase(obs, now + 14_000, 15_000).phase).toBe('reconnecting');
    expect(publishPhase(obs, now + 15_001, 15_000).phase).toBe('stale');
    expect(expireSession(obs, now + 15_001, 15_000).obs.ended[0]).toMatchObject({
      id: 's1',
      endReason: transcoderLostReason,
    });
  });

  it('starts nothing when no session is open', () => {
    expect(observationFromStatus(undefined, now, 15_000)).toBeUndefined();
    expect(observationFromStatus({ state: 'Idle' }, now, 15_000)).toBeUndefined();
    expect(observationFromStatus({ state: 'Idle', session: { id: 's1' } }, now, 15_000)).toBeUndefined();
  });
});

describe('publishPhase', () => {
  const ttl = 15_000;
  it('distrusts a silent transcoder whatever it said last', () => {
    const obs = fold([started(1, 0), hb(2, 1_000, 'live')]);
    expect(publishPhase(obs, t0 + 10_000, ttl)).toEqual({ phase: 'live' });
    expect(publishPhase(obs, t0 + 17_000, ttl)).toEqual({ phase: 'stale', lastReportAgeSeconds: 16 });
    expect(publishPhase(undefined, t0, ttl)).toEqual({ phase: 'unobserved' });
  });
  it('ends a reconnect window on time even before the session-ended report', () => {
    const obs = fold([started(1, 0), ev('publish-ended', 2, 1_000, { reconnectWindowSeconds: 5, bytesIn: 1 })]);
    expect(publishPhase(obs, t0 + 3_000, ttl)).toEqual({ phase: 'reconnecting', windowEndsAt: t0 + 6_000 });
    expect(publishPhase(obs, t0 + 6_500, ttl)).toEqual({ phase: 'idle' });
  });
});
