// The gateway's route table from the operator's view of the channels (pure; the runner that writes it is
// gateway-routes-runner.ts). A channel is routed when its LiveStream is not paused nor being deleted and its key set
// ("<name>-ingest-keys", contract/src/ingest-keys.ts) accepts a key, unless spec.ingest.via is Service: one entry per accepted key, named by
// routeHashOfDigest(routing secret, the key's digest), so the current key and the superseded ones in their grace
// (with the set's own notAfter) come from the set alone, with no key in plaintext (ADR 0013). The backend is the
// channel's Service by its cluster DNS name, which follows a replaced pod without a table change; a channel with
// spec.hls.lowLatency enabled is marked lowLatency (its player page plays LL-HLS).
//
// Access (spec.audience): every channel reached through the gateway that is not public gets an access entry, routed
// or not (a paused channel's page stays gated). A password channel carries its password's scrypt hash, made by the
// runner (gateway-routes-passwords.ts) with a salt derived from the routing secret and the channel, so an unchanged
// password keeps the table's bytes. Fail closed: a password channel whose password cannot be read (Secret or key
// missing) gets a hash that no password opens, never public; a visibility this operator does not know is private.
import { createHmac } from 'node:crypto';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import type { IngestKeySet } from '../../../contract/src/ingest-keys.ts';
import { ports } from '../../../contract/src/pod-contract.ts';
import {
  routeHashOfDigest,
  routeTableVersion,
  visibilities,
  type ChannelAccess,
  type RouteEntry,
  type RouteTable,
  type Visibility,
} from '../../../contract/src/route-table.ts';
import { childNames } from './desired/index.ts';
import { ingestVia, throughGateway } from './ingest-via.ts';

export interface RoutedChannel {
  ls: LiveStream;
  /** The channel's key set as last written; undefined while the operator has not written one. */
  keySet: IngestKeySet | undefined;
  /** A password channel's password hash (hashViewerPassword with viewerPasswordSalt); absent: it could not be read. */
  passwordHash?: string;
}

export interface RoutePlan {
  table: RouteTable;
  /** Channels ("namespace/name") that share a key with another: none of them is routed by that key. */
  conflicts: string[];
}

/**
 * spec.hls.lowLatency.enabled: the channel's origin serves LL-HLS, so the gateway's player page plays it in hls.js's
 * low-latency mode (ADR 0018). The spec's, not the running session's (the switch takes effect at the next session):
 * either mode plays the other's playlists.
 */
export const lowLatencyOf = (ls: LiveStream): boolean => ls.spec.hls?.lowLatency?.enabled === true;

/** The RTMP app of a channel: spec.ingest.app, "live" when absent (the CRD's default). */
const appOf = (ls: LiveStream): string => ls.spec.ingest?.app ?? 'live';

/** The entries of one channel; none while paused, being deleted, or with no accepted key. */
export function channelEntries(channel: RoutedChannel, secret: Buffer | string, nowMs: number): RouteEntry[] {
  const { ls, keySet } = channel;
  const { name, namespace } = ls.metadata;
  if (!name || !namespace || ls.spec.paused === true || ls.metadata.deletionTimestamp) return [];
  if (!throughGateway(ingestVia(ls.spec, true))) return [];
  const host = `${childNames(ls).service}.${namespace}.svc`;
  const backend = {
    namespace,
    name,
    app: appOf(ls),
    rtmp: `${host}:${ports.rtmp}`,
    http: `${host}:${ports.http}`,
    ...(lowLatencyOf(ls) && { lowLatency: true as const }),
  };
  return (keySet?.keys ?? [])
    .filter((k) => k.notAfter === undefined || Date.parse(k.notAfter) > nowMs)
    .map((k) => ({
      keyHash: routeHashOfDigest(secret, k.sha256),
      ...(k.notAfter !== undefined && { notAfter: k.notAfter }),
      ...backend,
    }));
}

/** The salt of a channel's password hash: deterministic per channel, unknown without the routing secret. */
export function viewerPasswordSalt(secret: Buffer | string, namespace: string, name: string): Buffer {
  return createHmac('sha256', secret).update(`viewer-password\0${namespace}/${name}`).digest().subarray(0, 16);
}

/**
 * The hash a password channel gets while its password cannot be read: well-formed (the gateway takes the table),
 * but its digest is an HMAC output rather than scrypt's, so finding a password that opens it is a preimage of scrypt.
 * Deterministic, so a missing Secret does not rewrite the table at every rebuild.
 */
export function lockedPasswordHash(secret: Buffer | string, namespace: string, name: string): string {
  const salt = viewerPasswordSalt(secret, namespace, name);
  const digest = createHmac('sha256', secret).update(`viewer-password-locked\0${namespace}/${name}`).digest();
  return ['scrypt', 14, 8, 1, salt.toString('base64url'), digest.toString('base64url')].join('$');
}

const knownVisibility = (v: unknown): v is Visibility => visibilities.includes(v as Visibility);

/** A channel's access entry; undefined for a public one (or one the gateway does not serve). */
export function channelAccessEntry(channel: RoutedChannel, secret: Buffer | string): ChannelAccess | undefined {
  const { ls, passwordHash } = channel;
  const { name, namespace } = ls.metadata;
  if (!name || !namespace || ls.metadata.deletionTimestamp) return undefined;
  if (!throughGateway(ingestVia(ls.spec, true))) return undefined;
  const audience = ls.spec.audience;
  const asked: unknown = audience?.visibility ?? 'public';
  const visibility = knownVisibility(asked) ? asked : 'private';
  if (visibility === 'public') return undefined;
  const revoked = [...new Set(audience?.revokedViewers ?? [])].sort();
  return {
    namespace,
    name,
    visibility,
    ...(visibility === 'password' && { passwordHash: passwordHash ?? lockedPasswordHash(secret, namespace, name) }),
    ...(revoked.length > 0 && { revokedViewers: revoked }),
  };
}

const channelOf = (e: RouteEntry): string => `${e.namespace}/${e.name}`;
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The table of every routed channel, in a canonical order (equal inputs give equal bytes, so an unchanged fleet is
 * never written again). A key hash claimed by two channels (two LiveStreams given the same key) routes to neither:
 * the gateway refuses a table with such an entry whole, and guessing which channel was meant would send one
 * tenant's encoder into another's channel.
 */
export function buildRouteTable(channels: readonly RoutedChannel[], secret: Buffer | string, nowMs: number): RoutePlan {
  const entries = channels.flatMap((c) => channelEntries(c, secret, nowMs));
  const owners = new Map<string, Set<string>>();
  for (const e of entries) owners.set(e.keyHash, (owners.get(e.keyHash) ?? new Set()).add(channelOf(e)));
  const shared = (e: RouteEntry) => (owners.get(e.keyHash)?.size ?? 0) > 1;
  const conflicts = [...new Set(entries.filter(shared).map(channelOf))].sort();
  const kept = entries
    .filter((e) => !shared(e))
    .sort((a, b) => compare(channelOf(a), channelOf(b)) || compare(a.keyHash, b.keyHash));
  // The same key twice in one channel (cannot come from a key set, which holds a digest once) is kept once.
  const unique = kept.filter((e, i) => i === 0 || kept[i - 1]?.keyHash !== e.keyHash);
  const access = channels
    .flatMap((c) => channelAccessEntry(c, secret) ?? [])
    .sort((a, b) => compare(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  const table: RouteTable = { version: routeTableVersion, entries: unique, ...(access.length > 0 && { access }) };
  return { table, conflicts };
}
