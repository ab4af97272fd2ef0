// The gateway's route table: which channel (and which of its backends) a stream key opens, without the key. The
// operator publishes it; every gateway replica loads it and looks up what an encoder presents. An entry names a key
// only by its keyed hash, HMAC-SHA256(routing secret, SHA-256(key)) in hex: a table that leaks (a log, a copied
// ConfigMap) does not let anyone test guesses offline without the routing secret too. The HMAC is taken over the key's
// digest, the one the channel's key set already holds (ingest-keys.ts), so the operator derives every entry, the
// superseded keys' too, from the key set it has written, without ever needing a key in plaintext again (ADR 0013).
// A channel has one entry per key it accepts: the current key (no notAfter) and, during a rotation's grace, the
// superseded ones (notAfter = when they stop).
//
// { "version": 1, "entries": [ { "keyHash": "<hex>", "namespace": "ns", "name": "ch", "app": "live",
//                                "rtmp": "10.1.2.3:1935", "http": "10.1.2.3:8080", "lowLatency": true } ],
//   "access": [ { "namespace": "ns", "name": "ch", "visibility": "private", "revokedViewers": ["v-17"] } ] }
//
// `lowLatency` (only where true) says the channel's origin serves LL-HLS (spec.hls.lowLatency): the gateway's player
// page starts hls.js in low-latency mode for it (ADR 0018). It is the channel's, like its backend: every entry of a
// channel carries the same value.
//
// `access` says who may watch a routed channel; a channel without an access entry is public (so it holds only the
// channels that are not). A password channel's entry carries the password's scrypt hash (viewer-password.ts), never
// the password.
//
// Every function here is pure; time comes in as `nowMs`.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { normalizeKey } from './ingest-keys.ts';

export const routeTableVersion = 1;

/**
 * The data keys of the two Secrets the gateway mounts: the table (operator-written, gzip-compressed: a Secret holds
 * at most 1 MiB, which plain JSON fills at about 4,800 routed channels; compressed, 5,000 take 250 KiB) and the
 * routing secret.
 */
export const routeTableFileName = 'routes.json.gz';
export const routingSecretFileName = 'routing-secret';
/** Patched onto the gateway pods after a table change, so the kubelet refreshes the mounted table at once. */
export const routeTableHashAnnotation = 'streaming.livestream-operator.dev/gateway-routes-hash';
export const routingSecretMinLength = 32;

/** The routing secret as the gateway and the operator key their HMAC with: the text without surrounding whitespace. */
export function parseRoutingSecret(content: Buffer): Buffer {
  const text = content.toString('utf8').trim();
  if (text.length < routingSecretMinLength) {
    throw new Error(`the routing secret must have at least ${routingSecretMinLength} characters`);
  }
  return Buffer.from(text, 'utf8');
}

export interface RouteEntry {
  keyHash: string;
  notAfter?: string;
  namespace: string;
  name: string;
  app: string;
  /** The channel's RTMP ingest, "host:port". */
  rtmp: string;
  /** The channel's HTTP origin, "host:port". */
  http: string;
  /** The origin serves LL-HLS (absent: classic HLS). */
  lowLatency?: true;
}

/** Who may watch: `public` (listed), `unlisted` (by URL), `private` (a playback token), `password`. */
export type Visibility = 'public' | 'unlisted' | 'private' | 'password';
export const visibilities: readonly Visibility[] = ['public', 'unlisted', 'private', 'password'];

/** A channel's viewing rules, as the gateway enforces them. */
export interface ChannelAccess {
  namespace: string;
  name: string;
  visibility: Visibility;
  /** For `password`: the viewer password's hash (viewer-password.ts). */
  passwordHash?: string;
  /** For `private`: viewer ids (a token's `vid` claim) that no token opens the channel for. */
  revokedViewers?: string[];
}

export interface RouteTable {
  version: typeof routeTableVersion;
  entries: RouteEntry[];
  /** Channels that are not public (absent or empty: every routed channel is public). */
  access?: ChannelAccess[];
}

/** Where one channel is served: what every entry of the channel has in common. */
export interface ChannelRoute {
  namespace: string;
  name: string;
  app: string;
  rtmp: string;
  http: string;
  /** The origin serves LL-HLS (absent: classic HLS). */
  lowLatency?: true;
}

const hex64 = /^[0-9a-f]{64}$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
// node-media-server's app names; a host is a DNS name, an IPv4 address or a bracketed IPv6 address.
const appName = /^[A-Za-z0-9_-]{1,64}$/;
const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([-.A-Za-z0-9]{0,252}[A-Za-z0-9])?):(\d{1,5})$/;

const address = z
  .string()
  .regex(hostPort, 'must be host:port')
  .refine((s) => {
    const port = Number(s.slice(s.lastIndexOf(':') + 1));
    return port >= 1 && port <= 65535;
  }, 'the port must be 1..65535');

const entrySchema = z
  .object({
    keyHash: z.string().regex(hex64, 'keyHash must be 64 lowercase hex digits'),
    notAfter: z
      .string()
      .refine((s) => !Number.isNaN(Date.parse(s)), 'notAfter must be an RFC 3339 time')
      .optional(),
    namespace: z.string().regex(dnsLabel, 'namespace must be a DNS label'),
    name: z.string().regex(dnsSubdomain, 'name must be a DNS subdomain'),
    app: z.string().regex(appName, 'app must match [A-Za-z0-9_-]{1,64}'),
    rtmp: address,
    http: address,
    lowLatency: z.literal(true).optional(),
  })
  .strict();

const viewerId = z.string().min(1).max(128);
/** The shape hashViewerPassword writes: `scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>`. */
const passwordHashShape = /^scrypt\$\d{1,2}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9_-]{16,64}\$[A-Za-z0-9_-]{32,128}$/;

const accessSchema = z
  .object({
    namespace: z.string().regex(dnsLabel, 'namespace must be a DNS label'),
    name: z.string().regex(dnsSubdomain, 'name must be a DNS subdomain'),
    visibility: z.enum(['public', 'unlisted', 'private', 'password']),
    passwordHash: z.string().regex(passwordHashShape, 'passwordHash must be a scrypt hash').optional(),
    revokedViewers: z.array(viewerId).max(10_000).optional(),
  })
  .strict()
  .refine((a) => (a.visibility === 'password') === (a.passwordHash !== undefined), {
    message: 'a password channel needs a passwordHash, and only a password channel has one',
    path: ['passwordHash'],
  });

export const routeTableSchema = z
  .object({
    version: z.literal(routeTableVersion),
    entries: z.array(entrySchema).max(100_000),
    access: z.array(accessSchema).max(100_000).optional(),
  })
  .strict()
  .superRefine((table, ctx) => {
    const ruled = new Set<string>();
    for (const [i, a] of (table.access ?? []).entries()) {
      const channel = `${a.namespace}/${a.name}`;
      if (ruled.has(channel)) {
        ctx.addIssue({ code: 'custom', path: ['access', i], message: `${channel} has two access entries` });
      }
      ruled.add(channel);
    }
    // One key opens one channel; and one channel has one backend (a table mid-move is the operator's bug).
    const owner = new Map<string, string>();
    const backend = new Map<string, string>();
    for (const [i, e] of table.entries.entries()) {
      const channel = `${e.namespace}/${e.name}`;
      const where = `${e.app} ${e.rtmp} ${e.http} ${e.lowLatency === true ? 'll' : 'classic'}`;
      if ((owner.get(e.keyHash) ?? channel) !== channel) {
        ctx.addIssue({ code: 'custom', path: ['entries', i, 'keyHash'], message: 'a key hash names two channels' });
      }
      if ((backend.get(channel) ?? where) !== where) {
        ctx.addIssue({ code: 'custom', path: ['entries', i], message: `${channel} has entries with two backends` });
      }
      owner.set(e.keyHash, channel);
      backend.set(channel, where);
    }
  });

/** The keyed hash an entry names a key by (hex). The key is normalized as the transcoder reads it from its Secret. */
export function routeKeyHash(secret: Buffer | string, key: string): string {
  return routeHashOfDigest(secret, createHash('sha256').update(normalizeKey(key), 'utf8').digest('hex'));
}

/** The same keyed hash from the key's SHA-256 digest (hex, as in a key set): what the operator publishes. */
export function routeHashOfDigest(secret: Buffer | string, sha256: string): string {
  if (!hex64.test(sha256)) throw new Error('a key digest must be 64 lowercase hex digits');
  return createHmac('sha256', secret).update(Buffer.from(sha256, 'hex')).digest('hex');
}

/** Parses and checks a serialized table; throws (naming the field, never echoing a value) when it is not one. */
export function parseRouteTable(text: string): RouteTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the route table is not JSON');
  }
  const parsed = routeTableSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`the route table is malformed at ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const entries = parsed.data.entries.map(({ notAfter, lowLatency, ...e }) => ({
    ...e,
    ...(notAfter ? { notAfter } : {}),
    ...(lowLatency === true && { lowLatency }),
  }));
  const access = parsed.data.access ?? [];
  return { version: routeTableVersion, entries, ...(access.length > 0 && { access }) };
}

/** A short hash of a serialized table (the pods' annotation: it changes with the table and reveals no entry). */
export function routeTableHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Larger than any table a Secret can carry once compressed: what a decompressed table may not exceed. */
const maxTableBytes = 64 * 1024 * 1024;

/** The table as the Secret holds it: its canonical text, gzip-compressed (deterministic: no name, no time). */
export function encodeRouteTable(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'), { level: 9 });
}

/** The table's text from a file or Secret value: gzip-compressed (as the operator writes it) or plain JSON. */
export function decodeRouteTable(content: Buffer): string {
  const gzip = content.length >= 2 && content[0] === 0x1f && content[1] === 0x8b;
  if (!gzip) return content.toString('utf8');
  try {
    return gunzipSync(content, { maxOutputLength: maxTableBytes }).toString('utf8');
  } catch {
    throw new Error('the route table is not valid gzip (or too large)');
  }
}

/** The canonical text of a table (equal tables give equal bytes). */
export function serializeRouteTable(table: RouteTable): string {
  const entries = table.entries.map((e) => ({
    keyHash: e.keyHash,
    ...(e.notAfter !== undefined && { notAfter: e.notAfter }),
    namespace: e.namespace,
    name: e.name,
    app: e.app,
    rtmp: e.rtmp,
    http: e.http,
    ...(e.lowLatency === true && { lowLatency: true }),
  }));
  const access = (table.access ?? []).map((a) => ({
    namespace: a.namespace,
    name: a.name,
    visibility: a.visibility,
    ...(a.passwordHash !== undefined && { passwordHash: a.passwordHash }),
    ...(a.revokedViewers !== undefined && { revokedViewers: a.revokedViewers }),
  }));
  return JSON.stringify({ version: routeTableVersion, entries, ...(access.length > 0 && { access }) });
}

/** A table prepared for lookups: the hashes as bytes, the expiry as a number, the channels by "namespace/name". */
export interface RouteIndex {
  entries: ReadonlyArray<{ hash: Buffer; notAfterMs: number; channel: ChannelRoute }>;
  channels: ReadonlyMap<string, ChannelRoute>;
  /** By "namespace/name"; a routed channel not here is public. */
  access: ReadonlyMap<string, ChannelAccess>;
}

export const channelId = (namespace: string, name: string): string => `${namespace}/${name}`;

export function indexRouteTable(table: RouteTable): RouteIndex {
  const channels = new Map<string, ChannelRoute>();
  const entries = table.entries.map((e) => {
    const id = channelId(e.namespace, e.name);
    const channel = channels.get(id) ?? {
      namespace: e.namespace,
      name: e.name,
      app: e.app,
      rtmp: e.rtmp,
      http: e.http,
      ...(e.lowLatency === true && { lowLatency: true as const }),
    };
    channels.set(id, channel);
    const notAfterMs = e.notAfter === undefined ? Number.POSITIVE_INFINITY : Date.parse(e.notAfter);
    return { hash: Buffer.from(e.keyHash, 'hex'), notAfterMs, channel };
  });
  const access = new Map((table.access ?? []).map((a) => [channelId(a.namespace, a.name), a]));
  return { entries, channels, access };
}

/** The viewing rules of a routed channel (public unless the table says otherwise). */
export function channelAccess(index: RouteIndex, namespace: string, name: string): ChannelAccess {
  return index.access.get(channelId(namespace, name)) ?? { namespace, name, visibility: 'public' };
}

/**
 * The channel `candidate` opens at `nowMs`, if any. Constant time in the key: the candidate is hashed once and
 * compared with every entry, without an early exit, so neither its content nor which entry matched leaks through
 * timing. An entry at or past its notAfter opens nothing.
 */
export function lookupKey(
  index: RouteIndex,
  secret: Buffer | string,
  candidate: string,
  nowMs: number,
): ChannelRoute | undefined {
  const actual = Buffer.from(routeKeyHash(secret, candidate), 'hex');
  let found: ChannelRoute | undefined;
  for (const e of index.entries) {
    const equal = timingSafeEqual(actual, e.hash);
    if (equal && nowMs < e.notAfterMs) found = e.channel;
  }
  return normalizeKey(candidate) === '' ? undefined : found;
}
