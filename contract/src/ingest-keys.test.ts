import { describe, expect, it } from 'vitest';
import {
  currentDigest,
  keyDigest,
  keySetHash,
  matchKey,
  maxSupersededKeys,
  nextExpiryMs,
  parseDuration,
  parseKeySet,
  previousKeyExpiry,
  rollKeySet,
  serializeKeySet,
  type IngestKeySet,
} from './ingest-keys.ts';

const t0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const min = 60_000;
const grace = 10 * min;
const d = (key: string): string => keyDigest(key) ?? 'no digest';
const accepts = (set: IngestKeySet, key: string, at: number) => matchKey(set, key, at);

describe('keyDigest', () => {
  it('is the SHA-256 hex of the key without surrounding whitespace, and nothing for an empty key', () => {
    expect(d('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(d('abc\n')).toBe(d('abc'));
    expect(keyDigest('')).toBeUndefined();
    expect(keyDigest(' \n')).toBeUndefined();
  });
});

describe('rollKeySet', () => {
  it('starts with the current key only, and no rotation', () => {
    const { set, rotated } = rollKeySet(undefined, d('a'), t0, grace);
    expect(set).toEqual({ keys: [{ sha256: d('a') }] });
    expect(rotated).toBe(false);
    expect(currentDigest(set)).toBe(d('a'));
  });

  it('keeps a set whose current key did not change as it is', () => {
    const first = rollKeySet(undefined, d('a'), t0, grace).set;
    const again = rollKeySet(first, d('a'), t0 + min, grace);
    expect(again).toEqual({ set: first, rotated: false });
  });

  it('accepts the new key at once and the old one until now + grace, then refuses it', () => {
    const first = rollKeySet(undefined, d('a'), t0, grace).set;
    const { set, rotated } = rollKeySet(first, d('b'), t0 + min, grace);
    expect(rotated).toBe(true);
    expect(set.keys).toEqual([{ sha256: d('b') }, { sha256: d('a'), notAfter: '2026-12-01T12:11:00Z' }]);
    expect(previousKeyExpiry(set, t0 + min)).toBe('2026-12-01T12:11:00Z');
    expect(accepts(set, 'b', t0 + min)).toBe(true);
    expect(accepts(set, 'a', t0 + min)).toBe(true);
    expect(accepts(set, 'a', t0 + 11 * min - 1)).toBe(true);
    expect(accepts(set, 'a', t0 + 11 * min)).toBe(false);
    expect(accepts(set, 'b', t0 + 100 * min)).toBe(true);
    expect(previousKeyExpiry(set, t0 + 11 * min)).toBeUndefined();
  });

  it('grants the whole grace when now falls inside a second (notAfter is rounded up)', () => {
    const { set } = rollKeySet({ keys: [{ sha256: d('a') }] }, d('b'), t0 + 400, 90_000);
    expect(set.keys[1]?.notAfter).toBe('2026-12-01T12:01:31Z');
  });

  it('prunes what expired, and says when the next entry expires', () => {
    let set = rollKeySet({ keys: [{ sha256: d('a') }] }, d('b'), t0, grace).set;
    expect(nextExpiryMs(set, t0)).toBe(t0 + grace);
    set = rollKeySet(set, d('b'), t0 + grace, grace).set;
    expect(set).toEqual({ keys: [{ sha256: d('b') }] });
    expect(nextExpiryMs(set, t0 + grace)).toBeUndefined();
  });

  it('keeps every key superseded inside the grace with the expiry announced for it', () => {
    let set = rollKeySet(undefined, d('a'), t0, grace).set;
    set = rollKeySet(set, d('b'), t0, grace).set; // a until t0 + 10m
    set = rollKeySet(set, d('c'), t0 + 2 * min, grace).set; // b until t0 + 12m
    expect(set.keys.map((k) => k.sha256)).toEqual([d('c'), d('b'), d('a')]);
    expect(set.keys.map((k) => k.notAfter)).toEqual([undefined, '2026-12-01T12:12:00Z', '2026-12-01T12:10:00Z']);
    expect(previousKeyExpiry(set, t0 + 2 * min)).toBe('2026-12-01T12:12:00Z');
    expect(nextExpiryMs(set, t0 + 2 * min)).toBe(t0 + grace);
    for (const k of ['a', 'b', 'c']) expect(accepts(set, k, t0 + 9 * min)).toBe(true);
    expect(accepts(set, 'a', t0 + 11 * min)).toBe(false);
    expect(accepts(set, 'b', t0 + 11 * min)).toBe(true);
  });

  it('makes a superseded key current again when it comes back, without an expiry', () => {
    let set = rollKeySet({ keys: [{ sha256: d('a') }] }, d('b'), t0, grace).set;
    set = rollKeySet(set, d('a'), t0 + min, grace).set;
    expect(set.keys).toEqual([{ sha256: d('a') }, { sha256: d('b'), notAfter: '2026-12-01T12:11:00Z' }]);
    expect(accepts(set, 'a', t0 + 1000 * min)).toBe(true);
  });

  it('supersedes the current key when the Secret loses it, and accepts nothing once the grace is over', () => {
    const { set, rotated } = rollKeySet({ keys: [{ sha256: d('a') }] }, undefined, t0, grace);
    expect(rotated).toBe(true);
    expect(currentDigest(set)).toBeUndefined();
    expect(accepts(set, 'a', t0 + grace - 1)).toBe(true);
    expect(rollKeySet(set, undefined, t0 + grace, grace)).toEqual({ set: { keys: [] }, rotated: false });
  });

  it('cuts over at once with a grace of 0', () => {
    const { set } = rollKeySet({ keys: [{ sha256: d('a') }] }, d('b'), t0, 0);
    expect(set.keys).toEqual([{ sha256: d('b') }]);
    expect(accepts(set, 'a', t0)).toBe(false);
  });

  it('bounds the keys kept after a burst of rotations', () => {
    let set: IngestKeySet | undefined;
    for (let i = 0; i < 30; i++) set = rollKeySet(set, d(`k${i}`), t0 + i * 1000, grace).set;
    expect(set?.keys).toHaveLength(maxSupersededKeys + 1);
    expect(set?.keys[0]).toEqual({ sha256: d('k29') });
    expect(set?.keys[1]?.sha256).toBe(d('k28'));
  });
});

describe('matchKey', () => {
  const set: IngestKeySet = { keys: [{ sha256: d('s3cret-key') }] };
  it('matches only the exact key, of any length', () => {
    expect(accepts(set, 's3cret-key', t0)).toBe(true);
    for (const k of ['s3cret-ke', 's3cret-key ', 'S3CRET-KEY', '', 'x'.repeat(10_000)])
      expect(accepts(set, k, t0)).toBe(false);
  });
  it('matches nothing with an empty set', () => {
    expect(accepts({ keys: [] }, '', t0)).toBe(false);
    expect(accepts({ keys: [] }, 's3cret-key', t0)).toBe(false);
  });
});

describe('the key set file', () => {
  it('round-trips, with the same bytes and hash for the same set', () => {
    const set = rollKeySet({ keys: [{ sha256: d('a') }] }, d('b'), t0, grace).set;
    const text = serializeKeySet(set);
    expect(parseKeySet(text)).toEqual(set);
    expect(serializeKeySet(parseKeySet(text))).toBe(text);
    expect(keySetHash(parseKeySet(text))).toBe(keySetHash(set));
    expect(keySetHash(set)).not.toBe(keySetHash({ keys: [{ sha256: d('b') }] }));
    expect(text).not.toMatch(/"a"|"b"/);
  });

  it.each([
    ['not JSON', '{keys: nope', /not JSON/],
    ['a plain key', 'my-stream-key', /not JSON/],
    ['no keys array', '{"key":"x"}', /malformed/],
    ['a digest that is not hex', JSON.stringify({ keys: [{ sha256: 'zz'.repeat(32) }] }), /malformed/],
    ['a short digest', JSON.stringify({ keys: [{ sha256: 'ab' }] }), /malformed/],
    ['an unknown field', JSON.stringify({ keys: [{ sha256: d('a'), key: 'a' }] }), /malformed/],
    ['a bad time', JSON.stringify({ keys: [{ sha256: d('a'), notAfter: 'tomorrow' }] }), /RFC 3339/],
    [
      'too many keys',
      JSON.stringify({ keys: Array.from({ length: 20 }, (_, i) => ({ sha256: d(`k${i}`) })) }),
      /malformed/,
    ],
  ])('refuses %s without echoing it', (_what, text, message) => {
    let error = '';
    try {
      parseKeySet(text);
    } catch (err) {
      error = (err as Error).message;
    }
    expect(error).toMatch(message);
    expect(error).not.toContain('my-stream-key');
  });
});

describe('parseDuration', () => {
  it.each([
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['0s', 0],
    ['24h', 86_400_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', '1d', '-1m', '1.5h', '10m1h', ' 10m', '10M'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/not a duration/);
  });
});
