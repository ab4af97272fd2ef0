import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { mintPlaybackToken } from '../../../contract/src/playback-token.ts';
import type { ChannelAccess } from '../../../contract/src/route-table.ts';
import { hashViewerPassword } from '../../../contract/src/viewer-password.ts';
import {
  authorizePlayback,
  checkPageSession,
  createAccessContext,
  handleAccessRequest,
  type AccessContext,
} from './playback-access.ts';
import { PlaybackKeys } from './playback-keys.ts';
import { sessionKey } from './session-token.ts';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
const rules = new Map<string, ChannelAccess>();
let dir: string;
let keys: PlaybackKeys;
let context: AccessContext;
let clock = Date.parse('2026-12-02T12:00:00Z');
let server: http.Server;
let base: string;
const req = { headers: {} } as IncomingMessage;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keys-'));
  await writeFile(path.join(dir, 'k1.key'), pem as string);
  await writeFile(path.join(dir, 'bad.key'), 'not a key');
  keys = new PlaybackKeys(dir, createLogger('test', 'silent'), 60_000);
  await keys.loaded;
  rules.set('ns/priv', { namespace: 'ns', name: 'priv', visibility: 'private', revokedViewers: ['gone'] });
  const passwordHash = await hashViewerPassword('open sesame', Buffer.alloc(16, 7));
  rules.set('ns/pw', { namespace: 'ns', name: 'pw', visibility: 'password', passwordHash });
  const key = sessionKey(Buffer.from('a routing secret of at least 32 characters'));
  context = createAccessContext({
    access: (ns, name) => rules.get(`${ns}/${name}`) ?? { namespace: ns, name, visibility: 'public' },
    sessionKey: () => key,
    keys,
    trustedProxies: 0,
    registry: new Registry(),
    now: () => clock,
  });
  server = http.createServer((rq, rs) => {
    if (!handleAccessRequest(rq, rs, rq.url ?? '/', { access: context, routed: () => true })) rs.end('unhandled');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  keys.close();
  server.close();
  await rm(dir, { recursive: true });
});

const mint = (name: string, over: { viewerId?: string; ttlSeconds?: number } = {}) =>
  mintPlaybackToken({
    privateKeyPem: pem as string,
    kid: 'k1',
    namespace: 'ns',
    name,
    ttlSeconds: 60,
    now: clock,
    ...over,
  });
const authorize = (name: string, kind: string, query: string) =>
  authorizePlayback(req, context, { namespace: 'ns', name, kind }, query);

describe('authorizePlayback', () => {
  it('lets public channels through without a session', async () => {
    expect(await authorize('open', 'segment', '')).toEqual({ ok: true });
  });

  it('exchanges a token on the master for a session that opens the rest, renewed on playlists', async () => {
    expect(await authorize('priv', 'master', '')).toMatchObject({ ok: false, status: 403, reason: 'missing' });
    const master = await authorize('priv', 'master', `token=${await mint('priv')}`);
    if (!master.ok || master.session === undefined) throw new Error('refused');
    expect(await authorize('priv', 'segment', `session=${master.session}`)).toEqual({
      ok: true,
      session: master.session,
    });
    expect(await authorize('priv', 'segment', `token=${await mint('priv')}`)).toMatchObject({ reason: 'missing' });
    clock += 9 * 60_000; // past the JWT's exp: the session slides on
    const variant = await authorize('priv', 'variant', `session=${master.session}`);
    if (!variant.ok || variant.session === undefined) throw new Error('refused');
    clock += 9 * 60_000;
    expect(await authorize('priv', 'segment', `session=${master.session}`)).toMatchObject({ reason: 'expired' });
    expect((await authorize('priv', 'segment', `session=${variant.session}`)).ok).toBe(true);
    expect(await authorize('pw', 'segment', `session=${variant.session}`)).toMatchObject({ reason: 'wrong_channel' });
  });

  it('refuses another channel’s token and a revoked viewer (session included)', async () => {
    expect(await authorize('priv', 'master', `token=${await mint('pw')}`)).toMatchObject({ reason: 'wrong_channel' });
    expect(await authorize('priv', 'master', `token=${await mint('priv', { viewerId: 'gone' })}`)).toMatchObject({
      reason: 'revoked',
    });
    const ok = await authorize('priv', 'master', `token=${await mint('priv', { viewerId: 'v2' })}`);
    if (!ok.ok || ok.session === undefined) throw new Error('refused');
    rules.set('ns/priv', { namespace: 'ns', name: 'priv', visibility: 'private', revokedViewers: ['v2'] });
    expect(await authorize('priv', 'segment', `session=${ok.session}`)).toMatchObject({ reason: 'revoked' });
    const metric = await context.refused.get();
    expect(metric.values.find((v) => v.labels.reason === 'revoked')?.value).toBe(2);
  });

  it('serves the valid keys as a JWKS, the unparsable file left out', async () => {
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string; d?: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(['k1']);
    expect(jwks.keys[0]?.d).toBeUndefined();
  });
});

const refusalOf = async (res: Response) => ({
  status: res.status,
  error: ((await res.json()) as { error: string }).error,
});

describe('POST /<ns>/<name>/session', () => {
  const post = (name: string, body: unknown, type = 'application/json') =>
    fetch(`${base}/ns/${name}/session`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: JSON.stringify(body),
    });

  it('exchanges the right password and a private channel’s token for a session', async () => {
    const right = await post('pw', { password: 'open sesame' });
    expect(right.status).toBe(200);
    const { session, expiresAt } = (await right.json()) as { session: string; expiresAt: string };
    expect(Date.parse(expiresAt)).toBe(Math.floor((clock + 600_000) / 1000) * 1000);
    expect((await authorize('pw', 'master', `session=${session}`)).ok).toBe(true);
    expect((await post('priv', { token: await mint('priv') })).status).toBe(200);
    expect((await post('priv', { token: await mint('pw') })).status).toBe(403);
  });

  it('refuses non-JSON and oversized bodies', async () => {
    expect((await post('pw', { password: 'x' }, 'text/plain')).status).toBe(415);
    expect((await post('pw', { password: 'x'.repeat(5000) })).status).toBe(413);
    expect((await post('pw', { nothing: 1 })).status).toBe(400);
  });

  it('allows nine wrong passwords a minute per address; the tenth gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await post('pw', { password: `wrong ${i}` })).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 403, 403, 403, 429]);
    const limited = await post('pw', { password: 'open sesame' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    clock += 60_000; // the bucket refills
    expect((await post('pw', { password: 'open sesame' })).status).toBe(200);
  });

  it('renews a valid session for a fresh one (the portal page), and refuses an expired, foreign or revoked one', async () => {
    const opened = (await (await post('priv', { token: await mint('priv', { viewerId: 'v9' }) })).json()) as {
      session: string;
    };
    clock += 6 * 60_000;
    const renewed = await post('priv', { session: opened.session });
    expect(renewed.status).toBe(200);
    const fresh = (await renewed.json()) as { session: string; expiresAt: string };
    expect(Date.parse(fresh.expiresAt)).toBe(Math.floor((clock + 600_000) / 1000) * 1000);
    const target = { namespace: 'ns', name: 'priv' };
    expect(checkPageSession(context, req, target, fresh.session)).toEqual({
      ok: true,
      expMs: Date.parse(fresh.expiresAt),
    });
    expect(checkPageSession(context, req, { namespace: 'ns', name: 'pw' }, fresh.session)).toEqual({
      ok: false,
      reason: 'wrong_channel',
    });
    expect(checkPageSession(context, req, target, `${fresh.session}x`)).toMatchObject({ ok: false });
    clock += 5 * 60_000;
    expect(await refusalOf(await post('priv', { session: opened.session }))).toEqual({ status: 403, error: 'expired' });
    expect(await refusalOf(await post('pw', { session: fresh.session }))).toEqual({
      status: 403,
      error: 'wrong_channel',
    });
    rules.set('ns/priv', { namespace: 'ns', name: 'priv', visibility: 'private', revokedViewers: ['v9'] });
    expect(await refusalOf(await post('priv', { session: fresh.session }))).toEqual({ status: 403, error: 'revoked' });
    expect(checkPageSession(context, req, target, fresh.session)).toEqual({ ok: false, reason: 'revoked' });
  });
});
