// hls.js as the pages that play HLS serve it (the transcoder's player page, the gateway's stream pages): the
// minified build from node_modules, read once, under a path that names its version so it can be cached as immutable.
// Nothing is loaded from the internet. And the settings both pages start it with, which make bench-latency measures.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export interface HlsJsAsset {
  version: string;
  bytes: Buffer;
}

export async function loadHlsJs(): Promise<HlsJsAsset> {
  const requireFromHere = createRequire(import.meta.url);
  const version = (requireFromHere('hls.js/package.json') as { version: string }).version;
  const bytes = await readFile(requireFromHere.resolve('hls.js/dist/hls.min.js'));
  return { version, bytes };
}

// hls.js settings for classic HLS, measured glass to glass by bench/latency.ts (make bench-latency), which plays with
// exactly these. Two target durations behind the live edge instead of hls.js's three (7.9 s -> 5.8 s p50 with 2 s
// segments on the local node); a late viewer catches up by playing up to 10% faster (hls.js does that only with
// lowLatencyMode) and jumps back to the edge beyond four. lowLatencyMode also makes hls.js use the classic
// playlist's blocking reload (the origin offers it): it learns of each segment as it is listed (5.7 s, ADR 0020).
export const playerHlsConfig = {
  liveSyncDurationCount: 2,
  liveMaxLatencyDurationCount: 4,
  maxLiveSyncPlaybackRate: 1.1,
  lowLatencyMode: true,
} as const;

// hls.js settings for an LL-HLS channel (spec.hls.lowLatency): no liveSync*Count, which would override the
// playlist's PART-HOLD-BACK (hls.js takes a user's liveSyncDurationCount over it); parts, blocking reload and
// delta updates come with lowLatencyMode, with the same catch-up.
export const playerLlHlsConfig = {
  lowLatencyMode: true,
  maxLiveSyncPlaybackRate: 1.1,
} as const;

/** Both, by the channel kind the gateway's stream page names (data-latency). */
export const playerHlsConfigs = { classic: playerHlsConfig, low: playerLlHlsConfig } as const;
