// The newest LL-HLS playlist this replica has had from each rendition's origin (per delta-update flavour): a blocking
// request for a part it already lists is answered with it, with no backend fetch, and a request that the origin
// would certainly refuse as too far ahead is refused without one (ll-hls.ts). One playlist per rendition, bounded in
// count; a rendition not asked for in a while falls out first.
import type { CachedAnswer } from './cache-policy.ts';
import { isNewer, type LiveEdge } from './ll-hls.ts';

export interface EdgeAnswer {
  edge: LiveEdge;
  answer: CachedAnswer;
  seenAtMs: number;
}

export class LiveEdges {
  private readonly map = new Map<string, EdgeAnswer>();
  private readonly maxEntries: number;

  constructor(maxEntries = 4096) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.map.size;
  }

  latest(key: string): EdgeAnswer | undefined {
    return this.map.get(key);
  }

  /**
   * An answer of the origin for `key`'s rendition: kept when it is further on than the one held, or when that one is
   * older than `holdMs` (an origin that started again counts from a lower sequence number: a held playlist of the
   * session before must not stand in for the new one's for longer than it would have been cached).
   */
  observe(key: string, edge: LiveEdge, answer: CachedAnswer, nowMs: number, holdMs: number): void {
    const held = this.map.get(key);
    if (held && !isNewer(edge, held.edge) && nowMs - held.seenAtMs < holdMs) return;
    this.map.delete(key);
    this.map.set(key, { edge, answer, seenAtMs: nowMs });
    for (const oldest of this.map.keys()) {
      if (this.map.size <= this.maxEntries) break;
      this.map.delete(oldest);
    }
  }
}
