import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import type { AnyEvent } from '../../../contract/src/reports.ts';
import { applyReport, type PublishObservation } from '../controller/publish-state.ts';
import { loadHistoryConfig, databaseTarget } from './history-config.ts';
import { HistorySpool } from './history-spool.ts';
import { SessionHistory, type HistoryDatabase } from './session-history.ts';
import type { HistoryBatch } from './session-rows.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lso-history-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A database that fails while `down`, and keeps every batch it committed. */
function fakeDatabase() {
  const state = { down: false, migrations: 0, writes: [] as HistoryBatch[], deletes: [] as number[] };
  const fail = () => Promise.reject(new Error('connect ECONNREFUSED'));
  const db: HistoryDatabase = {
    migrate: () => (state.down ? fail() : Promise.resolve(void state.migrations++)),
    write: (b) => (state.down ? fail() : Promise.resolve(void state.writes.push(structuredClone(b)))),
    deleteOlderThan: (cutoff) =>
      state.down ? fail() : (state.deletes.push(cutoff), Promise.resolve({ sessions: 0, minutes: 0 })),
    end: () => Promise.resolve(),
  };
  return { state, db };
}

function setup(retentionDays = 0) {
  const { state, db } = fakeDatabase();
  let now = Date.parse('2026-12-02T10:00:00Z');
  const history = new SessionHistory({
    database: db,
    spool: new HistorySpool(dir, 1_000_000),
    logger: createLogger('history-test', 'silent'),
    flushIntervalMs: 3_600_000,
    retentionDays,
    retentionIntervalMs: 3_600_000,
    backoff: { baseMs: 1_000, maxMs: 8_000, jitter: 0 },
    now: () => now,
  });
  history.start();
  let obs: PublishObservation | undefined;
  let seq = 0;
  const report = (type: AnyEvent['type'], session: string, data: object) => {
    const ev = { type, namespace: 'ns', name: 'ch', session, ts: now, seq: ++seq, data } as AnyEvent;
    const step = applyReport(obs, ev);
    obs = step.obs;
    history.record('ns/ch', step.transition, obs, ev);
  };
  return { state, history, report, advance: (ms: number) => (now += ms), now: () => now };
}

describe('SessionHistory', () => {
  it('migrates once, then writes pending rows; a failure keeps them and retries after the backoff', async () => {
    const { state, history, report, advance } = setup();
    report('publish-started', 's1', { resumed: false, videoCodec: 'h264' });
    state.down = true;
    await history.flush();
    expect(state.migrations).toBe(0);
    expect(history.pendingRows()).toBe(1);
    state.down = false;
    await history.flush(); // within the backoff: not tried
    expect(state.migrations).toBe(0);
    advance(1_000);
    report('session-ended', 's1', { duration: 1, bytesIn: 10, peakViewers: 0, reason: 'shutdown' });
    await history.flush();
    expect(state.migrations).toBe(1);
    expect(state.writes).toHaveLength(1);
    // The open and the closed row, merged into one before it was written.
    expect(Object.values(state.writes[0]!.sessions)).toEqual([
      expect.objectContaining({ sessionId: 's1', videoCodec: 'h264', endReason: 'shutdown' }),
    ]);
    expect(history.pendingRows()).toBe(0);
    await history.flush();
    expect(state.writes).toHaveLength(1); // nothing pending, nothing written
    await history.close();
  });

  it('writes what an earlier process left in its spool', async () => {
    const first = setup();
    first.state.down = true;
    first.report('publish-started', 's1', { resumed: false });
    await first.history.close(100);
    const second = setup();
    expect(second.history.pendingRows()).toBe(1);
    await second.history.flush();
    expect(Object.keys(second.state.writes[0]!.sessions)).toEqual(['s1']);
    await second.history.close();
  });

  it('deletes past retention once per interval', async () => {
    const { state, history, advance, now } = setup(30);
    await history.flush();
    await history.flush();
    expect(state.deletes).toEqual([now() - 30 * 86_400_000]);
    advance(3_600_000);
    await history.flush();
    expect(state.deletes).toHaveLength(2);
    await history.close();
  });
});

describe('loadHistoryConfig', () => {
  it('is off without a URL, reads the URL or its file, and names the variable it refuses', () => {
    expect(loadHistoryConfig({})).toBeUndefined();
    const c = loadHistoryConfig({
      LSO_HISTORY_DATABASE_URL: 'postgres://u:p@db:5432/h',
      LSO_HISTORY_RETENTION_DAYS: '7',
    });
    expect(c).toMatchObject({ databaseUrl: 'postgres://u:p@db:5432/h', retentionDays: 7, flushIntervalMs: 1_000 });
    const f = loadHistoryConfig({ LSO_HISTORY_DATABASE_URL_FILE: '/secret/url' }, () => 'postgresql://u:p@db/h\n');
    expect(f?.databaseUrl).toBe('postgresql://u:p@db/h');
    expect(() => loadHistoryConfig({ LSO_HISTORY_DATABASE_URL: 'mysql://x' })).toThrow(/LSO_HISTORY_DATABASE_URL/);
    expect(() =>
      loadHistoryConfig({ LSO_HISTORY_DATABASE_URL: 'postgres://x', LSO_HISTORY_SPOOL_MAX_BYTES: '1' }),
    ).toThrow(/LSO_HISTORY_SPOOL_MAX_BYTES/);
    expect(databaseTarget('postgres://u:secret@db:6543/h?sslmode=require')).toBe('db:6543/h');
  });
});
