import { afterEach, describe, expect, it, vi } from 'vitest';
import { feedParts, llOptions } from '../../../test/support/llhls-timeline.ts';
import { advancePartLimit, blockTimeoutMs, decide, isSatisfied, parseDirectives } from './blocking-reload.ts';
import { ReloadWaiters } from './reload-waiters.ts';

// 10 parts of 0.5 s: segments 0 and 1 complete (4 parts each), segment 2 open with parts 0 and 1.
const tl = feedParts(10);
const partTarget = llOptions.partTarget;

describe('parseDirectives', () => {
  it('reads _HLS_msn, _HLS_part and _HLS_skip', () => {
    expect(parseDirectives('_HLS_msn=2&_HLS_part=3&_HLS_skip=YES')).toEqual({
      ok: true,
      directives: { msn: 2, part: 3, skip: true },
    });
    expect(parseDirectives('token=abc')).toEqual({ ok: true, directives: { skip: false } });
    expect(parseDirectives('_HLS_skip=v2')).toMatchObject({ ok: true, directives: { skip: true } });
  });

  it.each(['_HLS_part=1', '_HLS_msn=-1', '_HLS_msn=1.5', '_HLS_msn=01', '_HLS_msn=2&_HLS_part=x', '_HLS_skip=NO'])(
    'refuses %s',
    (query) => expect(parseDirectives(query).ok).toBe(false),
  );
});

describe('decide', () => {
  it('answers at once what exists, what left the window, and requests without msn', () => {
    expect(decide({ skip: false }, tl, partTarget)).toEqual({ kind: 'now' });
    expect(decide({ msn: 2, part: 1, skip: false }, tl, partTarget)).toEqual({ kind: 'now' });
    expect(decide({ msn: 1, skip: false }, tl, partTarget)).toEqual({ kind: 'now' }); // complete
    expect(decide({ msn: 0, part: 3, skip: false }, tl, partTarget)).toEqual({ kind: 'now' });
    // Part 9 of segment 1, which has 4: part 0 of segment 2, which exists.
    expect(decide({ msn: 1, part: 9, skip: false }, tl, partTarget)).toEqual({ kind: 'now' });
  });

  it('waits for the next part, the open segment, and the next segments', () => {
    expect(decide({ msn: 2, part: 2, skip: false }, tl, partTarget)).toEqual({ kind: 'wait' });
    expect(decide({ msn: 2, skip: false }, tl, partTarget)).toEqual({ kind: 'wait' }); // until segment 2 is complete
    expect(decide({ msn: 3, part: 0, skip: false }, tl, partTarget)).toEqual({ kind: 'wait' });
    expect(decide({ msn: 4, skip: false }, tl, partTarget)).toEqual({ kind: 'wait' });
  });

  it('refuses an msn more than 2 past the last segment and a part past the advance part limit', () => {
    expect(advancePartLimit(0.5)).toBe(6);
    expect(advancePartLimit(1)).toBe(3);
    expect(decide({ msn: 5, skip: false }, tl, partTarget)).toMatchObject({ kind: 'bad-request' });
    expect(decide({ msn: 2, part: 7, skip: false }, tl, partTarget)).toEqual({ kind: 'wait' }); // 6 ahead of part 1
    expect(decide({ msn: 2, part: 8, skip: false }, tl, partTarget)).toMatchObject({ kind: 'bad-request' });
    expect(decide({ msn: 3, part: 6, skip: false }, tl, partTarget)).toMatchObject({ kind: 'bad-request' });
  });

  it('ignores the directives once the playlist has ended', () => {
    expect(decide({ msn: 9, part: 9, skip: false }, tl, partTarget, true)).toEqual({ kind: 'now' });
  });

  it('follows msn/part across a segment boundary', () => {
    const next = feedParts(13); // segment 2 closed by part 0 of segment 3
    expect(isSatisfied({ msn: 2, part: 3 }, next)).toBe(true);
    expect(isSatisfied({ msn: 2, part: 4 }, next)).toBe(true); // past segment 2's last: part 0 of 3
    expect(isSatisfied({ msn: 2 }, next)).toBe(true);
    expect(isSatisfied({ msn: 3 }, next)).toBe(false);
    expect(isSatisfied({ msn: 3, part: 1 }, next)).toBe(false);
  });
});

describe('ReloadWaiters', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a blocked request in the tick its part is appended', async () => {
    const waiters = new ReloadWaiters(tl);
    expect(await waiters.wait({ msn: 2, part: 1 }, 1000)).toBe('ready');
    const blocked = waiters.wait({ msn: 2, part: 2 }, 60_000);
    const later = waiters.wait({ msn: 3, part: 0 }, 60_000);
    expect(waiters.size).toBe(2);
    waiters.update(feedParts(11));
    expect(await blocked).toBe('ready');
    expect(waiters.size).toBe(1);
    waiters.close();
    expect(await later).toBe('closed');
    expect(await waiters.wait({ msn: 9 }, 1000)).toBe('closed');
  });

  it('times out after 3 target durations, and lets an aborted request go', async () => {
    vi.useFakeTimers();
    const waiters = new ReloadWaiters(tl);
    const timeoutMs = blockTimeoutMs(llOptions.targetDuration);
    expect(timeoutMs).toBe(6000);
    const blocked = waiters.wait({ msn: 3 }, timeoutMs);
    const abort = new AbortController();
    const aborted = waiters.wait({ msn: 3 }, timeoutMs, abort.signal);
    abort.abort();
    expect(await aborted).toBe('closed');
    vi.advanceTimersByTime(timeoutMs - 1);
    waiters.update(tl);
    expect(waiters.size).toBe(1);
    vi.advanceTimersByTime(1);
    expect(await blocked).toBe('timeout');
    expect(waiters.size).toBe(0);
  });
});
