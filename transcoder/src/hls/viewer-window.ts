// Distinct playback sessions seen in a sliding time window (pure; the caller passes the clock).
// A Map keeps insertion order, so re-inserting on each sighting leaves the stalest viewer first: expiry and
// eviction both pop from the front, O(1) amortized per request. Memory is bounded by maxTracked.

export interface ViewerWindowOptions {
  windowMs?: number; // default 30 s: several playlist polls of any sane segment duration
  maxTracked?: number; // default 200,000 (about 20 MB); beyond it the stalest viewers are forgotten
}

export class ViewerWindow {
  readonly windowMs: number;
  readonly maxTracked: number;
  private lastSeen = new Map<string, number>();
  private peakCount = 0;

  constructor(options: ViewerWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 30_000;
    this.maxTracked = options.maxTracked ?? 200_000;
  }

  touch(id: string, now: number): void {
    this.lastSeen.delete(id);
    this.lastSeen.set(id, now);
    if (this.lastSeen.size > this.maxTracked) {
      const stalest = this.lastSeen.keys().next().value;
      if (stalest !== undefined) this.lastSeen.delete(stalest);
    }
    // Expire lazily here too so the map does not hold a window's worth of departed viewers between counts.
    this.expire(now);
    if (this.lastSeen.size > this.peakCount) this.peakCount = this.lastSeen.size;
  }

  count(now: number): number {
    this.expire(now);
    return this.lastSeen.size;
  }

  // Highest count since the last resetPeak() (or since creation).
  peak(): number {
    return this.peakCount;
  }

  resetPeak(now: number): void {
    this.peakCount = this.count(now);
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    for (const [id, seen] of this.lastSeen) {
      if (seen > cutoff) break;
      this.lastSeen.delete(id);
    }
  }
}
