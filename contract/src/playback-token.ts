// Playback tokens for private channels: JWTs a platform's backend signs (ES256, header kid) and the gateway checks on
// a master playlist. Keys are PKCS#8 PEM P-256 private keys, one file `<kid>.key` each; several may be in force at
// once (rotation: sign with the new one, keep the old one until its tokens have expired). The gateway holds the
// private keys only to derive the public ones it publishes as a JWKS; verification uses the public keys.
// Claims: sub "<namespace>/<name>", aud "livestream-playback", exp (required), iat, nbf?, vid? (viewer id, revocable),
// origins? (web origins allowed to play). See docs/playback-tokens.md.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, exportJWK, jwtVerify, type JWK } from 'jose';

export const playbackAudience = 'livestream-playback';
export const playbackAlgorithm = 'ES256';
export const playbackKidPattern = /^[A-Za-z0-9_-]{1,64}$/;
export const playbackViewerIdMaxLength = 128;
/** Clock skew tolerated between the minting backend and the gateway. */
export const playbackClockLeewayS = 30;
const maxTokenLength = 8192;
const maxOrigins = 32;

export type PlaybackRefusal =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'wrong_algorithm'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_channel'
  | 'revoked'
  | 'origin';

export const playbackRefusals: readonly PlaybackRefusal[] = [
  'missing',
  'malformed',
  'bad_signature',
  'wrong_algorithm',
  'unknown_key',
  'expired',
  'not_yet_valid',
  'wrong_channel',
  'revoked',
  'origin',
];

export interface PlaybackKey {
  kid: string;
  publicKey: KeyObject;
}

/** The keys in force, by kid. */
export type PlaybackKeyStore = ReadonlyMap<string, PlaybackKey>;

/** A key from its PEM (PKCS#8, P-256); throws, without echoing the PEM, for anything else. */
export function playbackKeyFromPem(kid: string, privateKeyPem: string): PlaybackKey {
  if (!playbackKidPattern.test(kid)) throw new Error('a playback key id must match [A-Za-z0-9_-]{1,64}');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch {
    throw new Error(`playback key ${kid} is not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`playback key ${kid} is not a P-256 key`);
  }
  return { kid, publicKey: createPublicKey(privateKey) };
}

export function playbackKeyStore(keys: readonly PlaybackKey[]): PlaybackKeyStore {
  return new Map(keys.map((k) => [k.kid, k]));
}

/** The public keys as a JWKS document (RFC 7517): what GET /.well-known/jwks.json serves. */
export async function playbackJwks(store: PlaybackKeyStore): Promise<{ keys: JWK[] }> {
  const keys = await Promise.all(
    [...store.values()].map(async (k) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, alg: 'ES256', use: 'sig' })),
  );
  return { keys };
}

export interface MintOptions {
  privateKeyPem: string;
  kid: string;
  namespace: string;
  name: string;
  ttlSeconds: number;
  viewerId?: string;
  origins?: string[];
  /** ms since the epoch; default now. */
  now?: number;
}

/** A signed playback token for one channel. */
export async function mintPlaybackToken(options: MintOptions): Promise<string> {
  if (!playbackKidPattern.test(options.kid)) throw new Error('a playback key id must match [A-Za-z0-9_-]{1,64}');
  if (!Number.isFinite(options.ttlSeconds) || options.ttlSeconds <= 0) throw new Error('ttlSeconds must be > 0');
  const vid = options.viewerId;
  if (vid !== undefined && (vid.length === 0 || vid.length > playbackViewerIdMaxLength)) {
    throw new Error(`a viewer id must have 1..${playbackViewerIdMaxLength} characters`);
  }
  const key = createPrivateKey({ key: options.privateKeyPem, format: 'pem' });
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({ ...(vid !== undefined && { vid }), ...(options.origins && { origins: options.origins }) })
    .setProtectedHeader({ alg: playbackAlgorithm, kid: options.kid, typ: 'JWT' })
    .setSubject(`${options.namespace}/${options.name}`)
    .setAudience(playbackAudience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(options.ttlSeconds))
    .sign(key);
}

export interface PlaybackGrant {
  namespace: string;
  name: string;
  /** Expiry of the token, ms since the epoch. */
  expMs: number;
  viewerId?: string;
  origins?: string[];
}

export type PlaybackVerdict = { ok: true; grant: PlaybackGrant } | { ok: false; reason: PlaybackRefusal };

export interface VerifyOptions {
  namespace: string;
  name: string;
  nowMs: number;
  /** The channel's revoked viewer ids (route table). */
  revokedViewers?: readonly string[];
  /** The request's Origin header, if it sent one: checked against the token's origins claim. */
  origin?: string;
}

const refuse = (reason: PlaybackRefusal): PlaybackVerdict => ({ ok: false, reason });

function headerOf(token: string): { alg?: unknown; kid?: unknown } | undefined {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
}

function refusalOf(err: unknown): PlaybackRefusal {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') return 'not_yet_valid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'wrong_algorithm';
  return 'malformed';
}

/** Checks a token for one channel; a refusal names why, never echoing the token. */
export async function verifyPlaybackToken(
  token: string | undefined | null,
  store: PlaybackKeyStore,
  options: VerifyOptions,
): Promise<PlaybackVerdict> {
  if (token === undefined || token === null || token === '') return refuse('missing');
  if (token.length > maxTokenLength || token.split('.').length !== 3) return refuse('malformed');
  const header = headerOf(token);
  if (header === undefined) return refuse('malformed');
  if (header.alg !== playbackAlgorithm) return refuse('wrong_algorithm');
  const key = typeof header.kid === 'string' ? store.get(header.kid) : undefined;
  if (key === undefined) return refuse('unknown_key');
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [playbackAlgorithm],
      audience: playbackAudience,
      clockTolerance: playbackClockLeewayS,
      currentDate: new Date(options.nowMs),
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (err) {
    return refuse(refusalOf(err));
  }
  return checkClaims(payload, options);
}

function checkClaims(payload: Record<string, unknown>, options: VerifyOptions): PlaybackVerdict {
  const { vid, origins, exp } = payload;
  if (vid !== undefined && (typeof vid !== 'string' || vid === '' || vid.length > playbackViewerIdMaxLength)) {
    return refuse('malformed');
  }
  const originList = origins === undefined ? undefined : origins;
  if (
    originList !== undefined &&
    (!Array.isArray(originList) || originList.length > maxOrigins || !originList.every((o) => typeof o === 'string'))
  ) {
    return refuse('malformed');
  }
  if (payload.sub !== `${options.namespace}/${options.name}`) return refuse('wrong_channel');
  if (vid !== undefined && options.revokedViewers?.includes(vid)) return refuse('revoked');
  if (!originAllowed(originList, options.origin)) return refuse('origin');
  const grant: PlaybackGrant = {
    namespace: options.namespace,
    name: options.name,
    expMs: (exp as number) * 1000,
    ...(vid !== undefined && { viewerId: vid }),
    ...(originList !== undefined && { origins: originList }),
  };
  return { ok: true, grant };
}

/**
 * Whether a request from `origin` may use a grant limited to `origins`. A request without an Origin header (a native
 * player, Safari's own HLS, a TV) is not a web page of another site, so it passes; a page of an unlisted origin not.
 */
export function originAllowed(origins: readonly string[] | undefined, origin: string | undefined): boolean {
  if (origins === undefined || origin === undefined) return true;
  return origins.includes(origin);
}
