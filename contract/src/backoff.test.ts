import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

const policy = { baseMs: 100, maxMs: 1_000, jitter: 0.5 };

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const noJitter = () => 0;
    expect([0, 1, 2, 3, 4, 5, 60].map((n) => backoffDelay(n, policy, noJitter))).toEqual([
      100, 100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('jitters downwards only, within the fraction', () => {
    expect(backoffDelay(3, policy, () => 1)).toBe(200);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(10, policy);
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1_000);
    }
  });
});
