// Blocking playlist reload for classic HLS (RFC 8216bis 6.2.5.2 needs no parts), pure: the tag that offers it, and
// whether a request naming a Media Sequence Number (`_HLS_msn`) is answered by the playlist on disk now, once a
// later one is written, or never. Without it a player finds a new segment only at its next poll, up to a target
// duration late (hls.js polls once per target duration); with it the player's request waits at the origin and is
// answered as the segment is listed: about a second less glass to glass with 2 s segments (make bench-latency).
import type { Decision, ParsedDirectives } from '../llhls/blocking-reload.ts';
import { playlistPosition } from './playlists.ts';

export const serverControlTag = '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES';

/** The media playlist ffmpeg wrote, offering blocking reload (after its TARGETDURATION); unchanged when it does. */
export function advertiseBlockingReload(text: string): string {
  if (text.includes('#EXT-X-SERVER-CONTROL')) return text;
  const m = /^#EXT-X-TARGETDURATION:[^\n]*\n/m.exec(text);
  if (m === null) return text; // not a media playlist (yet): nothing to offer on
  const at = m.index + m[0].length;
  return `${text.slice(0, at)}${serverControlTag}\n${text.slice(at)}`;
}

/** How long a blocking request may wait (ms): three target durations (RFC 8216bis 6.2.5.2), then 503. */
export function holdLimitMs(text: string): number {
  const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1]);
  return 3 * 1000 * (target > 0 ? target : 2);
}

/** What a blocking request is decided on: the playlist's last segment, and whether it has ended. */
export interface ClassicPosition {
  lastSequence: number; // -1: no segment yet
  ended: boolean;
}

export function classicPosition(text: string): ClassicPosition {
  return { lastSequence: playlistPosition(text).lastSequence, ended: /^#EXT-X-ENDLIST/m.test(text) };
}

/**
 * A classic playlist request's directives (parseDirectives of its query, parsed once per request) against the
 * playlist at `position`: answered now (no
 * `_HLS_msn`, an ended playlist, or the segment is listed or already left the window), wait for a later playlist,
 * or refused: malformed directives, a part (there are none), or an msn more than 2 past the last segment.
 */
export function decideClassic(parsed: ParsedDirectives, position: ClassicPosition): Decision {
  if (!parsed.ok) return { kind: 'bad-request', reason: parsed.reason };
  const { msn, part } = parsed.directives;
  if (msn === undefined) return { kind: 'now' };
  if (part !== undefined) return { kind: 'bad-request', reason: '_HLS_part on a playlist without parts' };
  const { lastSequence, ended } = position;
  if (ended || msn <= lastSequence) return { kind: 'now' };
  if (msn > lastSequence + 2) return { kind: 'bad-request', reason: `_HLS_msn ${msn} is beyond ${lastSequence} + 2` };
  return { kind: 'wait' };
}

/** Whether a query may name an msn at all: plain polls skip the parse. */
export const mayBlock = (query: string): boolean => query.includes('_HLS_');

/** Whether a cached path is a rendition's media playlist (`<rendition>/<name>.m3u8`), the ones that may block. */
export const isMediaPlaylistPath = (path: string): boolean => path.includes('/') && path.endsWith('.m3u8');
