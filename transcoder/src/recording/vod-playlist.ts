// The VOD playlist of a finished recording: every uploaded segment in sequence order with its real duration, a
// discontinuity wherever the live playlist had one or a sequence number is missing (a segment dropped by a full
// spool), and #EXT-X-ENDLIST.
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
  const target = Math.max(1, ...ordered.map((s) => Math.round(s.duration)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${ordered[0]!.sequence}`,
  ];
  let previous: number | undefined;
  for (const s of ordered) {
    const gap = previous !== undefined && s.sequence !== previous + 1;
    if (previous !== undefined && (s.discontinuity || gap)) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${s.duration.toFixed(6)},`, s.file);
    previous = s.sequence;
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

export function totalDuration(segments: readonly RecordedSegment[]): number {
  return Math.round(orderSegments(segments).reduce((sum, s) => sum + s.duration, 0) * 1000) / 1000;
}
