import { describe, expect, it } from 'vitest';
import type { LiveStream, LiveStreamStatus } from '../../../../contract/src/api/index.ts';
import { liveObservation } from '../../../../test/support/status-inputs.ts';
import { FigureBudget } from './figure-budget.ts';
import { StatusWriter, timeDrivenRecheck } from './status-write.ts';

const ls = (status?: LiveStreamStatus): LiveStream => ({
  apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
  kind: 'LiveStream',
  metadata: { name: 'show', namespace: 'tv' },
  spec: {} as LiveStream['spec'],
  ...(status ? { status } : {}),
});
const live = (viewers: number): LiveStreamStatus => ({ state: 'Live', viewers, bitrateKbps: 2000 });

function writer() {
  const written: LiveStreamStatus[] = [];
  const w = new StatusWriter(
    { applyStatus: (_ref, _kind, status) => Promise.resolve(void written.push(status as LiveStreamStatus)) },
    new FigureBudget(10),
  );
  return { w, written };
}

describe('StatusWriter', () => {
  it('writes a transition at once, nothing when nothing changed, figures after the stream interval', async () => {
    const { w, written } = writer();
    expect(await w.write('tv/show', ls(), live(1), true, 0)).toBeUndefined();
    expect(await w.write('tv/show', ls(live(1)), live(1), true, 1_000)).toBeUndefined();
    expect(written).toHaveLength(1);
    expect(await w.write('tv/show', ls(live(1)), live(2), true, 1_000)).toBe(4_000);
    expect(written).toHaveLength(1);
    expect(await w.write('tv/show', ls(live(1)), { ...live(2), state: 'Reconnecting' }, true, 1_500)).toBeUndefined();
    expect(written).toHaveLength(2);
    expect(await w.write('tv/show', ls(live(1)), live(3), true, 6_500)).toBeUndefined();
    expect(written.map((s) => [s.state, s.viewers])).toEqual([
      ['Live', 1],
      ['Reconnecting', 2],
      ['Live', 3],
    ]);
    expect(w.writes).toEqual({ transitions: 2, figures: 1 });
  });

  it('stretches the figure interval with the number of live streams', async () => {
    const { w } = writer();
    for (let i = 0; i < 200; i++) await w.write(`tv/s${i}`, ls(), live(0), true, 0);
    expect(w.liveStreams).toBe(200);
    expect(await w.write('tv/s0', ls(live(0)), live(5), true, 6_000)).toBe(22_223 - 6_000); // 200 streams at 90 % of 10 writes/s
  });
});

describe('timeDrivenRecheck', () => {
  const obs = liveObservation({ lastReportAt: 10_000 });
  it('looks again when the heartbeat TTL runs out, or at the end of the reconnect window if sooner', () => {
    expect(timeDrivenRecheck({ phase: 'live' }, obs, 12_000, 15_000)).toBe(13_100);
    expect(timeDrivenRecheck({ phase: 'reconnecting', windowEndsAt: 14_000 }, obs, 12_000, 15_000)).toBe(2_100);
    expect(timeDrivenRecheck({ phase: 'stale', lastReportAgeSeconds: 20 }, obs, 30_000, 15_000)).toBeUndefined();
    expect(timeDrivenRecheck({ phase: 'unobserved' }, undefined, 0, 15_000)).toBeUndefined();
  });
});
