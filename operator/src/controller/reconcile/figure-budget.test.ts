import { describe, expect, it } from 'vitest';
import { FigureBudget, figureWriteDelay, minFigureIntervalMs } from './figure-budget.ts';

describe('FigureBudget', () => {
  it('spreads the budget over the live streams: 5 s each until there are more than 5 s x budget', () => {
    const budget = new FigureBudget(10);
    expect(budget.intervalMs(1)).toBe(minFigureIntervalMs);
    expect(budget.intervalMs(45)).toBe(5_000);
    expect(budget.intervalMs(200)).toBe(22_223); // 200 streams / 9 per second
    expect(budget.intervalMs(500)).toBe(55_556);
  });

  it('hands out at most a second of tokens at once, then refills at its rate', () => {
    const budget = new FigureBudget(4);
    const t0 = 1_000_000;
    expect([0, 1, 2, 3].map(() => budget.take(t0))).toEqual([0, 0, 0, 0]);
    expect(budget.take(t0)).toBe(250);
    expect(budget.take(t0 + 250)).toBe(0);
    // An idle minute does not bank more than a second's worth.
    const later = t0 + 60_000;
    expect(Array.from({ length: 5 }, () => budget.take(later))).toEqual([0, 0, 0, 0, 250]);
  });

  it('keeps 200 streams reporting every 5 s under the budget', () => {
    const budget = new FigureBudget(10);
    const last = new Map<number, number>();
    let writes = 0;
    // Each stream's heartbeat every 5 s, offset per stream, for 10 minutes.
    for (let t = 0; t < 600_000; t += 100) {
      for (let s = 0; s < 200; s++) {
        if ((t + (s % 50) * 100) % 5_000 !== 0) continue;
        if (figureWriteDelay(budget, 200, last.get(s), t) === 0) {
          last.set(s, t);
          writes++;
        }
      }
    }
    const perSecond = writes / 600;
    expect(perSecond).toBeLessThanOrEqual(10);
    expect(perSecond).toBeGreaterThan(5);
  });

  it('waits for the stream interval before taking a token', () => {
    const budget = new FigureBudget(10);
    expect(figureWriteDelay(budget, 1, 10_000, 12_000)).toBe(3_000);
    expect(figureWriteDelay(budget, 1, 10_000, 15_000)).toBe(0);
    expect(figureWriteDelay(budget, 1, undefined, 15_000)).toBe(0);
  });
});
