import { describe, expect, it } from 'vitest';
import { anonymousViewerId, ViewerWindow, viewerToken } from './viewer-window.ts';

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

  it('forgets the stalest viewer on request, and says when there is none', () => {
    const w = new ViewerWindow({ windowMs: 1_000 });
    w.touch('a', 0);
    w.touch('b', 1);
    w.touch('a', 2);
    expect(w.forgetStalest()).toBe(true); // b: a was seen again since
    expect(w.size).toBe(1);
    expect(w.count(3)).toBe(1);
    expect(w.forgetStalest()).toBe(true);
    expect(w.forgetStalest()).toBe(false);
  });
});

describe('viewer identity', () => {
  it('reads a well-formed vs token', () => {
    expect(viewerToken('vs=abcdef123456')).toBe('abcdef123456');
    expect(viewerToken('x=1&vs=abcdef123456&y=2')).toBe('abcdef123456');
  });

  it('ignores missing, short, long or odd tokens', () => {
    expect(viewerToken('')).toBeNull();
    expect(viewerToken('vs=abc')).toBeNull();
    expect(viewerToken('vs=' + 'a'.repeat(65))).toBeNull();
    expect(viewerToken('vs=abc%20defghij')).toBeNull();
  });

  it('tells anonymous viewers apart by address and User-Agent, never equal to a token', () => {
    const id = anonymousViewerId('10.0.0.1', 'tv');
    expect(id).toBe(anonymousViewerId('10.0.0.1', 'tv'));
    expect(id).not.toBe(anonymousViewerId('10.0.0.2', 'tv'));
    expect(id).not.toBe(anonymousViewerId('10.0.0.1', 'phone'));
    expect(anonymousViewerId('10.0.0.1\ntv', '')).not.toBe(anonymousViewerId('10.0.0.1', 'tv'));
    expect(id).toMatch(/^~[A-Za-z0-9_-]{16}$/);
    expect(viewerToken(`vs=${id}`)).toBeNull();
  });
});
