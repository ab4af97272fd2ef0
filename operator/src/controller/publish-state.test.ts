import { describe, expect, it } from 'vitest';
import type { EventDataByType, EventType, TranscoderEvent } from '../../../contract/src/reports.ts';
import { applyReport, publishPhase, type PublishObservation } from './publish-state.ts';

const t0 = Date.parse('2026-11-21T12:00:00Z');
function ev<T extends EventType>(
  type: T,
  seq: number,
  tsOffset: number,
  data: EventDataByType[T],
  session = 's1',
): TranscoderEvent {
  return { type, namespace: 'ns', name: 'show', session, seq, ts: t0 + tsOffset, data };
}
const hb = (seq: number, at: number, state: 'live' | 'idle' | 'reconnecting', viewers = 0) =>
  ev('heartbeat', seq, at, {
    state,
    bitrateKbps: 900,
    fps: 30,
    width: 640,
    height: 360,
    viewers,
    bytesIn: seq * 1000,
    segments: {},
  });

function fold(events: TranscoderEvent[]): PublishObservation | undefined {
  let obs: PublishObservation | undefined;
  for (const e of events) obs = applyReport(obs, e).obs;
  return obs;
}

describe('applyReport', () => {
  it('follows a session from start to end and records it once', () => {
    const started = applyReport(
      undefined,
      ev('publish-started', 1, 0, { resumed: false, width: 640, height: 360, fps: 30 }),
    );
    expect(started.transition).toEqual({ kind: 'started', session: 's1' });
    const obs = fold([
      ev('publish-started', 1, 0, { resumed: false }),
      hb(2, 5_000, 'live', 7),
      ev('publish-ended', 3, 8_000, { reconnectWindowSeconds: 30, bytesIn: 5000 }),
      ev('session-ended', 4, 38_000, { duration: 38, bytesIn: 5000, peakViewers: 7, reason: 'window-expired' }),
    ]);
    expect(obs?.state).toBe('idle');
    expect(obs?.ended).toEqual([
      expect.objectContaining({ id: 's1', durationSeconds: 38, peakViewers: 7, endReason: 'window-expired' }),
    ]);
    const again = applyReport(
      obs,
      ev('session-ended', 4, 38_000, { duration: 38, bytesIn: 5000, peakViewers: 7, reason: 'window-expired' }),
    );
    expect(again.transition.kind).toBe('none');
    expect(again.obs.ended).toHaveLength(1);
  });

  it('ignores stale and duplicate reports for the state, but keeps a late session end in history', () => {
    const live = fold([ev('publish-started', 1, 0, { resumed: false }), hb(3, 10_000, 'live')]);
    const stale = applyReport(live, hb(2, 5_000, 'idle')).obs;
    expect(stale.state).toBe('live');
    const late = applyReport(
      live,
      ev('session-ended', 1, -60_000, { duration: 10, bytesIn: 1, peakViewers: 0, reason: 'shutdown' }, 's0'),
    ).obs;
    expect(late.state).toBe('live');
    expect(late.ended.map((s) => s.id)).toEqual(['s0']);
  });

  it('treats a restarted transcoder (seq from 1, later ts) as newer', () => {
    const before = fold([hb(900, 10_000, 'live')]);
    expect(applyReport(before, hb(1, 11_000, 'idle')).obs.state).toBe('idle');
  });

  it('counts refused publishes by reason', () => {
    const r = applyReport(undefined, ev('publish-refused', 1, 0, { reason: 'bad_key' }, ''));
    expect(r.transition).toEqual({ kind: 'refused', reason: 'bad_key' });
    expect(applyReport(r.obs, ev('publish-refused', 2, 1, { reason: 'bad_key' }, '')).obs.refused).toEqual({
      bad_key: 2,
    });
  });
});

describe('publishPhase', () => {
  const ttl = 15_000;
  it('distrusts a silent transcoder whatever it said last', () => {
    const obs = fold([ev('publish-started', 1, 0, { resumed: false }), hb(2, 1_000, 'live')]);
    expect(publishPhase(obs, t0 + 10_000, ttl)).toEqual({ phase: 'live' });
    expect(publishPhase(obs, t0 + 17_000, ttl)).toEqual({ phase: 'stale', lastReportAgeSeconds: 16 });
    expect(publishPhase(undefined, t0, ttl)).toEqual({ phase: 'unobserved' });
  });
  it('ends a reconnect window on time even before the session-ended report', () => {
    const obs = fold([
      ev('publish-started', 1, 0, { resumed: false }),
      ev('publish-ended', 2, 1_000, { reconnectWindowSeconds: 5, bytesIn: 1 }),
    ]);
    expect(publishPhase(obs, t0 + 3_000, ttl)).toEqual({ phase: 'reconnecting', windowEndsAt: t0 + 6_000 });
    expect(publishPhase(obs, t0 + 6_500, ttl)).toEqual({ phase: 'idle' });
  });
});
