import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { keyDigest, rollKeySet, type IngestKeySet } from '../../../contract/src/ingest-keys.ts';
import { indexRouteTable, lookupKey, parseRouteTable, serializeRouteTable } from '../../../contract/src/route-table.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import { buildRouteTable, channelEntries, type RoutedChannel } from './gateway-routes.ts';

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
