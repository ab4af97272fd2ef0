// The playback cache shared by every viewer of a gateway replica: answers of the channels' origins kept for as long
// as cache-policy.ts says, in a byte-bounded LRU, with request coalescing: while one fetch of a URL is on its way,
// every other request for it waits for that fetch instead of starting its own, so an immutable segment is fetched
// once per replica however many viewers ask at once. A blocking LL-HLS playlist request (its key carries its
// directives: ll-hls.ts) is coalesced the same way: every viewer waiting for the same part shares the one upstream
// request the origin holds, and its answer is kept for the next (cache-policy.ts).
import { ByteLru } from './byte-lru.ts';
import { freshForMs, refreshAfterMs, type CachedAnswer } from './cache-policy.ts';
import { LiveEdges } from './live-edges.ts';
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
  readonly now: () => number;
  /** The newest LL-HLS playlist of each rendition (live-edges.ts). */
  readonly edges = new LiveEdges();

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
    blocking = false,
  ): Promise<{ answer: CachedAnswer; result: CacheResult }> {
    const cached = this.lru.get(key);
    if (cached && cached.expiresAtMs > this.now()) return { answer: cached, result: 'hit' };
    const pending = this.inFlight.get(key);
    if (pending) return { answer: await pending, result: 'coalesced' };
    const started = this.fetchEntry(key, kind, fetch, blocking);
    this.inFlight.set(key, started);
    try {
      return { answer: await started, result: 'miss' };
    } finally {
      this.inFlight.delete(key);
    }
  }

  private async fetchEntry(
    key: string,
    kind: PlaybackKind,
    fetch: () => Promise<Fetched>,
    blocking: boolean,
  ): Promise<Entry> {
    let fetched: Fetched;
    try {
      fetched = await fetch();
    } catch {
      fetched = { status: 502, body: Buffer.from('the channel origin is unreachable\n'), contentType: 'text/plain' };
    }
    const ttlMs = freshForMs(kind, fetched.status, fetched.body, blocking);
    const now = this.now();
    const entry: Entry = {
      ...fetched,
      ttlMs,
      fetchedAtMs: now,
      size: fetched.body.length + key.length + 200, // the bookkeeping of an entry, roughly
      expiresAtMs: now + refreshAfterMs(kind, ttlMs, blocking),
    };
    if (ttlMs > 0) this.lru.set(key, entry);
    else this.lru.delete(key);
    return entry;
  }
}
