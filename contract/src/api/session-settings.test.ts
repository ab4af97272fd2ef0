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
});
