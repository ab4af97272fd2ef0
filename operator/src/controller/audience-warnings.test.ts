import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import { ScheduledStartWarnings } from './audience-warnings.ts';

const now = Date.parse('2026-12-02T12:00:00Z');
const hour = 3600_000;

function channel(name: string, scheduledStart: string | undefined, generation = 1): LiveStream {
  const ls = storedLiveStream(minimalExample, { uid: `uid-${name}`, generation });
  ls.metadata.name = name;
  if (scheduledStart !== undefined) ls.spec.audience = { visibility: 'public', scheduledStart };
  return ls;
}

describe('ScheduledStartWarnings', () => {
  it('warns once when a scheduled start is over a day old, again only after a new write or a new staleness', () => {
    const recorded: Array<[string, string, string, string]> = [];
    const warnings = new ScheduledStartWarnings({
      record: (ls, type, reason, message) => recorded.push([ls.metadata?.name ?? '', type, reason, message]),
    });
    const stale = new Date(now - 25 * hour).toISOString();
    const soon = new Date(now + hour).toISOString();
    const justPast = new Date(now - 23 * hour).toISOString();
    warnings.check(
      [channel('old', stale), channel('soon', soon), channel('late', justPast), channel('none', undefined)],
      now,
    );
    expect(recorded).toEqual([
      [
        'old',
        'Warning',
        'ScheduledStartIgnored',
        expect.stringMatching(/^spec\.audience\.scheduledStart is more than 24 hours/),
      ],
    ]);
    // Later passes: nothing new for the same write; "late" goes stale as time passes: once.
    warnings.check([channel('old', stale), channel('late', justPast)], now + 30 * 60_000);
    expect(recorded).toHaveLength(1);
    warnings.check([channel('old', stale), channel('late', justPast)], now + 2 * hour);
    warnings.check([channel('old', stale), channel('late', justPast)], now + 3 * hour);
    expect(recorded.map((r) => r[0])).toEqual(['old', 'late']);
    // Rewritten (a new generation) still stale: told again; fixed, then stale again: told again.
    warnings.check([channel('old', stale, 2)], now);
    warnings.check([channel('old', soon, 3)], now);
    warnings.check([channel('old', stale, 4)], now);
    expect(recorded.map((r) => r[0])).toEqual(['old', 'late', 'old', 'old']);
  });
});
