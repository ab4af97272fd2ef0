// The origin's answers for an LL-HLS rendition (llhls/rendition-packager.ts): the media playlist from memory, with
// blocking reload. Cache lifetimes (RFC 8216bis 6.2.5.2 leaves them to the server):
// - a plain playlist request changes with every part: `no-cache`, as classic playlists;
// - a blocking request (`_HLS_msn`) names the state it waited for in its URL, so every viewer asking the same URL
//   may get the same answer: cacheable, briefly (`max-age=1`), so a shared cache (the gateway, a CDN) collapses the
//   viewers of one part into one origin request, and a player asking late still gets a recent playlist;
// - 400 and 503 are not cached (a 503 means "not yet", and the next try should reach the origin).
import type { ServerResponse } from 'node:http';
import type { PlaylistAnswer } from '../llhls/rendition-packager.ts';
import { corsHeaders, type ResponseWriter } from './response-writer.ts';
import { cacheControl, contentTypes } from './routes.ts';

export interface LowLatencyRendition {
  playlist(query: string, signal?: AbortSignal): Promise<PlaylistAnswer>;
  waitForFile(file: string, signal?: AbortSignal): Promise<void>;
}

export const blockingPlaylistCacheControl = 'public, max-age=1';

export function playlistHeaders(answer: Extract<PlaylistAnswer, { status: 200 }>): Record<string, string> {
  return {
    ...corsHeaders,
    'content-type': contentTypes.m3u8,
    'cache-control': answer.blocked ? blockingPlaylistCacheControl : cacheControl.playlist,
  };
}

export async function serveLowLatencyPlaylist(
  res: ServerResponse,
  rendition: LowLatencyRendition,
  query: string,
  signal: AbortSignal,
  writer: ResponseWriter,
  live: boolean,
): Promise<void> {
  if (!live) return writer.text(res, 'variant', 404, 'stream is not live\n');
  const answer = await rendition.playlist(query, signal);
  if (signal.aborted) return;
  if (answer.status !== 200) return writer.text(res, 'variant', answer.status, answer.body);
  writer.send(res, 'variant', 200, playlistHeaders(answer), answer.body);
}
