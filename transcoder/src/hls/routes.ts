// Request classification for the HTTP origin (pure). A strict whitelist of path shapes: anything that is not a
// known route or a well-formed HLS file name under /hls/ is not served, so path traversal has nothing to match.
import { healthPath, metricsPath, readyPath } from '../../../contract/src/pod-contract.ts';
import type { HttpRoute } from '../telemetry/metrics.ts';

export type Target =
  | { route: 'master'; file: string }
  | { route: 'variant'; file: string }
  | { route: 'segment'; file: string; ext: SegmentExt }
  | { route: 'thumbnail'; file: 'thumbnail.jpg' }
  | { route: 'player'; asset: 'page' | 'hlsjs' }
  | { route: 'flv' }
  | { route: 'health'; probe: 'healthz' | 'readyz' }
  | { route: 'metrics' }
  | { route: 'other'; status: 400 | 404 };

export type SegmentExt = 'ts' | 'm4s' | 'mp4' | 'aac';

// Rendition directory and file names: what the ladder writes (names like `720p/index.m3u8`, `720p/seg-00001.ts`).
const namePattern = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export function hlsJsAssetPath(version: string): string {
  return `/assets/hls-${version}.min.js`;
}

function isSafeName(name: string): boolean {
  return namePattern.test(name) && !name.includes('..');
}

// `pathname` as received (still percent-encoded, without the query string).
export function classifyPath(pathname: string, hlsJsPath: string): Target {
  switch (pathname) {
    case '/':
    case '/index.html':
      return { route: 'player', asset: 'page' };
    case healthPath: // the probe and scrape paths the operator puts in the pod (the pod contract)
      return { route: 'health', probe: 'healthz' };
    case readyPath:
      return { route: 'health', probe: 'readyz' };
    case metricsPath:
      return { route: 'metrics' };
    case '/live.flv':
      return { route: 'flv' };
    case '/hls/master.m3u8':
      return { route: 'master', file: 'master.m3u8' };
    case '/thumbnail.jpg': // the ladder's thumbnailFile, at the root of the HLS directory
      return { route: 'thumbnail', file: 'thumbnail.jpg' };
  }
  if (pathname === hlsJsPath) return { route: 'player', asset: 'hlsjs' };
  if (!pathname.startsWith('/hls/')) return { route: 'other', status: 404 };
  // Encoded characters (%2e%2e, %2f, %00...) and backslashes have no place in the names the ladder writes.
  if (pathname.includes('%') || pathname.includes('\\') || pathname.includes('/../') || pathname.endsWith('/..')) {
    return { route: 'other', status: 400 };
  }
  const parts = pathname.slice('/hls/'.length).split('/');
  if (parts.length < 1 || parts.length > 2 || !parts.every(isSafeName)) {
    return { route: 'other', status: parts.some((p) => p === '..' || p === '.') ? 400 : 404 };
  }
  const file = parts.join('/');
  const ext = file.slice(file.lastIndexOf('.') + 1);
  if (ext === 'm3u8') return parts.length === 2 ? { route: 'variant', file } : { route: 'master', file };
  if (ext === 'ts' || ext === 'm4s' || ext === 'mp4' || ext === 'aac') return { route: 'segment', file, ext };
  return { route: 'other', status: 404 };
}

export const contentTypes = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/mp4',
  mp4: 'video/mp4',
  aac: 'audio/aac',
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  flv: 'video/x-flv',
  text: 'text/plain; charset=utf-8',
  jpeg: 'image/jpeg',
} as const;

// Live playlists change every segment: caches must revalidate. Segments never change once published (the ladder
// writes them under a temporary name and renames), and neither does a versioned asset.
export const cacheControl = {
  playlist: 'no-cache',
  immutable: 'public, max-age=31536000, immutable',
  page: 'no-cache',
  none: 'no-store',
  // The live picture changes every few seconds: a short shared cache, then revalidation by ETag.
  thumbnail: 'public, max-age=2',
} as const;

export function routeLabel(target: Target): HttpRoute {
  return target.route;
}
