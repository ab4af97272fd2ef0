import { describe, expect, it } from 'vitest';
import { addressOf, decidePublish, isLoopback, PenaltyBox } from './publish-guard.ts';

const state = (over: Partial<{ app: string; busy: boolean }> = {}) => ({
  app: 'live',
  keyMatches: (k: string) => k === 'right-key',
  busy: false,
  ...over,
});

describe('decidePublish', () => {
  it('accepts the right app and key when nobody publishes', () => {
    const box = new PenaltyBox();
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), box)).toEqual({ accept: true });
  });

  it('refuses by reason: wrong_path, bad_key, busy', () => {
    const box = new PenaltyBox({ baseMs: 0 });
    expect(decidePublish({ address: 'a', app: 'other', name: 'right-key' }, state(), box)).toEqual({
      accept: false,
      reason: 'wrong_path',
    });
    expect(decidePublish({ address: 'b', app: 'live', name: 'nope' }, state(), box)).toEqual({
      accept: false,
      reason: 'bad_key',
    });
    expect(decidePublish({ address: 'c', app: 'live', name: 'right-key' }, state({ busy: true }), box)).toEqual({
      accept: false,
      reason: 'busy',
    });
  });

  it('tells a keyless second publisher bad_key, not busy', () => {
    const box = new PenaltyBox();
    expect(decidePublish({ address: 'a', app: 'live', name: 'x' }, state({ busy: true }), box)).toMatchObject({
      reason: 'bad_key',
    });
  });

  it('rate-limits an address after a failure, even with the right key, then lets it in and forgives it', () => {
    let now = 0;
    const box = new PenaltyBox({ baseMs: 1000, maxMs: 8000, now: () => now });
    decidePublish({ address: 'a', app: 'live', name: 'bad' }, state(), box);
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), box)).toMatchObject({
      reason: 'rate_limited',
    });
    expect(decidePublish({ address: 'other', app: 'live', name: 'right-key' }, state(), box)).toEqual({ accept: true });
    now = 1000;
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), box)).toEqual({ accept: true });
    expect(box.size).toBe(0);
  });
});

describe('PenaltyBox', () => {
  it('doubles the penalty per failure up to the cap', () => {
    const box = new PenaltyBox({ baseMs: 100, maxMs: 1000, now: () => 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => box.fail('x'))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('forgets an address once its penalty has long expired', () => {
    let now = 0;
    const box = new PenaltyBox({ baseMs: 100, maxMs: 1000, now: () => now });
    box.fail('x');
    box.fail('x');
    now = 200 + 1000;
    expect(box.blocked('x')).toBe(false);
    expect(box.fail('x')).toBe(100);
  });

  it('is bounded: the least recently failing address goes first', () => {
    const box = new PenaltyBox({ maxEntries: 3, now: () => 0 });
    for (const a of ['a', 'b', 'c', 'd']) box.fail(a);
    expect(box.size).toBe(3);
    expect(box.blocked('a')).toBe(false);
    expect(box.blocked('d')).toBe(true);
  });
});

describe('addresses', () => {
  it('strips the port of IPv4, mapped and IPv6 addresses', () => {
    expect(addressOf('10.1.2.3:5555')).toBe('10.1.2.3');
    expect(addressOf('::ffff:127.0.0.1:5555')).toBe('::ffff:127.0.0.1');
    expect(addressOf('::1:5555')).toBe('::1');
  });

  it('recognises loopback only', () => {
    expect(['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '1127.0.0.1', 'fe80::1'].some(isLoopback)).toBe(false);
  });
});
