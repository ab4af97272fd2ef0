// A session-history writer as a child process, for the test that kills it mid-write (SIGKILL) and starts it again:
// it folds synthetic reports as the operator does (publish-state.ts) and records every step into a SessionHistory
// with its spool on disk. Sessions FROM..TO, one after another; "durable <i>" on stdout once session i's rows are
// journaled (the point a report source may forget them: the operator acks a report after that). With STALL_AFTER set,
// the writer stops for 10 s right after the COMMIT of that write and before the spool is released, so a kill there
// leaves committed rows in the spool: the restart must not count them twice.
//
//   node test/support/history-writer.ts  (env: LSO_HISTORY_DATABASE_URL, SPOOL_DIR, FROM, TO, STALL_AFTER)
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyEvent } from '../../contract/src/reports.ts';
import { createLogger } from '../../contract/src/logger.ts';
import { applyReport, type PublishObservation } from '../../operator/src/controller/publish-state.ts';
import { HistorySpool } from '../../operator/src/history/history-spool.ts';
import { postgresHistoryDatabase, SessionHistory } from '../../operator/src/history/session-history.ts';

export const writerNamespace = 'killed-writer';
export const writerBase = Date.parse('2026-12-01T00:00:00Z');
export const writerSessionId = (i: number): string => `w${String(i).padStart(4, '0')}`;
export const writerChannel = (i: number): string => `ch${i % 3}`;

/** Session i's reports: start, six heartbeats 5 s apart with (i % 4) + 1 viewers, the publisher leaving, the end. */
export function writerReports(i: number): AnyEvent[] {
  const session = writerSessionId(i);
  const start = writerBase + i * 120_000;
  let seq = i * 100;
  const ev = (type: AnyEvent['type'], ts: number, data: object): AnyEvent =>
    ({ type, namespace: writerNamespace, name: writerChannel(i), session, ts, seq: ++seq, data }) as AnyEvent;
  const viewers = (i % 4) + 1;
  const out: AnyEvent[] = [
    ev('publish-started', start, { resumed: false, videoCodec: 'h264', width: 640, height: 360 }),
  ];
  for (let n = 1; n <= 6; n++) {
    out.push(
      ev('heartbeat', start + n * 5_000, {
        state: 'live',
        bitrateKbps: 800,
        fps: 30,
        width: 640,
        height: 360,
        viewers,
        bytesIn: n * 500_000,
        segments: { '360p': n },
      }),
    );
  }
  out.push(ev('publish-ended', start + 31_000, { reconnectWindowSeconds: 5, bytesIn: 3_100_000 }));
  out.push(
    ev('session-ended', start + 36_000, {
      duration: 36,
      bytesIn: 3_100_000,
      peakViewers: viewers,
      reason: 'window-expired',
    }),
  );
  return out;
}

/** Viewer-seconds session i counts: 6 heartbeats of 5 s each. */
export const writerViewerSeconds = (i: number): number => ((i % 4) + 1) * 30;

async function main(): Promise<void> {
  const env = process.env;
  const from = Number(env.FROM ?? 0);
  const to = Number(env.TO ?? 0);
  const stallAfter = Number(env.STALL_AFTER ?? 0);
  const logger = createLogger('history-writer', 'warn', process.stderr);
  const db = postgresHistoryDatabase(env.LSO_HISTORY_DATABASE_URL ?? '', logger);
  let writes = 0;
  const history = new SessionHistory({
    database: {
      ...db,
      write: async (batch) => {
        await db.write(batch);
        writes++;
        if (writes === stallAfter) {
          process.stdout.write(`committed ${writes}\n`);
          await sleep(10_000);
        }
      },
    },
    spool: new HistorySpool(env.SPOOL_DIR ?? '', 16 * 1024 * 1024),
    logger,
    flushIntervalMs: 20,
  });
  history.start();
  process.stdout.write(`loaded ${history.pendingRows()}\n`);
  const observations = new Map<string, PublishObservation>();
  for (let i = from; i <= to; i++) {
    for (const ev of writerReports(i)) {
      const key = `${ev.namespace}/${ev.name}`;
      const step = applyReport(observations.get(key), ev);
      observations.set(key, step.obs);
      history.record(key, step.transition, step.obs, ev);
      await sleep(5);
    }
    process.stdout.write(`durable ${i}\n`);
  }
  for (let n = 0; n < 300 && history.pendingRows() > 0; n++) await history.flush().then(() => sleep(20));
  process.stdout.write(`done ${history.pendingRows()}\n`);
  await history.close();
}

if (import.meta.main) await main();
