import { describe, expect, it } from 'vitest';
import { RefusalLimiter, allows, refill, takeToken, type Bucket } from './refusal-limiter.ts';

const policy = { burst: 5, refillMs: 1_000 };

describe('token bucket', () => {
  it('lets a fresh address try `burst` times, then one try per refill interval', () => {
    let b: Bucket | undefined;
    let t = 0;
    for (let i = 0; i < policy.burst; i++) {
      expect(allows(b, t, policy)).toBe(true);
      b = takeToken(b, t, policy);
    }
    expect(allows(b, t, policy)).toBe(false);
    expect(allows(b, t + 999, policy)).toBe(false);
    t += 1_000;
    expect(allows(b, t, policy)).toBe(true);
    b = takeToken(b, t, policy);
    expect(allows(b, t + 500, policy)).toBe(false);
  });

  it('never holds more than the burst however long the address stays away', () => {
    const b = takeToken(undefined, 0, policy);
    expect(refill(b, 10_000_000, policy).tokens).toBe(policy.burst);
  });

  it('is not fooled by a clock going backwards', () => {
    const b = takeToken(takeToken(undefined, 10_000, policy), 10_000, policy);
    expect(refill(b, 0, policy).tokens).toBe(b.tokens);
  });

  it('keeps addresses apart and forgets full buckets', () => {
    const limiter = new RefusalLimiter(policy, 4);
    for (let i = 0; i < policy.burst; i++) limiter.refused('10.0.0.1', 0);
    expect(limiter.allows('10.0.0.1', 0)).toBe(false);
    expect(limiter.allows('10.0.0.2', 0)).toBe(true);
    for (const a of ['a', 'b', 'c']) limiter.refused(a, 0);
    limiter.refused('d', 60_000); // full table: the refilled buckets are pruned first
    expect(limiter.size).toBeLessThanOrEqual(4);
    expect(limiter.allows('d', 60_000)).toBe(true);
  });

  it('stays bounded under a flood of addresses', () => {
    const limiter = new RefusalLimiter(policy, 100);
    for (let i = 0; i < 10_000; i++) limiter.refused(`a${i}`, 0);
    expect(limiter.size).toBeLessThanOrEqual(100);
  });
});
