// The stream key, read from the mounted Secret file (the pod contract's streamKeyPath) and re-read when the Secret
// changes. Candidates are compared in constant time: both sides are hashed to equal-length digests first, so neither
// the content nor the length of the key leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { watchFile, type WatchedFile } from '../config/watched-file.ts';

export interface StreamKey {
  matches(candidate: string): boolean;
  readonly loaded: boolean;
  close(): void;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

// Secret files often end with a newline (echo > file); the key itself never does.
export function normalizeKey(raw: string): string {
  return raw.trim();
}

export function keyMatcher(key: string | null): (candidate: string) => boolean {
  const expected = key === null || key === '' ? null : digest(key);
  return (candidate) => {
    const actual = digest(candidate);
    // Compare even when no key is loaded, to keep the timing of a refusal uniform.
    const equal = timingSafeEqual(actual, expected ?? digest('\0no key\0'));
    return expected !== null && equal;
  };
}

export function openStreamKey(path: string, onError?: (err: unknown) => void, onReload?: () => void): StreamKey {
  let matcher = keyMatcher(null);
  let loaded = false;
  let initialContent: Buffer | undefined;
  const load = (raw: string): void => {
    const key = normalizeKey(raw);
    matcher = keyMatcher(key);
    loaded = key !== '';
  };
  try {
    initialContent = readFileSync(path);
    load(initialContent.toString('utf8'));
  } catch (err) {
    onError?.(err); // no key yet: every publish is refused until the file appears
  }
  const watcher: WatchedFile = watchFile(
    path,
    (content) => {
      load(content.toString('utf8'));
      onReload?.();
    },
    { onError, initialContent },
  );
  return {
    matches: (candidate) => matcher(candidate),
    get loaded() {
      return loaded;
    },
    close: () => watcher.close(),
  };
}

export function staticStreamKey(key: string): StreamKey {
  const matcher = keyMatcher(normalizeKey(key));
  return { matches: matcher, loaded: key !== '', close: () => undefined };
}
