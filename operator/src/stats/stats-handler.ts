// The stats API's HTTP handler (contract/src/stats-api.ts) for node:http: GET on the API's paths only, the bearer
// token judged by the authorizer (TokenReview + SubjectAccessReview in production) before anything is read, then one
// read in a READ ONLY transaction whose statement_timeout bounds it. The token is never logged: only the user the
// authorizer named.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type pg from 'pg';
import { bearerToken } from '../../../contract/src/gateway-admin.ts';
import { parseStatsPath, statsApiRoot, type StatsError, type StatsRoute } from '../../../contract/src/stats-api.ts';
import type { StatsAuthorizer } from './authorizer.ts';
import { parseSessionsParams, parseStatsParams } from './stats-params.ts';
import { querySessions, queryStats, type Queryable } from './stats-queries.ts';

export interface StatsHandlerOptions {
  /** the session history's pool; undefined when no database is configured (every read answers 503) */
  pool: pg.Pool | undefined;
  authorizer: StatsAuthorizer;
  logger: Logger;
  /** the clock (ms since the epoch): default ranges end now, and a live session counts up to now */
  now?: () => number;
  /** the server-side bound of one read (statement_timeout), 5 s by default */
  statementTimeoutMs?: number;
}

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const failure = (status: number, error: string, message: string, headers?: Record<string, string>): Answer => ({
  status,
  body: { error, message } satisfies StatsError,
  ...(headers ? { headers } : {}),
});

/** Runs `read` in a READ ONLY transaction bounded by statement_timeout, on a client of its own. */
async function boundedRead<T>(pool: pg.Pool, timeoutMs: number, read: (db: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN READ ONLY');
    // SET LOCAL takes no parameters; the number is ours, an integer.
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    const result = await read(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** 503 for what a retry may cure (the server down, a timeout, too many clients), 500 for the rest. */
function databaseFailure(err: unknown): Answer {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '57014')
    return failure(503, 'Timeout', 'the session store did not answer in time: try a narrower range');
  const transient =
    typeof code === 'string' &&
    (/^(08|53|57P)/.test(code) || /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|PIPE)$/.test(code));
  const message = err instanceof Error ? err.message : String(err);
  if (transient || /timeout|terminat|connect/i.test(message))
    return failure(503, 'Unavailable', 'the session store is unreachable: try again');
  return failure(500, 'InternalError', 'the stats query failed');
}

type Read = (db: Queryable) => Promise<unknown>;

/** The read a route and its parameters ask for, or the 400 naming the parameter. */
function plannedRead(route: StatsRoute, params: URLSearchParams, now: Date): Read | Answer {
  if (route.kind === 'sessions') {
    const q = parseSessionsParams(params);
    return q.ok ? (db) => querySessions(db, route.scope, q.value) : failure(400, 'BadParameter', q.message);
  }
  const q = parseStatsParams(params, now);
  if (!q.ok) return failure(400, 'BadParameter', q.message);
  const { interval, from, to } = q.value;
  return (db) => queryStats(db, route.scope, interval, from, to, now);
}

type Options = Required<Omit<StatsHandlerOptions, 'pool'>> & Pick<StatsHandlerOptions, 'pool'>;

async function answer(
  o: Options,
  route: StatsRoute,
  url: URL,
  token: string | undefined,
): Promise<Answer & { user?: string }> {
  const decision = await o.authorizer.authorize(token, route.scope.namespace);
  if (decision.outcome === 'unauthenticated')
    return failure(401, 'Unauthenticated', decision.message, { 'www-authenticate': 'Bearer' });
  if (decision.outcome === 'forbidden') return { ...failure(403, 'Forbidden', decision.message), user: decision.user };
  if (decision.outcome === 'unavailable') return failure(503, 'Unavailable', decision.message);
  const user = decision.user;
  const read = plannedRead(route, url.searchParams, new Date(o.now()));
  if (typeof read !== 'function') return { ...read, user };
  if (!o.pool) return { ...failure(503, 'Unavailable', 'no session store is configured (the history database)'), user };
  try {
    return { status: 200, body: await boundedRead(o.pool, o.statementTimeoutMs, read), user };
  } catch (err) {
    const a = databaseFailure(err);
    const reason = err instanceof Error ? err.message : String(err);
    o.logger.warn({ err: reason, path: url.pathname, status: a.status }, 'stats read failed');
    return { ...a, user };
  }
}

function send(res: ServerResponse, a: Answer): void {
  const body = JSON.stringify(a.body);
  res.writeHead(a.status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...a.headers,
  });
  res.end(body);
}

/** The request listener of the stats API (mount it on the operator's `stats` port, or route /stats/v1/ to it). */
export function createStatsHandler(options: StatsHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const o = { now: Date.now, statementTimeoutMs: 5_000, ...options };
  return (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://stats.invalid');
    const route = parseStatsPath(url.pathname);
    const done = (a: Answer & { user?: string }): void => {
      send(res, a);
      o.logger.debug(
        {
          method: req.method,
          path: url.pathname,
          status: a.status,
          user: a.user,
          ms: Math.round(performance.now() - started),
        },
        'stats request',
      );
    };
    if (!route)
      return done(
        failure(
          404,
          'NotFound',
          `no such path: ${url.pathname} (the API: ${statsApiRoot}/namespaces/{namespace}[/livestreams/{name}]/{stats,sessions})`,
        ),
      );
    if (req.method !== 'GET')
      return done(
        failure(405, 'MethodNotAllowed', `${req.method} is not allowed: the stats API is read with GET`, {
          allow: 'GET',
        }),
      );
    answer(o, route, url, bearerToken(req.headers.authorization)).then(done, (err: unknown) => {
      o.logger.error(
        { err: err instanceof Error ? err.message : String(err), path: url.pathname },
        'stats request failed',
      );
      done(failure(500, 'InternalError', 'the stats request failed'));
    });
  };
}
