// Who may fetch a channel's playback files (issue 15). public and unlisted channels: anyone. private: a playback
// token (JWT, contract/src/playback-token.ts) on the master playlist, or POSTed to /<ns>/<name>/session; password:
// the password POSTed there. Either is exchanged for a session (session-token.ts) that every later request carries
// as ?session=, and that each playlist served renews (sliding). The portal's page also renews its own by POSTing
// it to /<ns>/<name>/session, and shows it to the channel's events (checkPageSession). Revocation and the token's
// origins are checked on every request. Refusals answer 403 (429 when a client guesses passwords too fast) with a
// JSON body and are counted by reason; no token, session or password is ever logged or a label.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { verifyPlaybackToken, originAllowed, type PlaybackRefusal } from '../../../contract/src/playback-token.ts';
import { RefusalLimiter, type BucketPolicy } from '../../../contract/src/refusal-limiter.ts';
import type { ChannelAccess } from '../../../contract/src/route-table.ts';
import { verifyViewerPassword, viewerPasswordMaxLength } from '../../../contract/src/viewer-password.ts';
import { clientAddress } from '../playback/viewers.ts';
import type { PlaybackKeys } from './playback-keys.ts';
import { mintSession, sessionTtlMs, verifySession, type SessionClaims } from './session-token.ts';

export type AccessRefusal = PlaybackRefusal | 'no_keys' | 'wrong_password' | 'rate_limited';

/** Nine wrong passwords per address, then one more every 6.7 s: the tenth wrong try within a minute gets 429. */
export const passwordPolicy: BucketPolicy = { burst: 9, refillMs: Math.ceil(60_000 / 9) };
export const sessionBodyMaxBytes = 4096;

const messages: Record<AccessRefusal, string> = {
  missing: 'this channel needs a playback token (?token=) or a session (?session=)',
  malformed: 'the playback token or session is malformed',
  bad_signature: 'the playback token or session has an invalid signature',
  wrong_algorithm: 'playback tokens must be signed with ES256',
  unknown_key: 'the playback token names a key (kid) that is not in force',
  expired: 'the playback token or session has expired',
  not_yet_valid: 'the playback token is not valid yet (nbf)',
  wrong_channel: 'the playback token or session is for another channel',
  revoked: 'this viewer has been revoked for this channel',
  origin: 'this page origin is not allowed by the playback token',
  no_keys: 'no playback keys are configured on this gateway: private channels cannot be played',
  wrong_password: 'wrong password',
  rate_limited: 'too many wrong passwords from this address; retry later',
};

export interface AccessContext {
  access(namespace: string, name: string): ChannelAccess;
  /** The session signing key (from the routing secret); undefined until it has loaded. */
  sessionKey(): Buffer | undefined;
  keys: PlaybackKeys;
  refused: Counter<'reason'>;
  limiter: RefusalLimiter;
  trustedProxies: number;
  now: () => number;
}

export function createAccessContext(
  options: Omit<AccessContext, 'refused' | 'limiter' | 'now'> & { registry: Registry; now?: () => number },
): AccessContext {
  const refused = new Counter<'reason'>({
    name: 'livestream_gateway_playback_refused_total',
    help: 'Playback requests and session exchanges refused, by reason',
    labelNames: ['reason'],
    registers: [options.registry],
  });
  return { ...options, refused, limiter: new RefusalLimiter(passwordPolicy), now: options.now ?? Date.now };
}

export type AccessDecision =
  | { ok: true; session?: undefined }
  /** A protected channel: the session to write into playlists (renewed for playlists). */
  | { ok: true; session: string }
  | { ok: false; status: 403 | 429; reason: AccessRefusal; retryAfterS?: number };

const refuse = (reason: AccessRefusal, status: 403 | 429 = 403): AccessDecision => ({ ok: false, status, reason });
const isProtected = (a: ChannelAccess) => a.visibility === 'private' || a.visibility === 'password';
const headerOrigin = (req: IncomingMessage) =>
  typeof req.headers.origin === 'string' ? req.headers.origin : undefined;

function checkSession(
  context: AccessContext,
  access: ChannelAccess,
  session: string,
  origin: string | undefined,
): { ok: true; claims: SessionClaims } | { ok: false; reason: AccessRefusal } {
  const key = context.sessionKey();
  if (!key) return { ok: false, reason: 'missing' };
  const verdict = verifySession(key, session, access, context.now());
  if (!verdict.ok) return verdict;
  const { viewerId, origins } = verdict.claims;
  if (viewerId !== undefined && access.revokedViewers?.includes(viewerId)) return { ok: false, reason: 'revoked' };
  if (!originAllowed(origins, origin)) return { ok: false, reason: 'origin' };
  return verdict;
}

/** A session shown on a page's own request (the portal's channel events): until when it holds, or why not. */
export function checkPageSession(
  context: AccessContext,
  req: IncomingMessage,
  target: { namespace: string; name: string },
  session: string,
): { ok: true; expMs: number } | { ok: false; reason: AccessRefusal } {
  const checked = checkSession(context, context.access(target.namespace, target.name), session, headerOrigin(req));
  return checked.ok ? { ok: true, expMs: checked.claims.expMs } : checked;
}

function newSession(context: AccessContext, claims: Omit<SessionClaims, 'expMs'>): SessionClaims & { session: string } {
  const full = { ...claims, expMs: context.now() + sessionTtlMs };
  return { ...full, session: mintSession(context.sessionKey()!, full) };
}

/** A JWT checked for a private channel: the session it opens, or why not. */
async function exchangeToken(
  context: AccessContext,
  access: ChannelAccess,
  token: string,
  origin: string | undefined,
): Promise<{ ok: true; claims: SessionClaims & { session: string } } | { ok: false; reason: AccessRefusal }> {
  if (access.visibility !== 'private') return { ok: false, reason: 'wrong_channel' };
  const keys = context.keys.current();
  if (keys.size === 0) return { ok: false, reason: 'no_keys' };
  if (!context.sessionKey()) return { ok: false, reason: 'missing' };
  const verdict = await verifyPlaybackToken(token, keys, {
    namespace: access.namespace,
    name: access.name,
    nowMs: context.now(),
    ...(access.revokedViewers && { revokedViewers: access.revokedViewers }),
    ...(origin !== undefined && { origin }),
  });
  if (!verdict.ok) return verdict;
  const { viewerId, origins } = verdict.grant;
  const claims = newSession(context, {
    namespace: access.namespace,
    name: access.name,
    ...(viewerId !== undefined && { viewerId }),
    ...(origins !== undefined && { origins }),
  });
  return { ok: true, claims };
}

/**
 * Whether a playback request may be served. `kind` master and variant get a renewed session (the rewrite writes it
 * into their URIs); a JWT (?token=) is taken on the master playlist only.
 */
export async function authorizePlayback(
  req: IncomingMessage,
  context: AccessContext,
  target: { namespace: string; name: string; kind: string },
  query: string,
): Promise<AccessDecision> {
  const access = context.access(target.namespace, target.name);
  if (!isProtected(access)) return { ok: true };
  const params = new URLSearchParams(query);
  const session = params.get('session');
  const token = params.get('token');
  const origin = headerOrigin(req);
  const decide = (reason: AccessRefusal): AccessDecision => {
    context.refused.inc({ reason });
    return refuse(reason);
  };
  if (session !== null && session !== '') {
    const checked = checkSession(context, access, session, origin);
    if (!checked.ok) return decide(checked.reason);
    const playlist = target.kind === 'master' || target.kind === 'variant';
    if (!playlist) return { ok: true, session };
    const { expMs: _old, ...claims } = checked.claims;
    return { ok: true, session: newSession(context, claims).session };
  }
  if (token !== null && token !== '' && target.kind === 'master') {
    const exchanged = await exchangeToken(context, access, token, origin);
    return exchanged.ok ? { ok: true, session: exchanged.claims.session } : decide(exchanged.reason);
  }
  if (access.visibility === 'private' && context.keys.current().size === 0) return decide('no_keys');
  return decide('missing');
}

export function sendRefusal(res: ServerResponse, decision: Extract<AccessDecision, { ok: false }>): void {
  const body = JSON.stringify({ error: decision.reason, message: messages[decision.reason] });
  res.writeHead(decision.status, {
    'access-control-allow-origin': '*',
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(decision.retryAfterS !== undefined && { 'retry-after': String(decision.retryAfterS) }),
  });
  res.end(body + '\n');
}

function json(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'access-control-allow-origin': '*',
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body) + '\n');
}

/** The request body, at most `max` bytes; undefined when longer. */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function parseSessionBody(
  req: IncomingMessage,
): Promise<
  { password?: string; token?: string; session?: string } | { status: number; error: string; message: string }
> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return { status: 415, error: 'unsupported_media_type', message: 'send application/json' };
  }
  const body = await readBody(req, sessionBodyMaxBytes);
  if (body === undefined) return { status: 413, error: 'too_large', message: `at most ${sessionBodyMaxBytes} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, error: 'bad_request', message: 'the body is not JSON' };
  }
  const { password, token, session } = (parsed ?? {}) as { password?: unknown; token?: unknown; session?: unknown };
  if (typeof password === 'string') return { password };
  if (typeof token === 'string') return { token };
  if (typeof session === 'string') return { session };
  return {
    status: 400,
    error: 'bad_request',
    message: 'send {"password": "..."}, {"token": "..."} or {"session": "..."} (to renew it)',
  };
}

const sessionPath = /^\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?)\/session$/;

export interface SessionEndpoint {
  access: AccessContext;
  /** Whether the channel is routed. */
  routed(namespace: string, name: string): boolean;
}

/** POST /<ns>/<name>/session and GET /.well-known/jwks.json; false: not one of these paths. */
export function handleAccessRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  endpoint: SessionEndpoint,
): boolean {
  if (path === '/.well-known/jwks.json') {
    res.writeHead(200, {
      'access-control-allow-origin': '*',
      'content-type': 'application/json',
      'cache-control': 'public, max-age=60',
    });
    res.end(endpoint.access.keys.jwks());
    return true;
  }
  const match = sessionPath.exec(path);
  if (!match) return false;
  if (req.method === 'OPTIONS') return false; // the shared preflight answer
  if (req.method !== 'POST') {
    json(res, 405, { error: 'method_not_allowed', message: 'POST' }, { allow: 'POST, OPTIONS' });
    return true;
  }
  const [namespace, name] = [match[1]!, match[3]!];
  exchange(req, res, namespace, name, endpoint).catch(() => {
    if (!res.headersSent) json(res, 500, { error: 'internal', message: 'internal error' });
    else res.destroy();
  });
  return true;
}

async function exchange(
  req: IncomingMessage,
  res: ServerResponse,
  namespace: string,
  name: string,
  endpoint: SessionEndpoint,
): Promise<void> {
  const context = endpoint.access;
  if (!endpoint.routed(namespace, name)) return json(res, 404, { error: 'not_found', message: 'no such channel' });
  const access = context.access(namespace, name);
  const body = await parseSessionBody(req);
  if ('status' in body) return json(res, body.status, { error: body.error, message: body.message });
  if (!isProtected(access)) {
    return json(res, 400, { error: 'not_protected', message: 'this channel needs no session' });
  }
  const origin = headerOrigin(req);
  const result =
    body.session !== undefined
      ? renewSession(context, access, body.session, origin)
      : body.token !== undefined
        ? await exchangeToken(context, access, body.token, origin)
        : await checkPassword(req, context, access, body.password ?? '');
  if (!result.ok) {
    context.refused.inc({ reason: result.reason });
    const limited = result.reason === 'rate_limited';
    return sendRefusal(res, {
      ok: false,
      status: limited ? 429 : 403,
      reason: result.reason,
      ...(limited && { retryAfterS: Math.ceil(passwordPolicy.refillMs / 1000) }),
    });
  }
  json(res, 200, { session: result.claims.session, expiresAt: new Date(result.claims.expMs).toISOString() });
}

/** A valid session for a fresh one (the page's renewal; playlists renew theirs as they are served). */
function renewSession(
  context: AccessContext,
  access: ChannelAccess,
  session: string,
  origin: string | undefined,
): { ok: true; claims: SessionClaims & { session: string } } | { ok: false; reason: AccessRefusal } {
  const checked = checkSession(context, access, session, origin);
  if (!checked.ok) return checked;
  const { expMs: _old, ...claims } = checked.claims;
  return { ok: true, claims: newSession(context, claims) };
}

async function checkPassword(
  req: IncomingMessage,
  context: AccessContext,
  access: ChannelAccess,
  password: string,
): Promise<{ ok: true; claims: SessionClaims & { session: string } } | { ok: false; reason: AccessRefusal }> {
  const address = clientAddress(req.headers['x-forwarded-for'], req.socket.remoteAddress ?? '', context.trustedProxies);
  // An empty bucket refuses before the hash is computed: guessing costs the guesser, not the gateway.
  if (!context.limiter.allows(address, context.now())) return { ok: false, reason: 'rate_limited' };
  const hash = access.visibility === 'password' ? access.passwordHash : undefined;
  const right =
    hash !== undefined && password.length <= viewerPasswordMaxLength && (await verifyViewerPassword(password, hash));
  if (!right || !context.sessionKey()) {
    context.limiter.refused(address, context.now());
    return { ok: false, reason: 'wrong_password' };
  }
  return { ok: true, claims: newSession(context, { namespace: access.namespace, name: access.name }) };
}
