import { describe, expect, it } from 'vitest';
import { reconnectDelayMs } from './reporter.ts';

describe('reconnectDelayMs', () => {
  it('backs off exponentially to a 5 s cap, with bounded jitter', () => {
    expect(reconnectDelayMs(0, () => 0.5)).toBe(100);
    expect(reconnectDelayMs(3, () => 0.5)).toBe(800);
    expect(reconnectDelayMs(50, () => 0.5)).toBe(5_000);
    expect(reconnectDelayMs(50, () => 0)).toBe(3_750);
    expect(reconnectDelayMs(50, () => 0.999_999)).toBeLessThanOrEqual(6_250);
  });
});
