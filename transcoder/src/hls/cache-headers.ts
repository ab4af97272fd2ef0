// How players, CDNs and the origin's own file cache treat each HLS file (pure).
import type { OutgoingHttpHeaders } from 'node:http';
import type { CachedFile } from './file-cache.ts';
import { cacheControl, contentTypes, type Target } from './routes.ts';

export type FileTarget = Extract<Target, { file: string }>;

// How stale a cached file may be before it is re-checked on disk: a playlist changes once per segment, so 100 ms
// of staleness is invisible to players; a published segment does not change at all.
const playlistRevalidateMs = 100;
const segmentRevalidateMs = 1_000;
const thumbnailRevalidateMs = 500; // replaced every few seconds; its max-age is 2 s

export function revalidateMs(target: FileTarget): number {
  if (target.route === 'thumbnail') return thumbnailRevalidateMs;
  return target.route === 'segment' ? segmentRevalidateMs : playlistRevalidateMs;
}

// The headers of a 200 for one version of a file.
export function fileHeaders(file: CachedFile, target: FileTarget): OutgoingHttpHeaders {
  const [contentType, cache] = typeAndCaching(target);
  return {
    'access-control-allow-origin': '*',
    'content-type': contentType,
    'cache-control': cache,
    etag: file.etag,
    'last-modified': file.lastModified,
    'content-length': file.size,
  };
}

function typeAndCaching(target: FileTarget): [string, string] {
  if (target.route === 'segment') return [contentTypes[target.ext], cacheControl.immutable];
  if (target.route === 'thumbnail') return [contentTypes.jpeg, cacheControl.thumbnail];
  return [contentTypes.m3u8, cacheControl.playlist];
}
