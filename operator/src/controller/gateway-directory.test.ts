// The listing of a LiveStream, the diff of two sets of listings, and the split into bounded requests.
import { describe, expect, it } from 'vitest';
import type { AudienceSpec, LiveStream } from '../../../contract/src/api/index.ts';
import { parseDirectoryUpdate, type ChannelListing } from '../../../contract/src/portal-directory.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import { batchDiff, channelListing, diffListings, listingsById, type ListingMemo } from './gateway-directory.ts';

const now = Date.parse('2026-12-02T12:00:00Z');

function channel(name: string, audience?: Partial<AudienceSpec>, status?: LiveStream['status']): LiveStream {
  const ls = storedLiveStream(minimalExample);
  ls.metadata.name = name;
  // As stored: the CRD defaults the visibility.
  if (audience) ls.spec.audience = { visibility: 'public', ...audience };
  if (status) ls.status = status;
  return ls;
}

const listing = (name: string, extra: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: 'media',
  name,
  title: name,
  visibility: 'public',
  state: 'Idle',
  viewers: 0,
  ...extra,
});

describe('channelListing', () => {
  it('lists a channel without an audience by its name, public, with its state and viewers', () => {
    expect(channelListing(channel('plain'), now)).toEqual(listing('plain'));
  });

  it('takes the audience fields and, while live, the session start', () => {
    const ls = channel(
      'show',
      {
        title: 'Friday show',
        description: '# Hello\n*live*',
        visibility: 'unlisted',
        scheduledStart: '2026-12-02T18:00:00Z',
      },
      {
        state: 'Live',
        viewers: 42,
        session: { id: 's2', startedAt: '2026-12-02T11:30:00Z' },
        sessions: [{ id: 's1', startedAt: '2026-12-01T10:00:00Z', endedAt: '2026-12-01T11:00:00Z' }],
      },
    );
    expect(channelListing(ls, now)).toEqual({
      namespace: 'media',
      name: 'show',
      title: 'Friday show',
      description: '# Hello\n*live*',
      visibility: 'unlisted',
      scheduledStart: '2026-12-02T18:00:00Z',
      state: 'Live',
      liveSince: '2026-12-02T11:30:00Z',
      lastEndedAt: '2026-12-01T11:00:00Z',
      viewers: 42,
    });
  });

  it('shows the session start only while Live or Reconnecting', () => {
    const session = { id: 's', startedAt: '2026-12-02T11:30:00Z' };
    const at = (state: 'Live' | 'Reconnecting' | 'Idle' | 'Paused') =>
      channelListing(channel('c', undefined, { state, session }), now).liveSince;
    expect([at('Live'), at('Reconnecting'), at('Idle'), at('Paused')]).toEqual([
      session.startedAt,
      session.startedAt,
      undefined,
      undefined,
    ]);
  });

  it('keeps a scheduled start up to 24 h in the past, not older', () => {
    const start = (s: string) => channelListing(channel('c', { scheduledStart: s }), now).scheduledStart;
    expect(start('2026-12-01T12:00:00Z')).toBe('2026-12-01T12:00:00Z'); // exactly 24 h ago
    expect(start('2026-12-01T11:59:59Z')).toBeUndefined();
    expect(start('not a time')).toBeUndefined();
  });

  it('never sends what a replica would refuse: clipped texts, a bounded integer count, an unknown state as Pending', () => {
    const ls = channel(
      'c',
      { title: 't'.repeat(200), description: 'd'.repeat(6000), visibility: 'secret' as never },
      { state: 'Weird' as never, viewers: -3.5 },
    );
    const l = channelListing(ls, now);
    expect([l.title.length, l.description?.length, l.state, l.viewers]).toEqual([140, 5000, 'Pending', 0]);
    // An unknown visibility never opens a channel.
    expect(l.visibility).toBe('private');
    expect(channelListing(channel('c', { title: '   ' }), now).title).toBe('c');
    expect(channelListing(channel('c', undefined, { viewers: 2.7e9 }), now).viewers).toBe(1e9);
    const update = { generation: 'g', sequence: 1, reset: true, upserts: [l], deletes: [] };
    expect(() => parseDirectoryUpdate(update)).not.toThrow();
  });

  it('keys the listings by channel id', () => {
    expect([...listingsById([channel('b'), channel('a')], now).keys()]).toEqual(['media/b', 'media/a']);
  });

  it('with a memo, builds a listing again only for a new object, or once its scheduled start is too old', () => {
    const memo: ListingMemo = new WeakMap();
    const plain = channel('plain');
    const planned = channel('planned', { scheduledStart: '2026-12-02T10:00:00Z' });
    const first = listingsById([plain, planned], now, memo);
    const again = listingsById([plain, planned], now + 3600_000, memo);
    expect(again.get('media/plain')).toBe(first.get('media/plain'));
    expect(again.get('media/planned')).toBe(first.get('media/planned'));
    // A changed LiveStream is a new object in the informer's cache.
    const changed = { ...plain, status: { state: 'Live' as const } };
    expect(listingsById([changed], now, memo).get('media/plain')?.state).toBe('Live');
    // 24 h after its scheduled start the same object lists without it.
    const later = listingsById([planned], Date.parse('2026-12-03T10:00:01Z'), memo).get('media/planned');
    expect(later?.scheduledStart).toBeUndefined();
  });
});

describe('diffListings', () => {
  const map = (...ls: ChannelListing[]) => new Map(ls.map((l) => [`${l.namespace}/${l.name}`, l]));

  it('upserts new and changed listings, deletes the gone ones, sorted', () => {
    const before = map(listing('a'), listing('b'), listing('c'), listing('d', { description: 'x' }));
    const after = map(
      listing('e'),
      listing('a'),
      listing('b', { state: 'Live', liveSince: '2026-12-02T11:00:00Z' }),
      listing('d'),
    );
    expect(diffListings(before, after)).toEqual({
      upserts: [listing('b', { state: 'Live', liveSince: '2026-12-02T11:00:00Z' }), listing('d'), listing('e')],
      deletes: [{ namespace: 'media', name: 'c' }],
    });
  });

  it('finds nothing between equal listings that are different objects', () => {
    expect(diffListings(map(listing('a', { viewers: 3 })), map(listing('a', { viewers: 3 })))).toEqual({
      upserts: [],
      deletes: [],
    });
    expect(diffListings(map(listing('a', { viewers: 3 })), map(listing('a', { viewers: 4 }))).upserts).toHaveLength(1);
  });
});

describe('batchDiff', () => {
  const upserts = Array.from({ length: 7 }, (_, i) => listing(`c${i}`));
  const deletes = [{ namespace: 'media', name: 'gone' }];

  it('splits by count, in order, deletes after the upserts', () => {
    const parts = batchDiff({ upserts, deletes }, { maxItems: 3, maxBytes: 1e9 });
    expect(parts.map((p) => [p.upserts.map((u) => u.name), p.deletes.map((d) => d.name)])).toEqual([
      [['c0', 'c1', 'c2'], []],
      [['c3', 'c4', 'c5'], []],
      [['c6'], ['gone']],
    ]);
  });

  it('splits by serialized size, counting bytes not characters; one oversized item still goes alone', () => {
    const big = (name: string) => listing(name, { description: 'é'.repeat(1000) }); // 2,000 bytes each
    const parts = batchDiff(
      { upserts: [big('a'), big('b'), big('c')], deletes: [] },
      { maxItems: 100, maxBytes: 4500 },
    );
    expect(parts.map((p) => p.upserts.length)).toEqual([2, 1]);
    const alone = batchDiff({ upserts: [big('a'), big('b')], deletes: [] }, { maxItems: 100, maxBytes: 100 });
    expect(alone.map((p) => p.upserts.length)).toEqual([1, 1]);
  });

  it('an empty diff is one empty request (a heartbeat)', () => {
    expect(batchDiff({ upserts: [], deletes: [] }, { maxItems: 3, maxBytes: 1e9 })).toEqual([
      { upserts: [], deletes: [] },
    ]);
  });
});
