import { describe, expect, it } from 'vitest';
import { encodeEvent, type TranscoderEvent } from '../../../contract/src/reports.ts';
import { channelKey, chunked, entriesOf, foldEntry, lastDeliveredId, trimPoint } from './events-consumer.ts';
import { applyReport, type PublishObservation } from './publish-state.ts';

const ended: TranscoderEvent<'session-ended'> = {
  type: 'session-ended',
  namespace: 'media',
  name: 'news',
  session: 's1',
  seq: 3,
  ts: Date.parse('2026-11-21T12:00:30Z'),
  data: { duration: 30, bytesIn: 10, peakViewers: 2, reason: 'shutdown' },
};
const news = { namespace: 'media', name: 'news' };
const fields = (data: string, type: string = ended.type) =>
  encodeEvent(ended).map((v, i, all) => (all[i - 1] === 'data' ? data : all[i - 1] === 'type' ? type : v));
const nothing = () => undefined;

describe('foldEntry', () => {
  it('folds a valid entry into the observation of its LiveStream', () => {
    const seen: string[] = [];
    const outcome = foldEntry(encodeEvent(ended), news, (key) => (seen.push(key), undefined));
    expect(seen).toEqual(['media/news']);
    expect(outcome).toMatchObject({ kind: 'folded', key: 'media/news', event: ended });
    expect(outcome.kind === 'folded' && outcome.step.transition.kind).toBe('ended');
  });

  it.each([
    ['a session-ended without data', fields('{}'), 'session-ended', /^data\.duration: /],
    ['an entry of an unknown type', fields('{}', 'relay-started'), 'unknown', /unknown event type/],
    ['data that is not JSON', fields('{"duration":'), 'session-ended', /^data is not valid JSON$/],
  ])('finds %s invalid, with its type and why', (_what, entry, type, reason) => {
    const outcome = foldEntry(entry, news, nothing);
    expect(outcome).toEqual({
      kind: 'invalid',
      type,
      cause: 'malformed',
      reason: expect.stringMatching(reason) as string,
    });
  });

  it('finds an entry a reducer throws on invalid too, instead of throwing', () => {
    const broken = (): never => {
      throw new RangeError('Invalid time value');
    };
    expect(foldEntry(encodeEvent(ended), news, nothing, broken)).toEqual({
      kind: 'invalid',
      type: 'session-ended',
      cause: 'reducer',
      reason: 'reducer failed: RangeError: Invalid time value',
    });
  });

  it('folds from what is held for the key', () => {
    const prev: PublishObservation = applyReport(undefined, ended).obs;
    const outcome = foldEntry(encodeEvent(ended), news, (key) => (key === 'media/news' ? prev : undefined));
    // The same session-ended again: already in the history, announced once.
    expect(outcome.kind === 'folded' && outcome.step.transition).toEqual({ kind: 'none' });
  });

  // The channel is the stream's: whatever namespace or name the envelope claims, only an exact match folds.
  it.each([
    ['another namespace', { namespace: 'other', name: 'news' }],
    ['another name', { namespace: 'media', name: 'sport' }],
    ['both', { namespace: 'tenant-b', name: 'show' }],
    ['a name that only starts alike', { namespace: 'media', name: 'news-2' }],
    ['a namespace that only ends alike', { namespace: 'xmedia', name: 'news' }],
  ])('finds an entry read from a stream of %s than it claims invalid, never folded', (_what, stream) => {
    const looked: string[] = [];
    const outcome = foldEntry(encodeEvent(ended), stream, (key) => (looked.push(key), undefined));
    expect(outcome).toEqual({
      kind: 'invalid',
      type: 'session-ended',
      cause: 'foreign-channel',
      reason: expect.stringMatching(/^namespace\/name: /) as string,
    });
    expect(looked).toEqual([]); // nobody's observation is touched
    // The reason never repeats what the entry claimed (writer-chosen text).
    expect(outcome.kind === 'invalid' && outcome.reason).not.toMatch(/\bmedia\b|\bnews\b/);
  });

  it('keys a folded entry by the stream, so a key is always a channel of a stream read', () => {
    expect(channelKey(news)).toBe('media/news');
    const outcome = foldEntry(encodeEvent(ended), news, nothing);
    expect(outcome.kind === 'folded' && outcome.key).toBe(channelKey(news));
  });
});

describe('entriesOf', () => {
  const entry: [string, string[]] = ['1-0', ['type', 'heartbeat']];
  it.each([
    ['a RESP3 map', new Map([['s:a', [entry]]])],
    [
      'a RESP2 array',
      [
        ['s:b', []],
        ['s:a', [entry]],
      ],
    ],
    ['an object', { 's:a': [entry] }],
  ])('takes one stream’s entries out of %s', (_what, reply) => {
    expect(entriesOf(reply, 's:a')).toEqual([entry]);
    expect(entriesOf(reply, 's:c')).toEqual([]);
  });

  it('reads no entries from an empty reply', () => {
    expect(entriesOf(null, 's:a')).toEqual([]);
  });
});

describe('chunked', () => {
  it.each([0, 1, 999, 1000, 1001, 2500])('splits %i streams into reads of at most 1000, in order', (n) => {
    const items = Array.from({ length: n }, (_, i) => i);
    const chunks = chunked(items, 1000);
    expect(chunks.flat()).toEqual(items);
    expect(chunks.every((c) => c.length > 0 && c.length <= 1000)).toBe(true);
    expect(chunks.length).toBe(Math.ceil(n / 1000));
  });
});

describe('trimming what is acknowledged', () => {
  const flat = ['name', 'livestream-operator', 'consumers', 1, 'pending', 0, 'last-delivered-id', '5-0', 'lag', 0];
  it.each([
    ['RESP2 arrays', [['name', 'other', 'last-delivered-id', '9-0'], flat]],
    ['RESP3 maps', [new Map<string, unknown>(pairsOf(flat))]],
  ])('reads the group’s last delivered id from %s', (_what, reply) => {
    expect(lastDeliveredId(reply, 'livestream-operator')).toBe('5-0');
    expect(lastDeliveredId(reply, 'absent')).toBeUndefined();
  });

  it.each([
    ['nothing pending: up to the last delivered', [0, null, null, null], '5-0', '5-0'],
    ['entries pending: up to the oldest of them, which stays', [2, '3-0', '4-0', []], '5-0', '3-0'],
    ['nothing delivered yet: nothing', [0, null, null, null], '0-0', undefined],
    ['no group: nothing', [0, null, null, null], undefined, undefined],
  ])('%s', (_what, pending, last, expected) => {
    expect(trimPoint(pending, last)).toBe(expected);
  });
});

function pairsOf(flat: readonly unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]]);
  return out;
}
