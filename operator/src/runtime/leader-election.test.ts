import { describe, expect, it } from 'vitest';
import { canAcquire } from './leader-election.ts';

const lease = (holder: string | undefined, renewedMsAgo: number, now: number) => ({
  spec: { holderIdentity: holder, leaseDurationSeconds: 10, renewTime: new Date(now - renewedMsAgo) },
});

describe('canAcquire', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  it('lets the holder renew and anyone take a released Lease', () => {
    expect(canAcquire(lease('me', 1_000, now), 'me', now)).toBe(true);
    expect(canAcquire(lease(undefined, 1_000, now), 'me', now)).toBe(true);
  });
  it('keeps others out until the Lease expires', () => {
    expect(canAcquire(lease('other', 9_000, now), 'me', now)).toBe(false);
    expect(canAcquire(lease('other', 10_500, now), 'me', now)).toBe(true);
  });
});
