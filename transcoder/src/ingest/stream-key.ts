// The keys the ingest accepts, read from the mounted file (the pod contract's ingestKeysPath) and re-read when it
// changes. In a pod the file is the operator's key set (contract/src/ingest-keys.ts: digests of the current key and
// of superseded keys with their notAfter), so the pod never holds a key in plaintext; standalone (--stream-key-file)
// it is a plain key. Candidates are matched in constant time (matchKey), and a superseded key's notAfter is checked
// at every publish against this process's clock, so the old key is refused after its grace even before the
// operator's pruned set reaches the pod.
//
// A reload changes who may publish next, never who is publishing: the key is checked when a publish starts, and a
// connected encoder keeps its session through a rotation (its key may even expire meanwhile; ADR 0012).
import { readFileSync } from 'node:fs';
import {
  keyDigest,
  matchKey,
  parseKeySet,
  previousKeyExpiry,
  type IngestKeySet,
} from '../../../contract/src/ingest-keys.ts';
import { watchFile, type WatchedFile } from '../../../contract/src/watched-file.ts';

export interface StreamKey {
  matches(candidate: string): boolean;
  /** A key is accepted now. */
  readonly loaded: boolean;
  close(): void;
}

/** What a reload brought, for the log: counts and times, never a key or a digest. */
export interface KeysLoaded {
  keys: number;
  previousKeyExpiresAt?: string;
}

export interface StreamKeyOptions {
  onError?: (err: unknown) => void;
  onReload?: (loaded: KeysLoaded) => void;
  now?: () => number;
  pollMs?: number;
}

/** A key set file ("{...}") as it is, anything else as one plain key; an empty file accepts nothing. */
export function parseKeyFile(text: string): IngestKeySet {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseKeySet(trimmed);
  const digest = keyDigest(trimmed);
  return { keys: digest === undefined ? [] : [{ sha256: digest }] };
}

export function openStreamKey(path: string, options: StreamKeyOptions = {}): StreamKey {
  const now = options.now ?? Date.now;
  let set: IngestKeySet = { keys: [] };
  let initialContent: Buffer | undefined;
  // A malformed reload keeps the last good set (it still expires its old keys on time): a bad write must not take
  // the channel down. A malformed first read accepts nothing.
  const load = (raw: string): boolean => {
    try {
      set = parseKeyFile(raw);
      return true;
    } catch (err) {
      options.onError?.(err);
      return false;
    }
  };
  try {
    initialContent = readFileSync(path);
    load(initialContent.toString('utf8'));
  } catch (err) {
    options.onError?.(err); // no key yet: every publish is refused until the file appears
  }
  const watcher: WatchedFile = watchFile(
    path,
    (content) => {
      if (!load(content.toString('utf8'))) return;
      const expiresAt = previousKeyExpiry(set, now());
      options.onReload?.({ keys: set.keys.length, ...(expiresAt ? { previousKeyExpiresAt: expiresAt } : {}) });
    },
    { onError: options.onError, initialContent, ...(options.pollMs !== undefined && { intervalMs: options.pollMs }) },
  );
  return {
    matches: (candidate) => matchKey(set, candidate, now()),
    get loaded() {
      const t = now();
      return set.keys.some((k) => k.notAfter === undefined || Date.parse(k.notAfter) > t);
    },
    close: () => watcher.close(),
  };
}
