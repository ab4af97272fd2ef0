import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistorySpool } from './history-spool.ts';
import { emptyBatch, mergeBatch, type HistoryBatch } from './session-rows.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lso-history-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const row = (id: string, peakViewers: number, endedAt?: number): HistoryBatch => ({
  sessions: {
    [id]: { sessionId: id, namespace: 'ns', name: 'ch', startedAt: 1_000, peakViewers, ...(endedAt && { endedAt }) },
  },
  minutes: {},
});

/** Appends like the history does: `all` tracks everything not committed. */
function appender(spool: HistorySpool) {
  let all = emptyBatch();
  return {
    add: (b: HistoryBatch) => {
      const result = spool.append(b, () => mergeBatch(all, b));
      if (result === 'appended') all = mergeBatch(all, b);
      return result;
    },
    all: () => all,
  };
}

describe('HistorySpool', () => {
  it('gives back what was appended and not released, merged, after a restart; a torn last line is skipped', () => {
    const spool = new HistorySpool(dir, 1_000_000);
    expect(spool.load()).toEqual(emptyBatch());
    const a = appender(spool);
    a.add(row('s1', 1));
    const upTo = spool.seal();
    a.add(row('s2', 2));
    a.add(row('s2', 5, 9_000));
    spool.release(upTo); // s1 was committed
    appendFileSync(path.join(dir, readdirSync(dir)[0]!), '{"sessions":{"s3"'); // killed mid-append
    const loaded = new HistorySpool(dir, 1_000_000).load();
    expect(loaded).toEqual(row('s2', 5, 9_000));
  });

  it('removes nothing appended after the seal when the write it covers succeeds', () => {
    const spool = new HistorySpool(dir, 1_000_000);
    spool.load();
    expect(spool.seal()).toBe(0); // nothing to cover yet
    const a = appender(spool);
    a.add(row('s1', 1));
    const upTo = spool.seal();
    a.add(row('s2', 1));
    spool.release(upTo);
    expect(Object.keys(new HistorySpool(dir, 1_000_000).load().sessions)).toEqual(['s2']);
  });

  it('compacts past its bound into the merged rows, then refuses rows once even those fill half of it', () => {
    const spool = new HistorySpool(dir, 2_000);
    spool.load();
    const a = appender(spool);
    // The same session over and over: compaction folds it into one row, so it never fills.
    for (let n = 0; n < 100; n++) expect(a.add(row('same', n))).toBe('appended');
    expect(spool.bytes()).toBeLessThan(2_000);
    expect(new HistorySpool(dir, 2_000).load()).toEqual(row('same', 99));
    // Distinct sessions cannot be folded: past the bound they are refused, and what was kept is intact.
    const results = Array.from({ length: 40 }, (_, n) => a.add(row(`s${n}`, 1)));
    expect(results).toContain('full');
    expect(results.indexOf('full')).toBeGreaterThan(0);
    expect(new HistorySpool(dir, 2_000).load()).toEqual(a.all());
    spool.release(spool.seal());
    expect(spool.bytes()).toBe(0);
    expect(a.add(row('after', 1))).toBe('appended');
  });
});
