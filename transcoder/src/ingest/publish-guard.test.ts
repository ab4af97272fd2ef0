import { describe, expect, it } from 'vitest';
import { RefusalLimiter } from '../../../contract/src/refusal-limiter.ts';
import { addressOf, decidePublish, isLoopback } from './publish-guard.ts';

const state = (over: Partial<{ app: string; busy: boolean }> = {}) => ({
  app: 'live',
  keyMatches: (k: string) => k === 'right-key',
  busy: false,
  ...over,
});
const limiter = (burst = 10) => new RefusalLimiter({ burst, refillMs: 1_000 });

describe('decidePublish', () => {
  it('accepts the right app and key when nobody publishes', () => {
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), limiter(), 0)).toEqual({
      accept: true,
    });
  });

  it('refuses by reason: wrong_path, bad_key, busy', () => {
    const l = limiter();
    expect(decidePublish({ address: 'a', app: 'other', name: 'right-key' }, state(), l, 0)).toEqual({
      accept: false,
      reason: 'wrong_path',
    });
    expect(decidePublish({ address: 'b', app: 'live', name: 'nope' }, state(), l, 0)).toEqual({
      accept: false,
      reason: 'bad_key',
    });
    expect(decidePublish({ address: 'c', app: 'live', name: 'right-key' }, state({ busy: true }), l, 0)).toEqual({
      accept: false,
      reason: 'busy',
    });
  });

  it('tells a keyless second publisher bad_key, not busy', () => {
    expect(decidePublish({ address: 'a', app: 'live', name: 'x' }, state({ busy: true }), limiter(), 0)).toMatchObject({
      reason: 'bad_key',
    });
  });

  it('lets the right key in right after a typo', () => {
    const l = limiter(3);
    decidePublish({ address: 'a', app: 'live', name: 'typo' }, state(), l, 0);
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), l, 1)).toEqual({ accept: true });
  });

  it('refuses an address out of tries even with the right key, others not, until a try has come back', () => {
    const l = limiter(2);
    for (const name of ['bad', 'worse']) decidePublish({ address: 'a', app: 'live', name }, state(), l, 0);
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), l, 10)).toMatchObject({
      reason: 'rate_limited',
    });
    expect(decidePublish({ address: 'other', app: 'live', name: 'right-key' }, state(), l, 10)).toEqual({
      accept: true,
    });
    expect(decidePublish({ address: 'a', app: 'live', name: 'right-key' }, state(), l, 1_000)).toEqual({
      accept: true,
    });
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
