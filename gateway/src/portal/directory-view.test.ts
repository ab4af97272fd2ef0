import { describe, expect, it } from 'vitest';
import type { ChannelListing } from '../../../contract/src/portal-directory.ts';
import { channelPhase, directoryView, scheduledGraceMs } from './directory-view.ts';

const now = Date.parse('2026-12-02T12:00:00Z');
const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();
const listing = (name: string, extra: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: 'ns',
  name,
  title: name,
  visibility: 'public',
  state: 'Idle',
  viewers: 0,
  ...extra,
});

describe('directoryView', () => {
  it('lists public channels on air, most watched first, and upcoming ones, soonest first', () => {
    const view = directoryView(
      [
        listing('a', { state: 'Live', viewers: 3 }),
        listing('b', { state: 'Reconnecting', viewers: 9 }),
        listing('hidden', { state: 'Live', visibility: 'unlisted' }),
        listing('priv', { state: 'Live', visibility: 'private' }),
        listing('pw', { state: 'Live', visibility: 'password' }),
        listing('idle'),
        listing('failed', { state: 'Failed' }),
        listing('later', { scheduledStart: at(3_600_000) }),
        listing('soon', { scheduledStart: at(60_000) }),
        listing('late', { scheduledStart: at(-scheduledGraceMs + 1000) }),
        listing('gone', { scheduledStart: at(-scheduledGraceMs - 1000) }),
        listing('unlisted-later', { scheduledStart: at(60_000), visibility: 'unlisted' }),
      ],
      now,
    );
    expect(view.live.map((l) => l.name)).toEqual(['b', 'a']);
    expect(view.scheduled.map((l) => l.name)).toEqual(['late', 'soon', 'later']);
  });

  it('shows a live channel as live even when it also has a schedule', () => {
    const view = directoryView([listing('a', { state: 'Live', scheduledStart: at(60_000) })], now);
    expect(view.live).toHaveLength(1);
    expect(view.scheduled).toHaveLength(0);
  });
});

describe('channelPhase', () => {
  it.each([
    [listing('x', { state: 'Live' }), 'live'],
    [listing('x', { state: 'Reconnecting', lastEndedAt: at(-1) }), 'live'],
    [listing('x', { scheduledStart: at(1000), lastEndedAt: at(-1) }), 'scheduled'],
    [listing('x', { lastEndedAt: at(-1000) }), 'ended'],
    [listing('x', { state: 'Paused' }), 'offline'],
  ] as const)('%#: %s', (l, phase) => {
    expect(channelPhase(l, now)).toBe(phase);
  });
});
