import { describe, expect, it } from 'vitest';
import { mintSession, sessionKey, verifySession } from './session-token.ts';

const key = sessionKey(Buffer.from('a routing secret of at least 32 characters'));
const channel = { namespace: 'ns', name: 'ch' };
const now = 1_800_000_000_000;

describe('session tokens', () => {
  it('round-trips the claims for the channel until exp', () => {
    const s = mintSession(key, { ...channel, expMs: now + 60_000, viewerId: 'v1', origins: ['https://x'] });
    expect(verifySession(key, s, channel, now)).toEqual({
      ok: true,
      claims: { ...channel, expMs: now + 60_000, viewerId: 'v1', origins: ['https://x'] },
    });
    expect(verifySession(key, s, channel, now + 60_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifySession(key, s, { namespace: 'ns', name: 'other' }, now)).toEqual({
      ok: false,
      reason: 'wrong_channel',
    });
  });

  it('refuses a tampered session, another secret, and garbage', () => {
    const s = mintSession(key, { ...channel, expMs: now + 60_000 });
    const [payload, mac] = s.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ c: 'ns/other', exp: now / 1000 + 60 })).toString('base64url');
    expect(verifySession(key, `${other}.${mac}`, channel, now).ok).toBe(false);
    expect(verifySession(sessionKey(Buffer.from('another routing secret, 32 characters!')), s, channel, now)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifySession(key, payload, channel, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySession(key, 'a.b.c', channel, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('derives a key of its own from the routing secret (not the secret itself)', () => {
    const secret = Buffer.from('a routing secret of at least 32 characters');
    expect(sessionKey(secret)).toHaveLength(32);
    expect(sessionKey(secret).equals(secret.subarray(0, 32))).toBe(false);
  });
});
