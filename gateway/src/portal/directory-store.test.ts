import { describe, expect, it } from 'vitest';
import type { ChannelListing, DirectoryUpdate } from '../../../contract/src/portal-directory.ts';
import { DirectoryStore, type DirectoryChange } from './directory-store.ts';

const listing = (name: string, extra: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: 'ns',
  name,
  title: name,
  visibility: 'public',
  state: 'Live',
  viewers: 0,
  ...extra,
});
const update = (u: Partial<DirectoryUpdate>): DirectoryUpdate => ({
  generation: 'g1',
  sequence: 0,
  reset: false,
  upserts: [],
  deletes: [],
  ...u,
});

describe('DirectoryStore', () => {
  it('takes only a reset at first, then each next sequence of its generation, and tells its listeners', () => {
    const store = new DirectoryStore();
    const changes: DirectoryChange[] = [];
    store.onChange((c) => changes.push(c));
    expect(store.apply(update({ sequence: 1, upserts: [listing('a')] }))).toEqual({
      accepted: false,
      held: { generation: '', sequence: 0 },
    });
    expect(store.apply(update({ reset: true, sequence: 4, upserts: [listing('a'), listing('b')] })).accepted).toBe(
      true,
    );
    expect(store.apply(update({ sequence: 6, deletes: [{ namespace: 'ns', name: 'a' }] })).accepted).toBe(false);
    expect(store.apply(update({ generation: 'g0', sequence: 5 })).accepted).toBe(false);
    const next = store.apply(
      update({ sequence: 5, upserts: [listing('b', { viewers: 7 })], deletes: [{ namespace: 'ns', name: 'a' }] }),
    );
    expect(next).toEqual({ accepted: true, held: { generation: 'g1', sequence: 5 } });
    expect(store.list()).toEqual([listing('b', { viewers: 7 })]);
    expect(store.get('ns', 'a')).toBeUndefined();
    expect(changes.map((c) => [c.reset, [...c.touched].sort()])).toEqual([
      [true, ['ns/a', 'ns/b']],
      [false, ['ns/a', 'ns/b']],
    ]);
  });

  it('a reset replaces everything held and touches what it dropped', () => {
    const store = new DirectoryStore();
    store.apply(update({ reset: true, upserts: [listing('a'), listing('b')] }));
    const changes: DirectoryChange[] = [];
    const stop = store.onChange((c) => changes.push(c));
    store.apply(update({ generation: 'g2', reset: true, upserts: [listing('c')] }));
    expect(store.list().map((l) => l.name)).toEqual(['c']);
    expect([...changes[0]!.touched].sort()).toEqual(['ns/a', 'ns/b', 'ns/c']);
    stop();
    store.apply(update({ generation: 'g2', sequence: 1 }));
    expect(changes).toHaveLength(1);
    expect(store.held()).toEqual({ generation: 'g2', sequence: 1 });
  });
});
