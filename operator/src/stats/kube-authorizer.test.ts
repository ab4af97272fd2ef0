import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { group, plural } from '../../../contract/src/api/index.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import {
  accessDecision,
  accessReviewSpec,
  identityOf,
  kubeStatsAuthorizer,
  maxTokenBytes,
  ReviewCache,
  tokenDigest,
  tokenProblem,
} from './kube-authorizer.ts';

const jwtLike = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YTp0In0.c2lnbmF0dXJl';

describe('tokenProblem', () => {
  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['a space', 'abc def'],
    ['a leading space', ' abc'],
    ['a tab', 'abc\tdef'],
    ['a newline', 'abc\n'],
    ['a control character', 'abc\u0000'],
    ['non-ASCII', 'abcé'],
    ['over 16 KiB', 'a'.repeat(maxTokenBytes + 1)],
  ])('refuses a token with %s', (_what, token) => {
    expect(tokenProblem(token)).toEqual(expect.any(String));
  });

  it.each([
    ['a JWT', jwtLike],
    ['a static token', 'abc-123_XYZ~=+/'],
    ['exactly 16 KiB', 'a'.repeat(maxTokenBytes)],
  ])('lets %s be reviewed', (_what, token) => {
    expect(tokenProblem(token)).toBeUndefined();
  });
});

describe('tokenDigest', () => {
  it('is a SHA-256 in hex that does not contain the token and tells tokens apart', () => {
    const d = tokenDigest(jwtLike);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(d).toBe(tokenDigest(jwtLike));
    expect(d).not.toBe(tokenDigest(`${jwtLike}x`));
  });
});

describe('identityOf', () => {
  const user = { username: 'system:serviceaccount:a:tenant', uid: 'u1', groups: ['g'], extra: { k: ['v'] } };

  it('takes the user, uid, groups and extra of an authenticated token', () => {
    expect(identityOf({ authenticated: true, user })).toEqual({ outcome: 'user', user });
  });

  it.each([
    ['no status', undefined],
    ['not authenticated', { authenticated: false, error: 'invalid bearer token' }],
    ['authenticated without a user name', { authenticated: true, user: { username: '' } }],
  ])('refuses %s', (_what, status) => {
    expect(identityOf(status)).toMatchObject({ outcome: 'unauthenticated' });
  });

  it('refuses a token the API server does not say is meant for one of the audiences asked', () => {
    const other = identityOf({ authenticated: true, user, audiences: ['other'] }, ['stats']);
    expect(other.outcome).toBe('unauthenticated');
    expect(other.outcome === 'user' ? '' : other.message).toMatch(/audience/);
    expect(identityOf({ authenticated: true, user }, ['stats'])).toMatchObject({ outcome: 'unauthenticated' });
    expect(identityOf({ authenticated: true, user, audiences: ['stats'] }, ['x', 'stats'])).toMatchObject({
      outcome: 'user',
    });
  });
});

describe('accessReviewSpec and accessDecision', () => {
  it('asks about get livestreams of the API group in the namespace, as the reviewed user', () => {
    const user = { username: 'alice', uid: 'u1', groups: ['devs'], extra: { scopes: ['x'] } };
    expect(accessReviewSpec(user, 'team-a')).toEqual({
      user: 'alice',
      uid: 'u1',
      groups: ['devs'],
      extra: { scopes: ['x'] },
      resourceAttributes: { namespace: 'team-a', verb: 'get', group, resource: plural },
    });
    expect(accessReviewSpec({ username: 'bob' }, 'b')).toEqual({
      user: 'bob',
      resourceAttributes: { namespace: 'b', verb: 'get', group, resource: plural },
    });
  });

  it('allows only on allowed and not denied', () => {
    expect(accessDecision('alice', 'a', { allowed: true })).toEqual({ outcome: 'allowed', user: 'alice' });
    for (const status of [
      undefined,
      { allowed: false },
      { allowed: false, denied: true },
      { allowed: true, denied: true },
    ]) {
      expect(accessDecision('alice', 'a', status)).toMatchObject({ outcome: 'forbidden', user: 'alice' });
    }
    const refused = accessDecision('alice', 'a', { allowed: false, reason: 'no binding' });
    expect(refused.outcome === 'forbidden' && refused.message).toMatch(/alice.*livestreams.*"a".*no binding/);
  });
});

describe('ReviewCache', () => {
  const counting = () => {
    let loads = 0;
    return {
      load: (value: string) => () => {
        loads += 1;
        return Promise.resolve(value);
      },
      loads: () => loads,
    };
  };

  it('keeps a result for its TTL, then loads again', async () => {
    let clock = 1_000;
    const cache = new ReviewCache<string>(10, () => clock);
    const c = counting();
    expect(await cache.lookup('k', c.load('one'), () => 100)).toBe('one');
    clock += 99;
    expect(await cache.lookup('k', c.load('two'), () => 100)).toBe('one');
    clock += 1;
    expect(await cache.lookup('k', c.load('two'), () => 100)).toBe('two');
    expect(c.loads()).toBe(2);
  });

  it('shares one load between concurrent lookups of a key, and keeps nothing with a TTL of 0', async () => {
    const cache = new ReviewCache<string>(10, () => 0);
    const c = counting();
    const all = await Promise.all(Array.from({ length: 5 }, () => cache.lookup('k', c.load('v'), () => 0)));
    expect(all).toEqual(['v', 'v', 'v', 'v', 'v']);
    expect(c.loads()).toBe(1);
    expect(cache.size).toBe(0);
    await cache.lookup('k', c.load('v'), () => 0);
    expect(c.loads()).toBe(2);
  });

  it('drops the oldest entries past its bound', async () => {
    const cache = new ReviewCache<string>(3, () => 0);
    const c = counting();
    for (const k of ['a', 'b', 'c', 'd']) await cache.lookup(k, c.load(k), () => 1_000);
    expect(cache.size).toBe(3);
    await cache.lookup('b', c.load('b'), () => 1_000); // kept
    await cache.lookup('a', c.load('a'), () => 1_000); // evicted: loads again
    expect(c.loads()).toBe(5);
  });

  it('frees a key whose load failed', async () => {
    const cache = new ReviewCache<string>(3, () => 0);
    await expect(
      cache.lookup(
        'k',
        () => Promise.reject(new Error('x')),
        () => 1_000,
      ),
    ).rejects.toThrow('x');
    expect(
      await cache.lookup(
        'k',
        () => Promise.resolve('ok'),
        () => 1_000,
      ),
    ).toBe('ok');
  });
});

/** A KubeConfig for a local HTTP server that stands for a broken or hung API server. */
function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'operator', token: 'operator-own-token' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'operator' }],
    currentContext: 'c',
  });
  return kc;
}

function logSink(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('stats-test', 'debug', sink), text: () => lines.join('') };
}

describe('kubeStatsAuthorizer when the API server cannot answer', () => {
  let server: Server;
  let port: number;
  let requests = 0;
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void = () => {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests += 1;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => answer(req, res, body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('refuses malformed tokens without a request', async () => {
    const before = requests;
    const { logger } = logSink();
    const authorizer = kubeStatsAuthorizer({ kc: kubeConfigFor(port), logger });
    for (const token of [undefined, '', 'a b', 'x'.repeat(maxTokenBytes + 1)]) {
      expect(await authorizer.authorize(token, 'a')).toMatchObject({ outcome: 'unauthenticated' });
    }
    expect(requests).toBe(before);
  });

  it('is unavailable on a 500 whose body quotes the request, without the token in the answer or the logs', async () => {
    answer = (_req, res, body) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', message: `cannot handle ${body}` }));
    };
    const { logger, text } = logSink();
    const authorizer = kubeStatsAuthorizer({ kc: kubeConfigFor(port), logger });
    const before = requests;
    const decisions = await Promise.all(Array.from({ length: 5 }, () => authorizer.authorize(jwtLike, 'a')));
    for (const d of decisions) {
      expect(d.outcome).toBe('unavailable');
      expect(d.outcome === 'unavailable' && d.message).toMatch(/500/);
    }
    expect(requests - before).toBe(1); // coalesced
    expect(await authorizer.authorize(jwtLike, 'a')).toMatchObject({ outcome: 'unavailable' });
    expect(requests - before).toBe(2); // not kept: asked again
    expect(JSON.stringify(decisions)).not.toContain(jwtLike);
    expect(text()).toMatch(/TokenReview failed/);
    expect(text()).not.toContain(jwtLike);
  });

  it('is unavailable within its timeout when the API server never answers', async () => {
    answer = () => {};
    const { logger } = logSink();
    const authorizer = kubeStatsAuthorizer({ kc: kubeConfigFor(port), logger, timeoutMs: 200 });
    const started = performance.now();
    expect(await authorizer.authorize(jwtLike, 'a')).toMatchObject({ outcome: 'unavailable' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('is unavailable when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { logger } = logSink();
    const authorizer = kubeStatsAuthorizer({ kc: kubeConfigFor(free), logger });
    expect(await authorizer.authorize(jwtLike, 'a')).toMatchObject({ outcome: 'unavailable' });
  });
});
