import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyDigest } from './ingest-keys.ts';
import {
  channelAccess,
  decodeRouteTable,
  encodeRouteTable,
  indexRouteTable,
  lookupKey,
  parseRouteTable,
  routeHashOfDigest,
  routeKeyHash,
  serializeRouteTable,
  type RouteEntry,
  type RouteTable,
} from './route-table.ts';

const secret = randomBytes(32);
const backend = (n: number) => ({ app: 'live', rtmp: `10.0.0.${n}:1935`, http: `10.0.0.${n}:8080` });
const entry = (key: string, name: string, n: number, notAfter?: string): RouteEntry => ({
  keyHash: routeKeyHash(secret, key),
  ...(notAfter !== undefined && { notAfter }),
  namespace: 'tenant-a',
  name,
  ...backend(n),
});
const now = Date.parse('2026-12-01T12:00:00Z');

describe('routeKeyHash', () => {
  it('is HMAC-SHA256 hex of the trimmed key, different per secret and per key', () => {
    const keys = Array.from({ length: 20 }, () => randomBytes(18).toString('base64url'));
    const hashes = new Set(keys.map((k) => routeKeyHash(secret, k)));
    expect(hashes.size).toBe(keys.length);
    for (const k of keys) {
      expect(routeKeyHash(secret, k)).toMatch(/^[0-9a-f]{64}$/);
      expect(routeKeyHash(secret, `${k}\n`)).toBe(routeKeyHash(secret, k));
      expect(routeKeyHash(randomBytes(32), k)).not.toBe(routeKeyHash(secret, k));
      expect(routeKeyHash(secret, k)).not.toContain(Buffer.from(k).toString('hex'));
    }
  });
});

describe('routeHashOfDigest', () => {
  it("is HMAC-SHA256 over the key's SHA-256 bytes: the key set's digest gives the key's route hash", () => {
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(6 + i).toString('base64url');
      const digest = keyDigest(key) ?? '';
      const expected = createHmac('sha256', secret).update(createHash('sha256').update(key).digest()).digest('hex');
      expect(routeHashOfDigest(secret, digest)).toBe(expected);
      expect(routeKeyHash(secret, ` ${key}\n`)).toBe(expected);
      expect(routeHashOfDigest(randomBytes(32), digest)).not.toBe(expected);
    }
  });

  it('refuses what is not a digest', () => {
    for (const bad of ['', 'ab', 'A'.repeat(64), 'g'.repeat(64), '0'.repeat(63), '0'.repeat(65)]) {
      expect(() => routeHashOfDigest(secret, bad)).toThrow(/64 lowercase hex/);
    }
  });
});

describe('lookupKey', () => {
  const keys = Array.from({ length: 30 }, (_, i) => `key-${i}-${randomBytes(8).toString('hex')}`);
  const table: RouteTable = { version: 1, entries: keys.map((k, i) => entry(k, `ch-${i % 10}`, i % 10)) };
  const index = indexRouteTable(table);

  it('finds the channel of every key in the table, and nothing for any other key', () => {
    keys.forEach((k, i) => expect(lookupKey(index, secret, k, now)?.name).toBe(`ch-${i % 10}`));
    for (let i = 0; i < 50; i++) expect(lookupKey(index, secret, randomBytes(12).toString('hex'), now)).toBeUndefined();
    expect(lookupKey(index, secret, '', now)).toBeUndefined();
    expect(lookupKey(index, secret, `${keys[0]}x`, now)).toBeUndefined();
    expect(lookupKey(index, secret, keys[0]!.slice(0, -1), now)).toBeUndefined();
  });

  it('needs the routing secret: the same key under another secret opens nothing', () => {
    for (const k of keys) expect(lookupKey(index, randomBytes(32), k, now)).toBeUndefined();
  });

  it('honours notAfter: accepted strictly before, refused at and after it', () => {
    const t = indexRouteTable({
      version: 1,
      entries: [entry('current', 'ch', 1), entry('old', 'ch', 1, '2026-12-01T12:10:00Z')],
    });
    const limit = Date.parse('2026-12-01T12:10:00Z');
    for (const at of [now, limit - 1]) expect(lookupKey(t, secret, 'old', at)?.name).toBe('ch');
    for (const at of [limit, limit + 1, limit + 3_600_000]) {
      expect(lookupKey(t, secret, 'old', at)).toBeUndefined();
      expect(lookupKey(t, secret, 'current', at)?.name).toBe('ch');
    }
  });

  it('indexes channels by namespace/name with their backends', () => {
    expect(index.channels.size).toBe(10);
    expect(index.channels.get('tenant-a/ch-3')).toEqual({ namespace: 'tenant-a', name: 'ch-3', ...backend(3) });
  });
});

describe('parseRouteTable / serializeRouteTable', () => {
  const table: RouteTable = {
    version: 1,
    entries: [entry('a', 'one', 1), entry('b', 'one', 1, '2026-12-01T12:10:00Z'), entry('c', 'two.x', 2)],
  };

  it('round-trips canonically', () => {
    const text = serializeRouteTable(table);
    expect(parseRouteTable(text)).toEqual(table);
    expect(serializeRouteTable(parseRouteTable(text))).toBe(text);
  });

  it('accepts IPv6 and DNS backends', () => {
    const e = { ...entry('d', 'three', 3), rtmp: '[fd00::1]:1935', http: 'ch.tenant-a.svc.cluster.local:8080' };
    expect(parseRouteTable(serializeRouteTable({ version: 1, entries: [e] })).entries[0]).toEqual(e);
  });

  const bad: Array<[string, unknown]> = [
    ['not JSON', 'nope'],
    ['a version other than 1', { version: 2, entries: [] }],
    ['no version', { entries: [] }],
    ['an unknown field', { version: 1, entries: [], extra: 1 }],
    ['an upper-case hash', { version: 1, entries: [{ ...entry('a', 'x', 1), keyHash: 'A'.repeat(64) }] }],
    ['a short hash', { version: 1, entries: [{ ...entry('a', 'x', 1), keyHash: 'a'.repeat(63) }] }],
    ['a plaintext key field', { version: 1, entries: [{ ...entry('a', 'x', 1), streamKey: 'k' }] }],
    ['a bad notAfter', { version: 1, entries: [{ ...entry('a', 'x', 1), notAfter: 'tomorrow' }] }],
    ['a bad namespace', { version: 1, entries: [{ ...entry('a', 'x', 1), namespace: 'Tenant_A' }] }],
    ['a bad app', { version: 1, entries: [{ ...entry('a', 'x', 1), app: 'live/other' }] }],
    ['no port', { version: 1, entries: [{ ...entry('a', 'x', 1), rtmp: '10.0.0.1' }] }],
    ['port 0', { version: 1, entries: [{ ...entry('a', 'x', 1), http: '10.0.0.1:0' }] }],
    ['port 70000', { version: 1, entries: [{ ...entry('a', 'x', 1), http: '10.0.0.1:70000' }] }],
    ['a URL instead of host:port', { version: 1, entries: [{ ...entry('a', 'x', 1), rtmp: 'rtmp://h:1935' }] }],
    ['one key for two channels', { version: 1, entries: [entry('a', 'x', 1), entry('a', 'y', 2)] }],
    ['one channel on two backends', { version: 1, entries: [entry('a', 'x', 1), entry('b', 'x', 2)] }],
    ['lowLatency other than true', { version: 1, entries: [{ ...entry('a', 'x', 1), lowLatency: false }] }],
    [
      'one channel both low latency and not',
      { version: 1, entries: [{ ...entry('a', 'x', 1), lowLatency: true }, entry('b', 'x', 1)] },
    ],
  ];
  it.each(bad)('refuses %s, without echoing the content', (_what, value) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    let message = '';
    try {
      parseRouteTable(text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^the route table is/);
    expect(message).not.toContain(routeKeyHash(secret, 'a'));
  });
});

describe('low latency', () => {
  const ll = (key: string, name: string, n: number): RouteEntry => ({ ...entry(key, name, n), lowLatency: true });
  const table: RouteTable = { version: 1, entries: [ll('a', 'fast', 1), ll('b', 'fast', 1), entry('c', 'classic', 2)] };

  it("round-trips, and the index gives it to the channel's route (only where true)", () => {
    const text = serializeRouteTable(table);
    expect(parseRouteTable(text)).toEqual(table);
    const index = indexRouteTable(parseRouteTable(text));
    expect(index.channels.get('tenant-a/fast')).toEqual({
      namespace: 'tenant-a',
      name: 'fast',
      ...backend(1),
      lowLatency: true,
    });
    expect(index.channels.get('tenant-a/classic')).toEqual({ namespace: 'tenant-a', name: 'classic', ...backend(2) });
  });

  it('leaves the field out of classic entries (older tables keep their bytes)', () => {
    const classic = serializeRouteTable({ version: 1, entries: [entry('c', 'classic', 2)] });
    expect(classic).not.toContain('lowLatency');
    expect(serializeRouteTable(table).match(/"lowLatency":true/g)).toHaveLength(2);
  });
});

describe('channel access', () => {
  const hash = `scrypt$14$8$1$${'A'.repeat(22)}$${'B'.repeat(43)}`;
  const table: RouteTable = {
    version: 1,
    entries: [entry('a', 'one', 1), entry('b', 'two', 2), entry('c', 'three', 3)],
    access: [
      { namespace: 'tenant-a', name: 'one', visibility: 'private', revokedViewers: ['v-1'] },
      { namespace: 'tenant-a', name: 'two', visibility: 'password', passwordHash: hash },
    ],
  };

  it('round-trips, and says public for a channel it does not name', () => {
    const text = serializeRouteTable(table);
    expect(parseRouteTable(text)).toEqual(table);
    const index = indexRouteTable(parseRouteTable(text));
    expect(channelAccess(index, 'tenant-a', 'one')).toMatchObject({ visibility: 'private', revokedViewers: ['v-1'] });
    expect(channelAccess(index, 'tenant-a', 'two').passwordHash).toBe(hash);
    expect(channelAccess(index, 'tenant-a', 'three')).toEqual({
      namespace: 'tenant-a',
      name: 'three',
      visibility: 'public',
    });
  });

  it('leaves the field out when every channel is public (older tables keep their bytes)', () => {
    expect(serializeRouteTable({ ...table, access: [] })).not.toContain('access');
  });

  const one = table.access?.[0];
  const bad: Array<[string, unknown]> = [
    ['an unknown visibility', [{ ...one, visibility: 'secret' }]],
    ['a password channel without a hash', [{ ...one, visibility: 'password' }]],
    ['a hash on a private channel', [{ ...one, passwordHash: hash }]],
    ['a plaintext password', [{ ...one, visibility: 'password', passwordHash: 'hunter2' }]],
    ['two entries for one channel', [one, one]],
    ['an empty viewer id', [{ ...one, revokedViewers: [''] }]],
  ];
  it.each(bad)('refuses %s', (_what, access) => {
    const text = JSON.stringify({ version: 1, entries: table.entries, access });
    expect(() => parseRouteTable(text)).toThrow(/^the route table is malformed at access/);
  });
});

describe('encodeRouteTable / decodeRouteTable', () => {
  // A fleet of the size the fleet issue asks for, with the cluster DNS names the operator writes.
  const fleet = (channels: number): RouteTable => ({
    version: 1,
    entries: Array.from({ length: channels }, (_, i) => {
      const host = `channel-${i}.tenant-${i % 50}.svc`;
      return { keyHash: routeKeyHash(secret, `key-${i}`), namespace: `tenant-${i % 50}`, name: `channel-${i}`, app: 'live', rtmp: `${host}:1935`, http: `${host}:8080` }; // prettier-ignore
    }),
  });

  it('gives back the same text, and the same bytes for the same text', () => {
    const text = serializeRouteTable(fleet(20));
    expect(decodeRouteTable(encodeRouteTable(text))).toBe(text);
    expect(encodeRouteTable(text).equals(encodeRouteTable(text))).toBe(true);
  });

  it('fits 5,000 channels with a rotation each in a Secret (1 MiB), which plain JSON does not', () => {
    const table = fleet(10_000);
    const text = serializeRouteTable(table);
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    expect(encodeRouteTable(text).length).toBeLessThan(1024 * 1024);
  });

  it('reads plain JSON too (a table written by hand or by an older operator), and refuses broken gzip', () => {
    const text = serializeRouteTable(fleet(2));
    expect(decodeRouteTable(Buffer.from(text))).toBe(text);
    const broken = encodeRouteTable(text).subarray(0, 20);
    expect(() => decodeRouteTable(broken)).toThrow(/not valid gzip/);
  });
});
