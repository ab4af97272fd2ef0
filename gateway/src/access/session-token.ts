// Session tokens: what the gateway writes into every URI of a non-public channel's playlists once a viewer has shown
// a playback token or the password. HMAC-SHA256 with a key derived (HKDF, a label of its own) from the routing secret
// every replica already mounts, so any replica accepts any replica's sessions and no new Secret is needed; the label
// keeps this key apart from the route table's. Short-lived and renewed on each playlist served (sliding).
// Format: base64url(JSON claims) "." base64url(HMAC). Claims: c "<namespace>/<name>", exp (s), vid?, o? (origins).
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const sessionTtlMs = 10 * 60_000;
const label = 'livestream-gateway playback session v1';
const maxSessionLength = 4096;

export interface SessionClaims {
  namespace: string;
  name: string;
  expMs: number;
  viewerId?: string;
  origins?: string[];
}

/** The session signing key from the routing secret. */
export function sessionKey(routingSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', routingSecret, Buffer.alloc(0), label, 32));
}

export function mintSession(key: Buffer, claims: SessionClaims): string {
  const body = {
    c: `${claims.namespace}/${claims.name}`,
    exp: Math.floor(claims.expMs / 1000),
    ...(claims.viewerId !== undefined && { vid: claims.viewerId }),
    ...(claims.origins !== undefined && { o: claims.origins }),
  };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

export type SessionVerdict =
  | { ok: true; claims: SessionClaims }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'wrong_channel' };

/** Checks a session for one channel at `nowMs`. */
export function verifySession(
  key: Buffer,
  session: string,
  channel: { namespace: string; name: string },
  nowMs: number,
): SessionVerdict {
  const [payload = '', mac = '', extra] = session.length > maxSessionLength ? [] : session.split('.');
  if (payload === '' || mac === '' || extra !== undefined) return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad_signature' };
  let body: { c?: unknown; exp?: unknown; vid?: unknown; o?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof body.exp !== 'number' || typeof body.c !== 'string') return { ok: false, reason: 'malformed' };
  if (body.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  if (body.c !== `${channel.namespace}/${channel.name}`) return { ok: false, reason: 'wrong_channel' };
  return {
    ok: true,
    claims: {
      ...channel,
      expMs: body.exp * 1000,
      ...(typeof body.vid === 'string' && { viewerId: body.vid }),
      ...(Array.isArray(body.o) && { origins: body.o as string[] }),
    },
  };
}
