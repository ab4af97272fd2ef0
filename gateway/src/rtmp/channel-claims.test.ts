import { describe, expect, it } from 'vitest';
import { ChannelClaims } from './channel-claims.ts';

describe('ChannelClaims', () => {
  it('gives a channel to one holder until that holder releases it; a stale release changes nothing', () => {
    const sizes: number[] = [];
    const claims = new ChannelClaims((n) => sizes.push(n));
    const rtmp = {};
    const whip = {};
    expect(claims.claim('ns/a', rtmp)).toBe(true);
    expect(claims.claim('ns/a', whip)).toBe(false);
    expect(claims.claim('ns/b', whip)).toBe(true);
    claims.release('ns/a', whip); // not its holder
    expect(claims.has('ns/a')).toBe(true);
    claims.release('ns/a', rtmp);
    expect(claims.claim('ns/a', whip)).toBe(true);
    expect(claims.channels().sort()).toEqual(['ns/a', 'ns/b']);
    expect(sizes).toEqual([1, 2, 1, 2]);
  });
});
