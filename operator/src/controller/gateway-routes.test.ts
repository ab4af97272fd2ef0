import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { keyDigest, rollKeySet, type IngestKeySet } from '../../../contract/src/ingest-keys.ts';
import {
  channelAccess,
  indexRouteTable,
  lookupKey,
  parseRouteTable,
  serializeRouteTable,
} from '../../../contract/src/route-table.ts';
import { hashViewerPassword, verifyViewerPassword } from '../../../contract/src/viewer-password.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import {
  buildRouteTable,
  channelAccessEntry,
  channelEntries,
  lockedPasswordHash,
  viewerPasswordSalt,
  type RoutedChannel,
} from './gateway-routes.ts';

const secret = randomBytes(32).toString('base64url');
const t0 = Date.UTC(2026, 11, 1, 12);

const liveStream = (name: string, namespace = 'media', spec: Partial<LiveStream['spec']> = {}): LiveStream => {
  const ls = storedLiveStream(minimalExample, { namespace });
  ls.metadata.name = name;
  Object.assign(ls.spec, spec);
  return ls;
};
const setOf = (...keys: string[]): IngestKeySet => ({ keys: keys.map((k) => ({ sha256: keyDigest(k) ?? '' })) });
const channel = (name: string, keySet: IngestKeySet | undefined, over: Partial<LiveStream['spec']> = {}) => ({
  ls: liveStream(name, 'media', over),
  keySet,
});

/** The table as the gateway reads it: serialized, parsed by the contract, indexed. */
const asGateway = (channels: RoutedChannel[], nowMs = t0) =>
  indexRouteTable(parseRouteTable(serializeRouteTable(buildRouteTable(channels, secret, nowMs).table)));

describe('buildRouteTable', () => {
  it("routes every channel's key to that channel's Service and no other key anywhere", () => {
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}-${randomBytes(9).toString('base64url')}`);
    const channels = keys.map((k, i) =>
      channel(
        `ch-${i}`,
        setOf(k),
        i % 3 === 0 ? { ingest: { app: 'studio', serviceType: 'ClusterIP', httpFlv: false } } : {},
      ),
    );
    const index = asGateway(channels);
    keys.forEach((k, i) => {
      expect(lookupKey(index, secret, k, t0)).toEqual({
        namespace: 'media',
        name: `ch-${i}`,
        app: i % 3 === 0 ? 'studio' : 'live',
        rtmp: `ch-${i}.media.svc:1935`,
        http: `ch-${i}.media.svc:8080`,
      });
    });
    for (let i = 0; i < 30; i++) expect(lookupKey(index, secret, randomBytes(12).toString('hex'), t0)).toBeUndefined();
  });

  it('never holds a key or its plain digest', () => {
    const keys = Array.from({ length: 5 }, () => randomBytes(16).toString('hex'));
    const text = serializeRouteTable(buildRouteTable([channel('a', setOf(...keys))], secret, t0).table);
    for (const k of keys) {
      expect(text).not.toContain(k);
      expect(text).not.toContain(keyDigest(k));
    }
  });

  it("routes a superseded key until the set's notAfter, and the new one at once", () => {
    const first = rollKeySet(undefined, keyDigest('old-key'), t0, 60_000).set;
    const rotated = rollKeySet(first, keyDigest('new-key'), t0 + 5_000, 60_000).set;
    const notAfter = rotated.keys[1]?.notAfter ?? '';
    expect(Date.parse(notAfter)).toBe(t0 + 65_000);
    const plan = buildRouteTable([channel('ch', rotated)], secret, t0 + 5_000);
    expect(plan.table.entries.map((e) => e.notAfter)).toContain(notAfter);
    const index = asGateway([channel('ch', rotated)], t0 + 5_000);
    expect(lookupKey(index, secret, 'new-key', t0 + 5_000)?.name).toBe('ch');
    expect(lookupKey(index, secret, 'old-key', t0 + 64_999)?.name).toBe('ch');
    expect(lookupKey(index, secret, 'old-key', t0 + 65_000)).toBeUndefined();
    // Built after the expiry (the set not pruned yet): the old key has no entry at all.
    const later = buildRouteTable([channel('ch', rotated)], secret, t0 + 65_000).table.entries;
    expect(later).toHaveLength(1);
    expect(later[0]?.notAfter).toBeUndefined();
  });

  it('marks a channel with spec.hls.lowLatency enabled as low latency, on every one of its entries', () => {
    const hls = (lowLatency?: { enabled: boolean; partSeconds: number }) => ({
      hls: { segmentSeconds: 2, playlistLength: 6, ...(lowLatency && { lowLatency }) },
    });
    const rotated = rollKeySet(
      rollKeySet(undefined, keyDigest('old') ?? '', t0, 60_000).set,
      keyDigest('new') ?? '',
      t0,
      60_000,
    ).set;
    const channels = [
      channel('fast', rotated, hls({ enabled: true, partSeconds: 0.5 })),
      channel('off', setOf('k-off'), hls({ enabled: false, partSeconds: 0.5 })),
      channel('classic', setOf('k-classic'), hls()),
    ];
    const entries = buildRouteTable(channels, secret, t0).table.entries;
    expect(entries.filter((e) => e.name === 'fast').map((e) => e.lowLatency)).toEqual([true, true]);
    expect(entries.filter((e) => e.name !== 'fast').some((e) => 'lowLatency' in e)).toBe(false);
    const index = asGateway(channels);
    expect(index.channels.get('media/fast')?.lowLatency).toBe(true);
    expect(index.channels.get('media/classic')?.lowLatency).toBeUndefined();
    expect(lookupKey(index, secret, 'old', t0)?.lowLatency).toBe(true);
  });

  it('routes nothing for a paused channel, one being deleted, or one without a key set or key', () => {
    const deleting = channel('gone', setOf('k-gone'));
    deleting.ls.metadata.deletionTimestamp = new Date(t0);
    const onlyOld: IngestKeySet = { keys: [{ sha256: keyDigest('k-old') ?? '', notAfter: rfc3339(t0 + 1_000) }] };
    const plan = buildRouteTable(
      [
        channel('paused', setOf('k-paused'), { paused: true }),
        deleting,
        channel('unwritten', undefined),
        channel('empty', { keys: [] }),
        channel('lost-key', onlyOld),
        channel('on', setOf('k-on')),
      ],
      secret,
      t0,
    );
    expect(plan.table.entries.map((e) => e.name)).toEqual(['lost-key', 'on']);
    expect(channelEntries(channel('paused', setOf('x'), { paused: true }), secret, t0)).toEqual([]);
  });

  it('routes a channel reached through the gateway (Gateway, Both, or absent) and not one reached via Service only', () => {
    const ingest = (via: 'Gateway' | 'Service' | 'Both' | undefined, serviceType = 'ClusterIP' as const) => ({
      ingest: { app: 'live', serviceType, httpFlv: false, ...(via ? { via } : {}) },
    });
    const plan = buildRouteTable(
      [
        channel('gateway', setOf('k1'), ingest('Gateway')),
        channel('both', setOf('k2'), ingest('Both')),
        channel('own', setOf('k3'), ingest('Service')),
        channel('default', setOf('k4'), ingest(undefined)),
      ],
      secret,
      t0,
    );
    expect(plan.table.entries.map((e) => e.name).sort()).toEqual(['both', 'default', 'gateway']);
  });

  it('routes a key shared by two channels to neither, names both, and keeps the others', () => {
    const plan = buildRouteTable(
      [channel('b', setOf('same', 'b-own')), channel('a', setOf('same')), channel('c', setOf('c-own'))],
      secret,
      t0,
    );
    expect(plan.conflicts).toEqual(['media/a', 'media/b']);
    const index = indexRouteTable(parseRouteTable(serializeRouteTable(plan.table)));
    expect(lookupKey(index, secret, 'same', t0)).toBeUndefined();
    expect(lookupKey(index, secret, 'b-own', t0)?.name).toBe('b');
    expect(lookupKey(index, secret, 'c-own', t0)?.name).toBe('c');
  });

  it('gives the same bytes for the same channels in any order, and other bytes after any change', () => {
    const channels = ['x', 'y', 'z'].map((n) => channel(n, setOf(`${n}-1`, `${n}-2`)));
    const text = (cs: RoutedChannel[]) => serializeRouteTable(buildRouteTable(cs, secret, t0).table);
    expect(text([...channels].reverse())).toBe(text(channels));
    expect(text([channels[0]!, channels[2]!, channels[1]!])).toBe(text(channels));
    expect(text(channels.slice(1))).not.toBe(text(channels));
    expect(text([...channels.slice(1), channel('x', setOf('x-3'))])).not.toBe(text(channels));
    expect(text([...channels.slice(1), channel('x', setOf('x-1', 'x-2'), { paused: true })])).not.toBe(text(channels));
  });
});

describe('access entries from spec.audience', () => {
  const audience = (visibility: string, more: object = {}) =>
    ({ audience: { visibility, ...more } }) as unknown as Partial<LiveStream['spec']>;

  it('rules every channel that is not public, as the gateway reads the table; public ones have no entry', async () => {
    const hash = await hashViewerPassword('open sesame', viewerPasswordSalt(secret, 'media', 'pw'));
    const pw = { ...channel('pw', setOf('k-pw'), audience('password', { password: { secretName: 's' } })) };
    const index = asGateway([
      channel('open', setOf('k-open'), audience('public', { revokedViewers: ['v1'] })),
      channel('bare', setOf('k-bare')),
      channel('unl', setOf('k-unl'), audience('unlisted')),
      channel('priv', setOf('k-priv'), audience('private', { revokedViewers: ['v9', 'v2'] })),
      { ...pw, passwordHash: hash },
    ]);
    expect([...index.access.keys()]).toEqual(['media/priv', 'media/pw', 'media/unl']);
    expect(channelAccess(index, 'media', 'open').visibility).toBe('public');
    expect(channelAccess(index, 'media', 'bare').visibility).toBe('public');
    expect(channelAccess(index, 'media', 'unl')).toEqual({ namespace: 'media', name: 'unl', visibility: 'unlisted' });
    expect(channelAccess(index, 'media', 'priv').revokedViewers).toEqual(['v2', 'v9']);
    const gated = channelAccess(index, 'media', 'pw');
    expect(gated.visibility).toBe('password');
    expect(await verifyViewerPassword('open sesame', gated.passwordHash ?? '')).toBe(true);
    expect(await verifyViewerPassword('open sesam', gated.passwordHash ?? '')).toBe(false);
  });

  it('keeps a password channel closed while its password is unknown: a well-formed hash that no password opens', async () => {
    const pw = channel('pw', setOf('k'), audience('password', { password: { secretName: 's' } }));
    const index = asGateway([pw]);
    const locked = channelAccess(index, 'media', 'pw');
    expect(locked).toEqual({
      namespace: 'media',
      name: 'pw',
      visibility: 'password',
      passwordHash: lockedPasswordHash(secret, 'media', 'pw'),
    });
    for (const guess of ['', 'password', 'k', secret, 'pw']) {
      expect(await verifyViewerPassword(guess, locked.passwordHash ?? '')).toBe(false);
    }
    // Deterministic: a missing Secret does not rewrite the table at each rebuild; per channel and routing secret.
    expect(lockedPasswordHash(secret, 'media', 'pw')).toBe(locked.passwordHash);
    expect(lockedPasswordHash(secret, 'media', 'pw2')).not.toBe(locked.passwordHash);
    expect(lockedPasswordHash('another routing secret of 32 chars', 'media', 'pw')).not.toBe(locked.passwordHash);
  });

  it('treats a visibility it does not know as private, and rules paused channels but not deleted or via-Service ones', () => {
    const odd = channel('odd', setOf('k1'), audience('friends-only'));
    expect(channelAccessEntry(odd, secret)?.visibility).toBe('private');
    const paused = channel('paused', setOf('k2'), { ...audience('private'), paused: true });
    expect(channelAccessEntry(paused, secret)?.visibility).toBe('private');
    const gone = channel('gone', setOf('k3'), audience('private'));
    gone.ls.metadata.deletionTimestamp = new Date(t0);
    expect(channelAccessEntry(gone, secret)).toBeUndefined();
    const own = channel('own', setOf('k4'), {
      ...audience('private'),
      ingest: { app: 'live', serviceType: 'ClusterIP', httpFlv: false, via: 'Service' },
    });
    expect(channelAccessEntry(own, secret)).toBeUndefined();
    // An access entry without routes (no key yet) still parses: the gateway learns the rule before the first publish.
    const plan = buildRouteTable([channel('nokey', undefined, audience('unlisted'))], secret, t0);
    expect(parseRouteTable(serializeRouteTable(plan.table)).access).toEqual([
      { namespace: 'media', name: 'nokey', visibility: 'unlisted' },
    ]);
  });

  it('derives the salt from the routing secret and the channel, 16 bytes, the same at every build', () => {
    const salt = viewerPasswordSalt(secret, 'media', 'pw');
    expect(salt).toHaveLength(16);
    expect(viewerPasswordSalt(secret, 'media', 'pw')).toEqual(salt);
    expect(viewerPasswordSalt(secret, 'media2', 'pw')).not.toEqual(salt);
    expect(viewerPasswordSalt(secret, 'medi', 'apw')).not.toEqual(viewerPasswordSalt(secret, 'media', 'pw'));
  });

  it('gives the same bytes for unchanged audiences, other bytes when a visibility or revoked viewer changes', () => {
    const text = (cs: RoutedChannel[]) => serializeRouteTable(buildRouteTable(cs, secret, t0).table);
    const base = [channel('a', setOf('a'), audience('private')), channel('b', setOf('b'), audience('unlisted'))];
    expect(text([...base].reverse())).toBe(text(base));
    expect(text([base[0]!, channel('b', setOf('b'), audience('private'))])).not.toBe(text(base));
    expect(text([channel('a', setOf('a'), audience('private', { revokedViewers: ['x'] })), base[1]!])).not.toBe(
      text(base),
    );
    expect(serializeRouteTable(buildRouteTable([channel('p', setOf('p'))], secret, t0).table)).not.toContain('access');
  });
});
