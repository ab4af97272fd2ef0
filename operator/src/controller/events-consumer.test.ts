import { describe, expect, it } from 'vitest';
import { encodeEvent, type TranscoderEvent } from '../../../contract/src/reports.ts';
import { foldEntry } from './events-consumer.ts';
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
const fields = (data: string, type: string = ended.type) =>
  encodeEvent(ended).map((v, i, all) => (all[i - 1] === 'data' ? data : all[i - 1] === 'type' ? type : v));
const nothing = () => undefined;

describe('foldEntry', () => {
  it('folds a valid entry into the observation of its LiveStream', () => {
    const seen: string[] = [];
    const outcome = foldEntry(encodeEvent(ended), (key) => (seen.push(key), undefined));
    expect(seen).toEqual(['media/news']);
    expect(outcome).toMatchObject({ kind: 'folded', key: 'media/news', event: ended });
    expect(outcome.kind === 'folded' && outcome.step.transition.kind).toBe('ended');
  });

  it.each([
    ['a session-ended without data', fields('{}'), 'session-ended', /^data\.duration: /],
    ['an entry of an unknown type', fields('{}', 'relay-started'), 'unknown', /unknown event type/],
    ['data that is not JSON', fields('{"duration":'), 'session-ended', /^data is not valid JSON$/],
  ])('finds %s invalid, with its type and why', (_what, entry, type, reason) => {
    const outcome = foldEntry(entry, nothing);
    expect(outcome).toEqual({ kind: 'invalid', type, reason: expect.stringMatching(reason) as string });
  });

  it('finds an entry a reducer throws on invalid too, instead of throwing', () => {
    const broken = (): never => {
      throw new RangeError('Invalid time value');
    };
    expect(foldEntry(encodeEvent(ended), nothing, broken)).toEqual({
      kind: 'invalid',
      type: 'session-ended',
      reason: 'reducer failed: RangeError: Invalid time value',
    });
  });

  it('folds from what is held for the key', () => {
    const prev: PublishObservation = applyReport(undefined, ended).obs;
    const outcome = foldEntry(encodeEvent(ended), (key) => (key === 'media/news' ? prev : undefined));
    // The same session-ended again: already in the history, announced once.
    expect(outcome.kind === 'folded' && outcome.step.transition).toEqual({ kind: 'none' });
  });
});
