// Who is watching, as the transcoder's origin and the gateway count it (pure; the caller passes the clock).
// A viewer is the player's session token (`vs=` in the query, which the player page adds to every URI) when it sent
// a well-formed one, else a hash of its address and User-Agent. A viewer counts while it was seen within a sliding
// window. A Map keeps insertion order, so re-inserting on each sighting leaves the stalest viewer first: expiry and
// eviction both pop from the front, O(1) amortized per request. Memory is bounded by maxTracked.
import { createHash } from 'node:crypto';

/**
 * Sent by the gateway on its requests to a channel's origin: the origin does not count the gateway as a viewer (the
 * gateway counts its own viewers). Spoofing it only hides a viewer from the origin's count.
 */
export const gatewayRequestHeader = 'x-livestream-gateway';

// Tokens are opaque and short so they cannot bloat memory.
const tokenPattern = /^[A-Za-z0-9_-]{8,64}$/;

/** The player's session token from a query string (without `?`): null when absent or malformed. */
export function viewerToken(query: string): string | null {
  for (const pair of query.split('&')) {
    if (pair.startsWith('vs=')) {
      const value = pair.slice(3);
      return tokenPattern.test(value) ? value : null;
    }
  }
  return null;
}

/** The viewer without a token: its address and User-Agent, hashed (a `~` prefix keeps it apart from tokens). */
export function anonymousViewerId(address: string, userAgent: string): string {
  return '~' + createHash('sha1').update(address).update('\n').update(userAgent).digest('base64url').slice(0, 16);
}

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

  /** Viewers held now, some possibly past the window (no expiry): what the memory bound is about. */
  get size(): number {
    return this.lastSeen.size;
  }

  touch(id: string, now: number): void {
    this.lastSeen.delete(id);
    this.lastSeen.set(id, now);
    if (this.lastSeen.size > this.maxTracked) this.forgetStalest();
    // Expire lazily here too so the map does not hold a window's worth of departed viewers between counts.
    this.expire(now);
    if (this.lastSeen.size > this.peakCount) this.peakCount = this.lastSeen.size;
  }

  /** Drops the viewer seen longest ago (a caller's own memory budget); false when there is none. */
  forgetStalest(): boolean {
    const stalest = this.lastSeen.keys().next().value;
    if (stalest === undefined) return false;
    this.lastSeen.delete(stalest);
    return true;
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
