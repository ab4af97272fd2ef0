// The segments ffmpeg lists in a live variant playlist: a segment is complete once it is listed (ffmpeg writes it
// under a temporary name and renames it before updating the playlist, hls_flags temp_file).
import { mediaSegments } from '../hls/playlists.ts';

export interface LiveSegment {
  sequence: number; // media sequence number: unique and increasing within a session (append_list continues it)
  file: string; // file name relative to the playlist, e.g. seg_00012.ts
  duration: number; // seconds, from EXTINF
  discontinuity: boolean; // an #EXT-X-DISCONTINUITY precedes it (publisher reconnect, ffmpeg restart)
}

export function parseLivePlaylist(text: string): LiveSegment[] {
  // Only plain file names beside the playlist are ours to record: a URI with a path is skipped, not followed.
  return mediaSegments(text)
    .filter((s) => !s.uri.includes('/'))
    .map(({ sequence, uri, duration, discontinuity }) => ({ sequence, file: uri, duration, discontinuity }));
}
