// The report log over loopback HTTP, as the operator's poller reads it, and the tee onto a container's reporter.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEvent, type EventType } from '../../../contract/src/reports.ts';
import { randomBytes } from 'node:crypto';
import {
  parseReportLogPage,
  reportLogHeaders,
  reportLogQuery,
  type ReportLogCursor,
} from '../../../contract/src/report-log.ts';
import { reportLogSettings } from '../config/settings.ts';
import type { Reporter } from './reporter.ts';
import { serveReportLog } from './report-log-server.ts';

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

const newToken = () => randomBytes(32).toString('base64url');
const token = newToken();

async function get(port: number, cursor: ReportLogCursor, with_: string = token) {
  const res = await fetch(`http://127.0.0.1:${port}${reportLogQuery(cursor)}`, { headers: reportLogHeaders(with_) });
  expect(res.status).toBe(200);
  return parseReportLogPage(await res.json());
}

describe('serveReportLog', () => {
  it('without Redis serves every report the container makes, and still hands each to its reporter', async () => {
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', port: 0, host: '127.0.0.1', token });
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
    const headers = reportLogHeaders(token);
    expect((await fetch(`http://127.0.0.1:${served.port}/metrics`, { headers })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${served.port}/reports`, { method: 'POST', headers })).status).toBe(405);
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
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', port: 0, host: '127.0.0.1', token });
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
    expect(reportLogSettings({})).toEqual({ port: 8082 });
    expect(reportLogSettings({ LSO_REPORTS_PORT: '' }).port).toBe(8082);
    expect(reportLogSettings({ LSO_REPORTS_PORT: '9100' }).port).toBe(9100);
    for (const bad of ['-1', '65536', 'http', '80.5']) {
      expect(() => reportLogSettings({ LSO_REPORTS_PORT: bad })).toThrow(/LSO_REPORTS_PORT/);
    }
    expect(reportLogSettings({ LSO_REPORT_TOKEN: token })).toEqual({ port: 8082, token });
    expect(reportLogSettings({ LSO_REPORT_TOKEN: '' })).toEqual({ port: 8082 });
  });
});

describe('the report log refuses every request without the channel’s token', () => {
  const other = newToken();
  /** Authorization headers that must not open the log of `token`. */
  const refused: [string, Record<string, string>][] = [
    ['no header', {}],
    ['another channel’s token', reportLogHeaders(other)],
    [
      'the token with one character changed',
      reportLogHeaders(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`),
    ],
    ['a prefix of the token', reportLogHeaders(token.slice(0, 20))],
    ['the token and more', reportLogHeaders(`${token}x`)],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: `Basic ${token}` }],
    ['the bare token', { authorization: token }],
    ['the token in a second header field', { authorization: `Bearer ${other}, Bearer ${token}` }],
  ];

  async function serve(opts: { token?: string }) {
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', port: 0, host: '127.0.0.1', ...opts });
    closers.push(() => served.reporter.close());
    served.reporter.report('publish-refused', '', { reason: 'bad_key' });
    return `http://127.0.0.1:${served.port}`;
  }

  it.each(refused)('%s: 401, and nothing of the log', async (_what, headers) => {
    const base = await serve({ token });
    for (const method of ['GET', 'POST', 'HEAD']) {
      const res = await fetch(`${base}${reportLogQuery({ boot: '', after: 0 })}`, { method, headers });
      expect(res.status, method).toBe(401);
      const body = await res.text();
      expect(body).not.toMatch(/boot|entries|publish-refused/);
      expect(body).not.toContain(token);
    }
  });

  it('the token: 200, in any case of the scheme name', async () => {
    const base = await serve({ token });
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await fetch(`${base}/reports`, { headers: { authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
      expect(parseReportLogPage(await res.json()).entries).toHaveLength(1);
    }
  });

  it('a container given no token refuses everyone, and says so', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const inner = new RecordingReporter();
    const served = await serveReportLog(inner, { namespace: 'ns', name: 'show', port: 0, host: '127.0.0.1', logger });
    closers.push(() => served.reporter.close());
    for (const headers of [{}, reportLogHeaders(token), { authorization: 'Bearer ' }, { authorization: 'Bearer' }]) {
      expect((await fetch(`http://127.0.0.1:${served.port}/reports`, { headers })).status).toBe(401);
    }
    expect(lines.join('')).toContain('LSO_REPORT_TOKEN: the report log refuses every request');
  });

  it('never logs the token', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const served = await serveReportLog(new RecordingReporter(), {
      namespace: 'ns',
      name: 'show',
      port: 0,
      token,
      logger,
    });
    await get(served.port!, { boot: '', after: 0 });
    await served.reporter.close();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(token);
  });
});
