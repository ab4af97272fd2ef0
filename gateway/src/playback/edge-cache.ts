// The playback cache shared by every viewer of a gateway replica: answers of the channels' origins kept for as long
// as cache-policy.ts says, in a byte-bounded LRU, with request coalescing: while one fetch of a URL is on its way,
// every other request for it waits for that fetch instead of starting its own, so an immutable segment is fetched
// once per replica however many viewers ask at once.
import { ByteLru } from './byte-lru.ts';
import { errorTtlMs, freshForMs, type CachedAnswer } from './cache-policy.ts';
import type { PlaybackKind } from './paths.ts';

export interface Fetched {
  status: number;
  body: Buffer;
  etag?: string;
  contentType: string;
}

type Entry = CachedAnswer & { size: number; expiresAtMs: number };

export type CacheResult = 'hit' | 'miss' | 'coalesced';

export class EdgeCache {
  private readonly lru: ByteLru<Entry>;
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly now: () => number;

  constructor(maxBytes: number, now: () => number = Date.now) {
    this.lru = new ByteLru(maxBytes);
    this.now = now;
  }

  get bytes(): number {
    return this.lru.bytes;
  }

  /** The answer for `key`, from the cache, from a fetch already on its way, or from `fetch` (which may throw: 502). */
  async get(
    key: string,
    kind: PlaybackKind,
    fetch: () => Promise<Fetched>,
  ): Promise<{ answer: CachedAnswer; result: CacheResult }> {
    const cached = this.lru.get(key);
    if (cached && cached.expiresAtMs > this.now()) return { answer: cached, result: 'hit' };
    const pending = this.inFlight.get(key);
    if (pending) return { answer: await pending, result: 'coalesced' };
    const started = this.fetchEntry(key, kind, fetch);
    this.inFlight.set(key, started);
    try {
      return { answer: await started, result: 'miss' };
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async fetchEntry(key: string, kind: PlaybackKind, fetch: () => Promise<Fetched>): Promise<Entry> {
    let fetched: Fetched;
    try {
      fetched = await fetch();
    } catch {
      fetched = { status: 502, body: Buffer.from('the channel origin is unreachable\n'), contentType: 'text/plain' };
    }
    const ttlMs = freshForMs(kind, fetched.status, fetched.body);
    const entry: Entry = {
      ...fetched,
      ttlMs: fetched.status === 200 ? ttlMs : errorTtlMs,
      size: fetched.body.length + key.length + 200, // the bookkeeping of an entry, roughly
      expiresAtMs: this.now() + ttlMs,
    };
    this.lru.set(key, entry);
    return entry;
  }
}
