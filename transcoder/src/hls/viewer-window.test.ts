import { describe, expect, it } from 'vitest';
import { ViewerWindow } from './viewer-window.ts';

describe('ViewerWindow', () => {
  it('counts distinct viewers seen within the window', () => {
    const w = new ViewerWindow({ windowMs: 30_000 });
    w.touch('a', 0);
    w.touch('b', 1_000);
    w.touch('a', 2_000);
    expect(w.count(2_000)).toBe(2);
  });

  it('forgets viewers not seen for a whole window, keeping those seen again', () => {
    const w = new ViewerWindow({ windowMs: 30_000 });
    w.touch('a', 0);
    w.touch('b', 0);
    w.touch('a', 20_000);
    expect(w.count(30_000)).toBe(1);
    expect(w.count(50_001)).toBe(0);
  });

  it('tracks the peak until reset', () => {
    const w = new ViewerWindow({ windowMs: 10 });
    for (let i = 0; i < 5; i++) w.touch(`v${i}`, 0);
    expect(w.count(100)).toBe(0);
    expect(w.peak()).toBe(5);
    w.touch('x', 100);
    w.resetPeak(100);
    expect(w.peak()).toBe(1);
  });

  it('stays within maxTracked by forgetting the stalest viewers', () => {
    const w = new ViewerWindow({ windowMs: 1_000_000, maxTracked: 100 });
    for (let i = 0; i < 10_000; i++) w.touch(`v${i}`, i);
    expect(w.count(10_000)).toBe(100);
    w.touch('v9950', 10_001); // still tracked: refreshed, not duplicated
    expect(w.count(10_001)).toBe(100);
  });
});
