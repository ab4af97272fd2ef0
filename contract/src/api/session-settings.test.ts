import { describe, expect, it } from 'vitest';
import { sessionSettingsFingerprint } from './session-settings.ts';

describe('sessionSettingsFingerprint', () => {
  it('ignores key order and fields outside the ladder and HLS settings', () => {
    const a = sessionSettingsFingerprint({
      ladder: { preset: '720p', passthrough: true },
      hls: { segmentSeconds: 2, playlistLength: 6 },
    });
    const b = sessionSettingsFingerprint({
      hls: { segmentSeconds: 2, playlistLength: 6 },
      ladder: { passthrough: true, preset: '720p' },
    });
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(b).toBe(a);
  });

  it('changes with any session-scoped value', () => {
    const base = sessionSettingsFingerprint({ ladder: { preset: '720p', passthrough: true } });
    expect(sessionSettingsFingerprint({ ladder: { preset: '480p', passthrough: true } })).not.toBe(base);
    expect(sessionSettingsFingerprint({ ladder: { preset: '720p', passthrough: false } })).not.toBe(base);
    expect(
      sessionSettingsFingerprint({
        ladder: { preset: '720p', passthrough: true },
        hls: { segmentSeconds: 2, playlistLength: 8 },
      }),
    ).not.toBe(base);
  });

  it('is unchanged for a channel that never wrote spec.hls.lowLatency, and changes when LL-HLS is switched', () => {
    const hls = { segmentSeconds: 2, playlistLength: 6 };
    const ladder = { preset: '720p' as const, passthrough: true };
    const classic = sessionSettingsFingerprint({ ladder, hls });
    // As before spec.hls.lowLatency existed: an upgrade marks no running session as outdated.
    expect(classic).toBe('8b535a618a2f');
    const low = { ...hls, lowLatency: { enabled: true, partSeconds: 0.5 } };
    expect(sessionSettingsFingerprint({ ladder, hls: low })).not.toBe(classic);
    expect(
      sessionSettingsFingerprint({ ladder, hls: { ...low, lowLatency: { enabled: true, partSeconds: 0.4 } } }),
    ).not.toBe(sessionSettingsFingerprint({ ladder, hls: low }));
  });
});
