// The VOD playlist of a finished recording: every uploaded segment in sequence order with its real duration, a
// discontinuity wherever the live playlist had one or a sequence number is missing (a segment dropped by a full
// spool), and #EXT-X-ENDLIST.
import { writeMediaPlaylist } from '../hls/playlists.ts';

export interface RecordedSegment {
  sequence: number;
  file: string; // object name within the session prefix
  duration: number;
  discontinuity: boolean;
}

export function orderSegments(segments: readonly RecordedSegment[]): RecordedSegment[] {
  const bySequence = new Map<number, RecordedSegment>();
  for (const s of segments) if (!bySequence.has(s.sequence)) bySequence.set(s.sequence, s);
  return [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
}

export function buildVodPlaylist(segments: readonly RecordedSegment[]): string {
  const ordered = orderSegments(segments);
  if (ordered.length === 0) throw new Error('no segments to list');
  return writeMediaPlaylist({
    version: 3,
    playlistType: 'VOD',
    independentSegments: true,
    targetDuration: Math.max(1, ...ordered.map((s) => Math.round(s.duration))),
    mediaSequence: ordered[0]!.sequence,
    segments: ordered.map((s, i) => {
      const previous = ordered[i - 1];
      const gap = previous !== undefined && s.sequence !== previous.sequence + 1;
      const discontinuity = previous !== undefined && (s.discontinuity || gap);
      return { sequence: s.sequence, uri: s.file, duration: s.duration, discontinuity };
    }),
    endlist: true,
  });
}

export function totalDuration(segments: readonly RecordedSegment[]): number {
  return Math.round(orderSegments(segments).reduce((sum, s) => sum + s.duration, 0) * 1000) / 1000;
}
