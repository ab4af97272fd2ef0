// How players, CDNs and the origin's own file cache treat each HLS file (pure).
import type { OutgoingHttpHeaders } from 'node:http';
import type { CachedFile } from './file-cache.ts';
import { cacheControl, contentTypes, type Target } from './routes.ts';

export type FileTarget = Extract<Target, { file: string }>;

// How stale a cached file may be before it is re-checked on disk: a playlist changes once per segment, so 100 ms
// of staleness is invisible to players; a published segment does not change at all.
const playlistRevalidateMs = 100;
const segmentRevalidateMs = 1_000;

export function revalidateMs(target: FileTarget): number {
  return target.route === 'segment' ? segmentRevalidateMs : playlistRevalidateMs;
}

// The headers of a 200 for one version of a file.
export function fileHeaders(file: CachedFile, target: FileTarget): OutgoingHttpHeaders {
  const segment = target.route === 'segment';
  return {
    'access-control-allow-origin': '*',
    'content-type': segment ? contentTypes[target.ext] : contentTypes.m3u8,
    'cache-control': segment ? cacheControl.immutable : cacheControl.playlist,
    etag: file.etag,
    'last-modified': file.lastModified,
    'content-length': file.size,
  };
}
