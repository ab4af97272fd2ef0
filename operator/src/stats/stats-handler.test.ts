// The stats handler on a real HTTP server on 127.0.0.1, with no database (every read it gets to answers 503) and a
// small authorizer of the test's own: methods, paths, the authorizer's decisions, parameters, and what is logged.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { statsErrorSchema } from '../../../contract/src/stats-api.ts';
import type { StatsAuthorizer, StatsDecision } from './authorizer.ts';
import { createStatsHandler } from './stats-handler.ts';

const tokens: Record<string, (namespace: string) => StatsDecision> = {
  'tenant-token-0123456789': (ns) =>
    ns === 'tenant-a'
      ? { outcome: 'allowed', user: 'alice' }
      : { outcome: 'forbidden', user: 'alice', message: `alice may not get livestreams in ${ns}` },
  'flaky-token-0123456789': () => ({ outcome: 'unavailable', message: 'the API server did not answer' }),
};
const asked: { token: string | undefined; namespace: string }[] = [];
const authorizer: StatsAuthorizer = {
  authorize: (token, namespace) => {
    asked.push({ token, namespace });
    const decide = token === undefined ? undefined : tokens[token];
    return Promise.resolve(decide ? decide(namespace) : { outcome: 'unauthenticated', message: 'not a valid token' });
  },
};

let logged = '';
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logged += chunk.toString();
    done();
  },
});
let server: Server;
let base: string;

beforeAll(async () => {
  const logger = createLogger('stats-test', 'debug', sink);
  server = createServer(createStatsHandler({ pool: undefined, authorizer, logger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function call(path: string, token?: string, method = 'GET') {
  const res = await fetch(base + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body: unknown = await res.json();
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: statsErrorSchema.parse(body), headers: res.headers };
}

describe('the stats handler', () => {
  it.each([
    '/stats/v1/namespaces/tenant-a',
    '/stats/v1/namespaces/Tenant-A/stats',
    '/stats/v1/namespaces/tenant-a/livestreams/news/stats/extra',
    '/stats/v2/namespaces/tenant-a/stats',
    '/',
  ])('answers 404 for %s, without asking the authorizer', async (path) => {
    asked.length = 0;
    const r = await call(path, 'tenant-token-0123456789');
    expect([r.status, r.body.error]).toEqual([404, 'NotFound']);
    expect(asked).toEqual([]);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('answers 405 to %s', async (method) => {
    const r = await call('/stats/v1/namespaces/tenant-a/stats', 'tenant-token-0123456789', method);
    expect([r.status, r.body.error, r.headers.get('allow')]).toEqual([405, 'MethodNotAllowed', 'GET']);
  });

  it('answers 401 with no token or one the authorizer does not accept', async () => {
    for (const token of [undefined, 'forged-token-0123456789']) {
      const r = await call('/stats/v1/namespaces/tenant-a/stats', token);
      expect([r.status, r.body.error, r.headers.get('www-authenticate')]).toEqual([401, 'Unauthenticated', 'Bearer']);
    }
    const r = await fetch(`${base}/stats/v1/namespaces/tenant-a/stats`, { headers: { authorization: 'Basic eDp5' } });
    expect(r.status).toBe(401);
  });

  it('asks the authorizer about the namespace of the path, with the token as presented', async () => {
    asked.length = 0;
    await call('/stats/v1/namespaces/tenant-b/livestreams/news/sessions?limit=5', 'tenant-token-0123456789');
    expect(asked).toEqual([{ token: 'tenant-token-0123456789', namespace: 'tenant-b' }]);
  });

  it('answers 403 where RBAC says no, 503 when the API server could not be asked', async () => {
    const denied = await call('/stats/v1/namespaces/tenant-b/stats', 'tenant-token-0123456789');
    expect([denied.status, denied.body]).toEqual([
      403,
      { error: 'Forbidden', message: 'alice may not get livestreams in tenant-b' },
    ]);
    const flaky = await call('/stats/v1/namespaces/tenant-a/stats', 'flaky-token-0123456789');
    expect([flaky.status, flaky.body.error]).toEqual([503, 'Unavailable']);
  });

  it('answers 400 naming the parameter, after the authorizer', async () => {
    const r = await call('/stats/v1/namespaces/tenant-a/stats?interval=hour', 'tenant-token-0123456789');
    expect([r.status, r.body.error]).toEqual([400, 'BadParameter']);
    expect(r.body.message).toMatch(/^interval: /);
    const s = await call('/stats/v1/namespaces/tenant-a/sessions?continue=x!', 'tenant-token-0123456789');
    expect([s.status, s.body.message.split(':')[0]]).toEqual([400, 'continue']);
    const anonymous = await call('/stats/v1/namespaces/tenant-a/stats?interval=hour');
    expect(anonymous.status).toBe(401);
  });

  it('answers 503 to an allowed read when no database is configured', async () => {
    for (const path of [
      '/stats/v1/namespaces/tenant-a/stats',
      '/stats/v1/namespaces/tenant-a/livestreams/x/sessions',
    ]) {
      const r = await call(path, 'tenant-token-0123456789');
      expect([r.status, r.body.error]).toEqual([503, 'Unavailable']);
      expect(r.body.message).toMatch(/no session store/);
    }
  });

  it('never logs a token, and logs the user it was', async () => {
    await call('/stats/v1/namespaces/tenant-a/stats', 'tenant-token-0123456789');
    await call('/stats/v1/namespaces/tenant-a/stats', 'forged-token-0123456789');
    expect(logged).toContain('"user":"alice"');
    expect(logged).toContain('"status":401');
    expect(logged).not.toMatch(/token-0123456789/);
  });
});
