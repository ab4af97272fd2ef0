// The segments ffmpeg lists in a live variant playlist: a segment is complete once it is listed (ffmpeg writes it
// under a temporary name and renames it before updating the playlist, hls_flags temp_file).
export interface LiveSegment {
  sequence: number; // media sequence number: unique and increasing within a session (append_list continues it)
  file: string; // file name relative to the playlist, e.g. seg_00012.ts
  duration: number; // seconds, from EXTINF
  discontinuity: boolean; // an #EXT-X-DISCONTINUITY precedes it (publisher reconnect, ffmpeg restart)
}

export function parseLivePlaylist(text: string): LiveSegment[] {
  const segments: LiveSegment[] = [];
  let sequence = 0;
  let duration: number | undefined;
  let discontinuity = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) {
      sequence = Number(line.slice('#EXT-X-MEDIA-SEQUENCE:'.length));
    } else if (line === '#EXT-X-DISCONTINUITY') {
      discontinuity = true;
    } else if (line.startsWith('#EXTINF:')) {
      duration = Number.parseFloat(line.slice('#EXTINF:'.length));
    } else if (!line.startsWith('#')) {
      // A URI without EXTINF is not a media segment of ours; skip it rather than guess a duration.
      if (duration !== undefined && Number.isFinite(duration) && !line.includes('/')) {
        segments.push({ sequence, file: line, duration, discontinuity });
      }
      sequence++;
      duration = undefined;
      discontinuity = false;
    }
  }
  return segments;
}
