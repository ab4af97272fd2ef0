import { describe, expect, it } from 'vitest';
import type { RecordingStatus } from '../../../contract/src/api/index.ts';
import type { AnyEvent } from '../../../contract/src/reports.ts';
import { applyReport, expireSession, type PublishObservation } from '../controller/publish-state.ts';
import {
  emptyBatch,
  historyStep,
  mergeBatch,
  mergeSession,
  viewerSeconds,
  type ChannelTrack,
  type HistoryBatch,
} from './session-rows.ts';

const t0 = Date.parse('2026-12-02T10:00:00Z');
let seq = 0;
const ev = (type: AnyEvent['type'], session: string, ts: number, data: object): AnyEvent =>
  ({ type, namespace: 'ns', name: 'ch', session, ts, seq: ++seq, data }) as AnyEvent;
const started = (session: string, ts: number) =>
  ev('publish-started', session, ts, {
    resumed: false,
    videoCodec: 'h264',
    audioCodec: 'aac',
    width: 1280,
    height: 720,
  });
const beat = (session: string, ts: number, viewers: number, bytesIn: number, bitrateKbps = 3_000) =>
  ev('heartbeat', session, ts, {
    state: 'live',
    bitrateKbps,
    fps: 30,
    width: 1280,
    height: 720,
    viewers,
    bytesIn,
    segments: { '720p': 1 },
  });
const ended = (session: string, ts: number, duration: number, bytesIn: number, peakViewers: number) =>
  ev('session-ended', session, ts, { duration, bytesIn, peakViewers, reason: 'window-expired' });

interface Run {
  obs: PublishObservation | undefined;
  track: ChannelTrack | undefined;
  batch: HistoryBatch;
}

/** Folds reports as the operator does (publish-state.ts) and feeds every step to the history. */
function run(events: AnyEvent[], from?: Run, recordings?: RecordingStatus[]): Run {
  let { obs, track, batch } = from ?? { obs: undefined, track: undefined, batch: emptyBatch() };
  for (const e of events) {
    const step = applyReport(obs, e);
    obs = step.obs;
    const input = { namespace: 'ns', name: 'ch', uid: 'u1', transition: step.transition, obs, event: e };
    const r = historyStep(track, recordings ? { ...input, recordings } : input);
    track = r.track;
    batch = mergeBatch(batch, r.batch);
  }
  return { obs, track, batch };
}

const broadcast = (session: string, start: number): AnyEvent[] => [
  started(session, start),
  beat(session, start + 5_000, 2, 1_000_000),
  beat(session, start + 10_000, 4, 2_000_000),
  beat(session, start + 15_000, 4, 3_000_000),
  ev('publish-ended', session, start + 16_000, { reconnectWindowSeconds: 10, bytesIn: 3_200_000 }),
  ended(session, start + 26_000, 26, 3_200_000, 4),
];

describe('historyStep', () => {
  it('writes a session open at its start and closed at its end as one row with its figures', () => {
    const first = run(broadcast('s1', t0).slice(0, 1));
    expect(first.batch.sessions.s1).toMatchObject({ startedAt: t0, videoCodec: 'h264', audioCodec: 'aac', uid: 'u1' });
    expect(first.batch.sessions.s1?.endedAt).toBeUndefined();
    const all = run(broadcast('s1', t0).slice(1), first);
    expect(Object.keys(all.batch.sessions)).toEqual(['s1']);
    expect(all.batch.sessions.s1).toEqual({
      sessionId: 's1',
      namespace: 'ns',
      name: 'ch',
      uid: 'u1',
      startedAt: t0,
      endedAt: t0 + 26_000,
      durationSeconds: 26,
      endReason: 'window-expired',
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 1280,
      height: 720,
      // the session's average once closed: 3.2 MB over 26 s
      bitrateKbps: Math.round((3_200_000 * 8) / 1000 / 26),
      bytesIn: 3_200_000,
      peakViewers: 4,
    });
    // 2 viewers for the first 5 s, then 4 for two 5 s spans: 50 viewer-seconds, in the minute of 10:00
    const minutes = Object.values(all.batch.minutes);
    expect(minutes).toHaveLength(1);
    expect(minutes[0]).toMatchObject({ sessionId: 's1', minute: t0, peakViewers: 4 });
    expect(viewerSeconds(minutes[0]!)).toBe(50);
  });

  it('adds nothing when the same reports are applied again (a redelivery after a restart)', () => {
    const once = run(broadcast('s1', t0));
    const again = run(broadcast('s1', t0), once);
    expect(again.batch).toEqual(once.batch);
    expect(mergeBatch(once.batch, once.batch)).toEqual(once.batch);
  });

  it('does not reopen a closed session when an open row of it is merged after the close', () => {
    const all = run(broadcast('s1', t0));
    const openOnly = run(broadcast('s1', t0).slice(0, 3));
    const closed = all.batch.sessions.s1!;
    expect(mergeSession(closed, openOnly.batch.sessions.s1!)).toEqual(closed);
    expect(mergeBatch(all.batch, openOnly.batch).sessions.s1).toEqual(closed);
  });

  it('counts viewers by the heartbeat that saw them, a long gap only up to its bound, minutes apart', () => {
    const r = run([
      started('s1', t0 + 50_000),
      beat('s1', t0 + 55_000, 3, 1), // 5 s x 3 in 10:00
      beat('s1', t0 + 65_000, 3, 2), // 10 s x 3 in 10:01
      beat('s1', t0 + 125_000, 1, 3), // a 60 s gap: counts 15 s x 1, in 10:02
      beat('s1', t0 + 130_000, 0, 4), // nobody watching: no row
    ]);
    const byMinute = Object.fromEntries(Object.values(r.batch.minutes).map((m) => [m.minute - t0, viewerSeconds(m)]));
    expect(byMinute).toEqual({ 0: 15, 60_000: 30, 120_000: 15 });
  });

  it('closes a session lost with its transcoder (expiry) and one abandoned for a new session', () => {
    const live = run(broadcast('s1', t0).slice(0, 3));
    const expired = expireSession(live.obs!, t0 + 60_000, 15_000);
    const r = historyStep(live.track, {
      namespace: 'ns',
      name: 'ch',
      transition: expired.transition,
      obs: expired.obs,
    });
    expect(r.batch.sessions.s1).toMatchObject({ endReason: 'TranscoderLost', endedAt: t0 + 10_000, peakViewers: 4 });
    expect(r.track.session).toBe('');

    // The transcoder came back within the TTL with a new session: s1 closes though the transition is s2's start.
    const next = run([started('s2', t0 + 12_000)], live);
    expect(next.batch.sessions.s1).toMatchObject({ endReason: 'TranscoderLost' });
    expect(next.batch.sessions.s2).toMatchObject({ startedAt: t0 + 12_000 });
    expect(next.batch.sessions.s2?.endedAt).toBeUndefined();
    expect(next.track?.session).toBe('s2');
  });

  it('adds the recording URIs of an ended session once status shows them', () => {
    const done = run(broadcast('s1', t0));
    const recordings: RecordingStatus[] = [
      { session: 's1', playlistUri: 's3://b/ns/ch/s1/index.m3u8', mp4Uri: 's3://b/ns/ch/s1/recording.mp4' },
    ];
    const idle = ev('heartbeat', '', t0 + 40_000, {
      state: 'idle',
      bitrateKbps: 0,
      fps: 0,
      width: 0,
      height: 0,
      viewers: 0,
      bytesIn: 0,
      segments: {},
    });
    const withUris = run([idle], { ...done, batch: emptyBatch() }, recordings);
    expect(withUris.batch.sessions.s1?.recordingUris).toEqual([
      's3://b/ns/ch/s1/index.m3u8',
      's3://b/ns/ch/s1/recording.mp4',
    ]);
    expect(withUris.batch.sessions.s1?.endedAt).toBe(t0 + 26_000);
    const idle2 = { ...idle, ts: t0 + 45_000, seq: ++seq };
    expect(run([idle2], { ...withUris, batch: emptyBatch() }, recordings).batch).toEqual(emptyBatch());
  });

  it('keeps each relay outcome with the failures seen during the session', () => {
    const relay = (state: string, since: string, lastError?: string) =>
      ev('relay-state', '', t0 + Date.parse(since) - Date.parse('2026-12-02T10:00:00Z'), {
        name: 'yt',
        state,
        bytesOut: 500,
        since,
        ...(lastError && { lastError }),
      });
    const r = run([
      started('s1', t0),
      relay('Active', '2026-12-02T10:00:01Z'),
      relay('Retrying', '2026-12-02T10:00:02Z', 'connection refused'),
      relay('Active', '2026-12-02T10:00:03Z'),
      ended('s1', t0 + 20_000, 20, 100, 0),
    ]);
    expect(r.batch.sessions.s1?.relays).toEqual({ yt: { state: 'Active', bytesOut: 500, failures: 1 } });
  });
});
