// Serves a container's report log (report-log.ts) to an operator without Redis, and tees the container's reporter
// into it. The transcoder serves it on a port of its own (ports.reports, or LSO_REPORTS_PORT); the relay on its
// metrics server, through handleReportLogRequest. Only when there is no Redis URL: with Redis the reports travel
// through Redis, and a log nobody reads would only be one more way to read them.
// Each request must carry the channel's bearer token (LSO_REPORT_TOKEN, from the operator's "<name>-reports" Secret);
// anything else gets 401 and nothing more, and a container given no token refuses every request.
// A port that cannot be bound costs the reports, never the stream: the container goes on, and says so.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseReportLogQuery, reportLogAuthorized, reportLogPath } from '../../../contract/src/report-log.ts';
import { env as names } from '../../../contract/src/pod-contract.ts';
import { reportLogSettings } from '../config/settings.ts';
import type { Reporter } from './reporter.ts';
import { ReportLog } from './report-log.ts';

/** What a container serves its report log from: the log, and the token a request must carry (none: refuse all). */
export interface ServedLog {
  log: ReportLog;
  token: string | undefined;
}

/** Answers GET reportLogPath from the log, to a request with the token; false for any other path (the caller's). */
export function handleReportLogRequest(served: ServedLog, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://report-log');
  if (url.pathname !== reportLogPath) return false;
  // Before anything else, the method included: a request without the token learns nothing about the log.
  if (!reportLogAuthorized(req.headers.authorization, served.token)) {
    res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/plain' }).end('unauthorized\n');
    return true;
  }
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('method not allowed\n');
    return true;
  }
  const { cursor, limit } = parseReportLogQuery(url.searchParams);
  const body = JSON.stringify(served.log.page(cursor, limit));
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
  return true;
}

/** Says at start when the log will refuse every request (the pod was given no token), never the token itself. */
export function warnWithoutToken(token: string | undefined, logger: Logger | undefined): void {
  if (token === undefined || token === '')
    logger?.warn(`no ${names.reportToken}: the report log refuses every request, the operator reads no reports`);
}

/** The reporter, with every report also added to `log` (the log first: it never fails). */
export function teeReporter(reporter: Reporter, log: ReportLog, onClose?: () => Promise<void>): Reporter {
  return {
    report(type, session, data) {
      log.add(type, session, data);
      reporter.report(type, session, data);
    },
    async close(options) {
      await reporter.close(options);
      await onClose?.();
    },
    get buffered() {
      return reporter.buffered;
    },
  };
}

export interface ReportLogServerOptions {
  namespace: string;
  name: string;
  /** Present: reports go to Redis and no log is kept. */
  redisUrl?: string | undefined;
  /** 0 picks a free port. Default: LSO_REPORTS_PORT, else ports.reports (reportLogSettings). */
  port?: number;
  /** The bearer token a request must carry. Default: LSO_REPORT_TOKEN (reportLogSettings); none refuses all. */
  token?: string | undefined;
  host?: string;
  logger?: Logger;
  maxEntries?: number;
}

export interface ServedReportLog {
  /** The log's reporter: the one given, teed into the log when there is one. */
  reporter: Reporter;
  /** The bound port; undefined when no log is served. */
  port: number | undefined;
  log: ReportLog | undefined;
}

/** Without Redis: a log of the reports, served on its own port; with Redis: the reporter as it is. */
export async function serveReportLog(reporter: Reporter, options: ReportLogServerOptions): Promise<ServedReportLog> {
  if (options.redisUrl) return { reporter, port: undefined, log: undefined };
  const log = newReportLog(options);
  const fromEnv = () => reportLogSettings(process.env);
  const served: ServedLog = { log, token: options.token ?? fromEnv().token };
  const server = createServer((req, res) => {
    if (!handleReportLogRequest(served, req, res))
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  const port = options.port ?? fromEnv().port;
  try {
    await listen(server, port, options.host ?? '0.0.0.0');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    options.logger?.error({ port, code }, 'cannot serve the report log: without Redis this pod reports nothing');
    return { reporter, port: undefined, log: undefined };
  }
  const bound = (server.address() as AddressInfo).port;
  options.logger?.info({ port: bound }, 'no Redis: reports are kept in memory for the operator to poll');
  warnWithoutToken(served.token, options.logger);
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections(); // a poller's keep-alive connection must not hold the exit
    });
  return { reporter: teeReporter(reporter, log, close), port: bound, log };
}

/** A log for this process (its boot id drawn here). */
export function newReportLog(options: Pick<ReportLogServerOptions, 'namespace' | 'name' | 'maxEntries'>): ReportLog {
  const { namespace, name, maxEntries } = options;
  return new ReportLog({ namespace, name, boot: randomUUID(), ...(maxEntries !== undefined && { maxEntries }) });
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
