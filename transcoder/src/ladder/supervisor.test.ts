import { describe, expect, it } from 'vitest';
import { restartDelayMs, scrubUrls } from './supervisor.ts';

describe('restartDelayMs', () => {
  it('grows exponentially, is capped, and is jittered into [0.5, 1) of the step', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => restartDelayMs(n, 250, 10_000, mid))).toEqual([
      188, 375, 750, 1500, 3000, 6000, 7500, 7500,
    ]);
    expect(restartDelayMs(3, 250, 10_000, () => 0)).toBe(500);
    expect(restartDelayMs(3, 250, 10_000, () => 0.999)).toBeLessThanOrEqual(1000);
    expect(restartDelayMs(1000, 250, 10_000, () => 0.999)).toBeLessThanOrEqual(10_000);
  });
});

describe('scrubUrls', () => {
  it('keeps URLs out of reported ffmpeg messages', () => {
    expect(scrubUrls('rtmp://127.0.0.1:1935/live/x: Connection refused')).toBe('rtmp://[redacted] Connection refused');
  });
});
