import { generateKeyPairSync, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  mintPlaybackToken,
  playbackJwks,
  playbackKeyFromPem,
  playbackKeyStore,
  verifyPlaybackToken,
} from './playback-token.ts';

const pem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const keyA = pem();
const keyB = pem();
const store = playbackKeyStore([playbackKeyFromPem('a', keyA), playbackKeyFromPem('b', keyB)]);
const now = Date.parse('2026-12-02T12:00:00Z');
const channel = { namespace: 'ns', name: 'ch', nowMs: now };
const mint = (over: Partial<Parameters<typeof mintPlaybackToken>[0]> = {}) =>
  mintPlaybackToken({ privateKeyPem: keyA, kid: 'a', namespace: 'ns', name: 'ch', ttlSeconds: 600, now, ...over });
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('verifyPlaybackToken', () => {
  it('accepts a valid token and returns its claims', async () => {
    const token = await mint({ viewerId: 'v1', origins: ['https://x.example'] });
    const verdict = await verifyPlaybackToken(token, store, channel);
    expect(verdict).toEqual({
      ok: true,
      grant: { namespace: 'ns', name: 'ch', expMs: now + 600_000, viewerId: 'v1', origins: ['https://x.example'] },
    });
  });

  it('accepts tokens of either key in force (rotation), refuses a kid no longer in force', async () => {
    const byB = await mint({ privateKeyPem: keyB, kid: 'b' });
    expect((await verifyPlaybackToken(byB, store, channel)).ok).toBe(true);
    const onlyA = playbackKeyStore([playbackKeyFromPem('a', keyA)]);
    expect(await verifyPlaybackToken(byB, onlyA, channel)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('names every refusal', async () => {
    const reason = async (token: string | undefined, over: Partial<Parameters<typeof verifyPlaybackToken>[2]> = {}) => {
      const v = await verifyPlaybackToken(token, store, { ...channel, ...over });
      return v.ok ? 'ok' : v.reason;
    };
    const good = await mint({ viewerId: 'v1', origins: ['https://x.example'] });
    const [h, p, s] = good.split('.') as [string, string, string];
    expect(await reason(undefined)).toBe('missing');
    expect(await reason('')).toBe('missing');
    expect(await reason('abc')).toBe('malformed');
    expect(await reason('a.b.c')).toBe('malformed');
    // Signed by key b but naming kid a: tampered.
    const forged = (await mint({ privateKeyPem: keyB, kid: 'b' })).split('.');
    expect(await reason(`${b64({ alg: 'ES256', kid: 'a' })}.${forged[1]}.${forged[2]}`)).toBe('bad_signature');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    expect(await reason(`${h}.${b64({ ...payload, sub: 'ns/other' })}.${s}`)).toBe('bad_signature');
    expect(await reason(`${b64({ alg: 'none', kid: 'a' })}.${p}.`)).toBe('wrong_algorithm');
    const hs = `${b64({ alg: 'HS256', kid: 'a' })}.${p}`;
    expect(await reason(`${hs}.${createHmac('sha256', 'x').update(hs).digest('base64url')}`)).toBe('wrong_algorithm');
    expect(await reason(`${b64({ alg: 'RS256', kid: 'a' })}.${p}.${s}`)).toBe('wrong_algorithm');
    expect(await reason(`${b64({ alg: 'ES256', kid: 'zz' })}.${p}.${s}`)).toBe('unknown_key');
    expect(await reason(good, { nowMs: now + 600_000 + 31_000 })).toBe('expired');
    expect(await reason(good, { nowMs: now + 600_000 + 29_000 })).toBe('ok'); // within the leeway
    expect(await reason(good, { name: 'other' })).toBe('wrong_channel');
    expect(await reason(good, { revokedViewers: ['v0', 'v1'] })).toBe('revoked');
    expect(await reason(good, { origin: 'https://evil.example' })).toBe('origin');
    expect(await reason(good, { origin: 'https://x.example' })).toBe('ok');
  });

  it('refuses a token not yet valid (nbf beyond the leeway)', async () => {
    const { SignJWT } = await import('jose');
    const { createPrivateKey } = await import('node:crypto');
    const nbf = Math.floor(now / 1000) + 120;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'a' })
      .setSubject('ns/ch')
      .setAudience('livestream-playback')
      .setNotBefore(nbf)
      .setExpirationTime(nbf + 600)
      .sign(createPrivateKey(keyA));
    expect(await verifyPlaybackToken(token, store, channel)).toEqual({ ok: false, reason: 'not_yet_valid' });
    expect((await verifyPlaybackToken(token, store, { ...channel, nowMs: now + 121_000 })).ok).toBe(true);
  });

  it('refuses a token without exp or with another audience', async () => {
    const { SignJWT } = await import('jose');
    const { createPrivateKey } = await import('node:crypto');
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'a' })
      .setSubject('ns/ch')
      .setAudience('livestream-playback')
      .sign(createPrivateKey(keyA));
    expect(await verifyPlaybackToken(noExp, store, channel)).toEqual({ ok: false, reason: 'malformed' });
    const otherAud = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'a' })
      .setSubject('ns/ch')
      .setAudience('other')
      .setExpirationTime(Math.floor(now / 1000) + 60)
      .sign(createPrivateKey(keyA));
    expect(await verifyPlaybackToken(otherAud, store, channel)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('playback keys', () => {
  it('publishes only public parts in the JWKS', async () => {
    const jwks = await playbackJwks(store);
    expect(jwks.keys.map((k) => [k.kid, k.alg, k.use, k.kty, k.crv])).toEqual([
      ['a', 'ES256', 'sig', 'EC', 'P-256'],
      ['b', 'ES256', 'sig', 'EC', 'P-256'],
    ]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
  });

  it('refuses other key types and bad kids', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(() => playbackKeyFromPem('r', rsa as string)).toThrow(/not a P-256 key/);
    expect(() => playbackKeyFromPem('a/b', keyA)).toThrow(/key id/);
    expect(() => playbackKeyFromPem('x', 'nope')).toThrow(/not a PEM/);
  });
});
