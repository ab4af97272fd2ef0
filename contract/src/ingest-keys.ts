// The ingest key set: which stream keys a channel accepts right now, as SHA-256 digests, so that no pod (the
// transcoder today, a gateway routing by key hash later) ever needs a key in plaintext. The operator writes it into the
// Secret "<name>-ingest-keys" (file `keys.json`) and rolls it when the key in the user's Secret changes: the new key
// is accepted at once, the previous one until its `notAfter` (now + spec.streamKey.rotationGracePeriod). Every
// function here is pure; time comes in as `nowMs`.
//
// { "keys": [ { "sha256": "<hex of the current key>" }, { "sha256": "<hex>", "notAfter": "2026-12-01T21:48:01Z" } ] }
//
// The current key comes first and has no notAfter; superseded keys follow, newest first. With no current key (the
// user's Secret is gone) the set holds only superseded keys, and nothing once they expire.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { rfc3339 } from './time.ts';

export interface IngestKey {
  sha256: string;
  notAfter?: string;
}

export interface IngestKeySet {
  keys: IngestKey[];
}

/** The file of the key set in its Secret and in the pod's mount (see pod-contract.ts). */
export const ingestKeysFileName = 'keys.json';

/** spec.streamKey.rotationGracePeriod when absent; the CRD's default and maximum are the same. */
export const defaultRotationGracePeriod = '10m';
export const maxRotationGraceMs = 24 * 3_600_000;

/** Superseded keys kept at most (a burst of rotations inside the grace must not grow the Secret without bound). */
export const maxSupersededKeys = 8;

const hex64 = /^[0-9a-f]{64}$/;
const keySetSchema = z
  .object({
    keys: z
      .array(
        z
          .object({
            sha256: z.string().regex(hex64),
            notAfter: z
              .string()
              .refine((s) => !Number.isNaN(Date.parse(s)), 'notAfter must be an RFC 3339 time')
              .optional(),
          })
          .strict(),
      )
      .max(maxSupersededKeys + 1),
  })
  .strict();

/** Secret files often end with a newline (echo > file); a key itself never does. */
export function normalizeKey(raw: string): string {
  return raw.trim();
}

/** The digest a key is known by: SHA-256 (hex) of the normalized key; undefined for an empty key. */
export function keyDigest(key: string): string | undefined {
  const k = normalizeKey(key);
  return k === '' ? undefined : createHash('sha256').update(k, 'utf8').digest('hex');
}

/** Parses and checks a key set file; throws (without echoing the content) when it is not one. */
export function parseKeySet(text: string): IngestKeySet {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the key set is not JSON');
  }
  const parsed = keySetSchema.safeParse(json);
  if (!parsed.success) throw new Error(`the key set is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return { keys: parsed.data.keys.map((k) => ({ sha256: k.sha256, ...(k.notAfter ? { notAfter: k.notAfter } : {}) })) };
}

/** The canonical text of a key set (the Secret's content; equal sets give equal bytes). */
export function serializeKeySet(set: IngestKeySet): string {
  return JSON.stringify({
    keys: set.keys.map((k) => ({ sha256: k.sha256, ...(k.notAfter !== undefined ? { notAfter: k.notAfter } : {}) })),
  });
}

/** A short hash of the set (a pod annotation that changes when the set does; it reveals no digest). */
export function keySetHash(set: IngestKeySet): string {
  return createHash('sha256').update(serializeKeySet(set)).digest('hex').slice(0, 16);
}

const expired = (k: IngestKey, nowMs: number): boolean => k.notAfter !== undefined && Date.parse(k.notAfter) <= nowMs;

/** The current key's digest: the first entry when it has no notAfter. */
export function currentDigest(set: IngestKeySet | undefined): string | undefined {
  const first = set?.keys[0];
  return first && first.notAfter === undefined ? first.sha256 : undefined;
}

export interface Roll {
  set: IngestKeySet;
  /** The current key changed (or went away) in this roll: a rotation to announce. */
  rotated: boolean;
}

/**
 * The key set after the current key became `digest` (undefined: there is no key now) at `nowMs`: a changed current
 * key is superseded with notAfter = now + grace (a key superseded earlier keeps its own notAfter: what was announced
 * then still holds); expired entries are pruned; a digest that comes back becomes current again.
 */
export function rollKeySet(
  previous: IngestKeySet | undefined,
  digest: string | undefined,
  nowMs: number,
  graceMs: number,
): Roll {
  const before = currentDigest(previous);
  const rotated = before !== undefined && before !== digest;
  const superseded: IngestKey[] = [];
  if (rotated) superseded.push({ sha256: before, notAfter: rfc3339(Math.ceil((nowMs + graceMs) / 1000) * 1000) });
  for (const k of previous?.keys ?? []) {
    if (k.notAfter === undefined || expired(k, nowMs) || k.sha256 === digest) continue;
    if (superseded.some((s) => s.sha256 === k.sha256)) continue;
    superseded.push(k);
  }
  const kept = superseded.filter((k) => !expired(k, nowMs)).slice(0, maxSupersededKeys);
  return { set: { keys: [...(digest !== undefined ? [{ sha256: digest }] : []), ...kept] }, rotated };
}

/** When a superseded key was last accepted: the latest notAfter still ahead of `nowMs`, if any. */
export function previousKeyExpiry(set: IngestKeySet | undefined, nowMs: number): string | undefined {
  let latest: IngestKey | undefined;
  for (const k of set?.keys ?? []) {
    if (k.notAfter === undefined || expired(k, nowMs)) continue;
    if (!latest || Date.parse(k.notAfter) > Date.parse(latest.notAfter ?? '')) latest = k;
  }
  return latest?.notAfter;
}

/** The next time (ms) an entry expires, to prune the set then. */
export function nextExpiryMs(set: IngestKeySet | undefined, nowMs: number): number | undefined {
  const times = (set?.keys ?? []).flatMap((k) => (k.notAfter && !expired(k, nowMs) ? [Date.parse(k.notAfter)] : []));
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * Whether `candidate` is a key the set accepts at `nowMs`. Constant time in the key: the candidate is hashed once and
 * compared with every entry (no early exit), so neither its content nor its length leaks through timing.
 */
export function matchKey(set: IngestKeySet, candidate: string, nowMs: number): boolean {
  const actual = createHash('sha256').update(candidate, 'utf8').digest();
  let accepted = false;
  for (const k of set.keys) {
    const equal = timingSafeEqual(actual, Buffer.from(k.sha256, 'hex'));
    accepted = (equal && !expired(k, nowMs)) || accepted;
  }
  return accepted && candidate !== '';
}

/** "1h30m", "10m", "90s", "0s" to milliseconds (the CRD's pattern); throws on anything else. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') throw new Error(`not a duration of h, m and s: ${JSON.stringify(text)}`);
  const [, h = '0', min = '0', s = '0'] = m;
  return ((Number(h) * 60 + Number(min)) * 60 + Number(s)) * 1000;
}
