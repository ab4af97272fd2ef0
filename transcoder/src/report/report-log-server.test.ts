// The report log over loopback HTTP, as the operator's poller reads it, and the tee onto a container's reporter.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEvent, type EventType } from '../../../contract/src/reports.ts';
import { parseReportLogPage, reportLogQuery, type ReportLogCursor } from '../../../contract/src/report-log.ts';
import type { Reporter } from './reporter.ts';
import { reportLogPort, serveReportLog } from './report-log-server.ts';

class RecordingReporter implements Reporter {
  readonly reports: EventType[] = [];
  closed = false;
  readonly buffered = 7;
  report(type: EventType): void {
    this.reports.push(type);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const quiet = pino({ level: 'silent' });
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function get(port: number, cursor: ReportLogCursor) {
  const res = await fetch(`http://127.0.0.1:${port}${reportLogQuery(cursor)}`);
  expect(res.status).toBe(200);
  return parseReportLogPage(await res.json());
}

describe('serveReportLog', () => {
  it('without Redis serves every report the container makes, and still hands each to its reporter', async () => {
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', port: 0, host: '127.0.0.1' });
    closers.push(() => served.reporter.close());
    expect(served.port).toBeGreaterThan(0);
    served.reporter.report('publish-refused', '', { reason: 'bad_key' });
    served.reporter.report('publish-refused', '', { reason: 'busy' });
    expect(inner.reports).toEqual(['publish-refused', 'publish-refused']);
    expect(served.reporter.buffered).toBe(7);

    const first = await get(served.port!, { boot: '', after: 0 });
    expect(first.entries.map((f) => parseEvent(f).data)).toEqual([{ reason: 'bad_key' }, { reason: 'busy' }]);
    served.reporter.report('publish-refused', '', { reason: 'wrong_path' });
    const next = await get(served.port!, { boot: first.boot, after: first.through });
    expect(next.entries.map((f) => parseEvent(f).seq)).toEqual([3]);
    expect(next.boot).toBe(first.boot);

    // Only GET of the one path.
    expect((await fetch(`http://127.0.0.1:${served.port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${served.port}/reports`, { method: 'POST' })).status).toBe(405);
  });

  it('gives each process its own boot id', async () => {
    const boots = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const served = await serveReportLog(new RecordingReporter(), { namespace: 'ns', name: 'a', port: 0 });
      boots.add(served.log!.boot);
      await served.reporter.close();
    }
    expect(boots.size).toBe(3);
  });

  it('closes its listener with the reporter, a poller keep-alive connection included', async () => {
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', port: 0, host: '127.0.0.1' });
    await get(served.port!, { boot: '', after: 0 });
    await served.reporter.close();
    expect(inner.closed).toBe(true);
    await expect(fetch(`http://127.0.0.1:${served.port}/reports`)).rejects.toThrow();
  });

  it('with Redis keeps no log and opens no port', async () => {
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', redisUrl: 'redis://x:6379', port: 0 });
    expect(served).toEqual({ reporter: inner, port: undefined, log: undefined });
  });

  it('a port it cannot bind costs the log, never the container', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => busy.close(() => resolve())));
    const port = (busy.address() as AddressInfo).port;
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, {
      namespace: 'ns',
      name: 'show',
      port,
      host: '127.0.0.1',
      logger: quiet,
    });
    expect(served).toEqual({ reporter: inner, port: undefined, log: undefined });
  });

  it('takes its port from LSO_REPORTS_PORT, else the contract, and refuses what is no port', () => {
    expect(reportLogPort({})).toBe(8082);
    expect(reportLogPort({ LSO_REPORTS_PORT: '' })).toBe(8082);
    expect(reportLogPort({ LSO_REPORTS_PORT: '9100' })).toBe(9100);
    for (const bad of ['-1', '65536', 'http', '80.5']) {
      expect(() => reportLogPort({ LSO_REPORTS_PORT: bad })).toThrow(/LSO_REPORTS_PORT/);
    }
  });
});
