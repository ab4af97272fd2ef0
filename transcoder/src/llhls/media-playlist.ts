// The LL-HLS media playlist of one rendition, rendered from its timeline (pure), on hls-parser like every m3u8 the
// transcoder writes: EXT-X-PART-INF, EXT-X-SERVER-CONTROL (blocking reload, part hold-back, delta updates), the
// init segment (EXT-X-MAP), a PROGRAM-DATE-TIME on every segment, EXT-X-PART lines for the last segments and the
// one being written, EXT-X-PRELOAD-HINT for the next part, EXT-X-SKIP in a delta update (_HLS_skip), and
// EXT-X-RENDITION-REPORT for the sibling renditions. The multivariant playlist stays ladder/master-playlist.ts's:
// the LL-HLS media playlists take the place of ffmpeg's at the same URIs (`<rendition>/index.m3u8`).
import HLS from 'hls-parser';
import {
  nextPartPosition,
  type LlPart,
  type LlSegment,
  type PartPosition,
  type SegmenterOptions,
  type Timeline,
} from './part-segmenter.ts';

// EXT-X-SKIP and CAN-SKIP-UNTIL need version 9 (RFC 8216bis 7); nothing here needs more.
export const llHlsVersion = 9;

export interface RenditionReport {
  uri: string; // relative to this playlist: `../<rendition>/index.m3u8`
  last: PartPosition | undefined; // the sibling's newest part (lastPart of its timeline)
}

export interface MediaPlaylistOptions extends Pick<SegmenterOptions, 'targetDuration' | 'partTarget' | 'names'> {
  skip?: boolean; // a delta update (_HLS_skip=YES): the segments before the skip boundary become EXT-X-SKIP
  renditionReports?: readonly RenditionReport[];
  endlist?: boolean;
}

/**
 * The EXT-X-RENDITION-REPORT URIs of a rendition's siblings: every other media playlist of the ladder (variants and
 * audio renditions by name), as master-playlist.ts names them (`<name>/index.m3u8`), relative to this one's.
 */
export function siblingPlaylistUris(self: string, renditions: readonly string[]): string[] {
  return renditions.filter((name) => name !== self).map((name) => `../${name}/index.m3u8`);
}

/** At least 3 part targets (RFC 8216bis asks 2; Apple 3): how far behind the live edge a player starts. */
export const partHoldBack = (partTarget: number): number => round(3 * partTarget);
/** The smallest skip boundary the spec allows: 6 target durations. */
export const canSkipUntil = (targetDuration: number): number => 6 * targetDuration;

// Part lines are kept for the segment being written and the last two complete ones: within 3 target durations of
// the end, as RFC 8216bis 6.2.2 asks, and as hls-parser's strict mode checks (by count).
const segmentsWithParts = 2;

export function renderMediaPlaylist(tl: Timeline, options: MediaPlaylistOptions): string {
  const complete = tl.segments;
  const skipped = options.skip === true && options.endlist !== true ? skippedSegments(tl, options) : 0;
  const segments = complete.map((s, i) =>
    toHlsSegment(s, i >= complete.length - segmentsWithParts ? s.parts : [], tl, i),
  );
  const open = openSegment(tl, options);
  const playlist = new HLS.types.MediaPlaylist({
    version: llHlsVersion,
    independentSegments: true,
    targetDuration: targetDurationOf(tl, options.targetDuration),
    mediaSequenceBase: complete[0]?.msn ?? tl.open?.msn ?? tl.nextMsn,
    discontinuitySequenceBase: tl.discontinuitySequence,
    endlist: options.endlist === true,
    lowLatencyCompatibility: {
      canBlockReload: true,
      canSkipUntil: canSkipUntil(options.targetDuration),
      holdBack: 3 * options.targetDuration, // for players that play whole segments only (RFC 8216bis: at least 3)
      partHoldBack: partHoldBack(options.partTarget),
    },
    partTargetDuration: options.partTarget,
    segments: [...segments.slice(skipped), ...(open ? [open] : [])],
    skip: skipped,
    renditionReports: (options.renditionReports ?? []).flatMap((r) =>
      r.last ? [new HLS.types.RenditionReport({ uri: r.uri, lastMSN: r.last.msn, lastPart: r.last.part })] : [],
    ),
  });
  return stringify(playlist);
}

// A live playlist's target duration may not change, and no EXTINF may round above it: the configured target,
// unless a segment already is longer (a source whose keyframes are further apart than the grid).
function targetDurationOf(tl: Timeline, target: number): number {
  return Math.max(Math.ceil(target), ...tl.segments.map((s) => Math.round(s.duration)));
}

/**
 * How many of the oldest segments a delta update replaces by EXT-X-SKIP: those that end more than CAN-SKIP-UNTIL
 * seconds before the end of the last complete segment (RFC 8216bis 6.2.5.1), so the client has them already.
 */
export function skippedSegments(tl: Timeline, options: Pick<MediaPlaylistOptions, 'targetDuration'>): number {
  const boundary = canSkipUntil(options.targetDuration);
  let fromEnd = 0;
  let kept = 0;
  for (let i = tl.segments.length - 1; i >= 0; i--) {
    if (fromEnd > boundary + 1e-9) break;
    fromEnd += tl.segments[i]!.duration;
    kept += 1;
  }
  return tl.segments.length - kept;
}

function toHlsSegment(s: LlSegment, parts: readonly LlPart[], tl: Timeline, i: number): HLS.types.Segment {
  return new HLS.types.Segment({
    uri: s.uri,
    duration: round(s.duration),
    mediaSequenceNumber: s.msn,
    discontinuity: s.discontinuity,
    discontinuitySequence: tl.discontinuitySequence + discontinuitiesThrough(tl.segments, i),
    map: new HLS.types.MediaInitializationSection({ uri: s.mapUri }),
    programDateTime: new Date(s.programDateTime),
    parts: parts.map(toHlsPart),
  });
}

function discontinuitiesThrough(segments: readonly LlSegment[], i: number): number {
  return segments.slice(1, i + 1).filter((s) => s.discontinuity).length;
}

// The segment being written, as its parts so far and the hint for the next one (or a segment of the hint alone,
// when the next part starts a new segment). None once the playlist has ended.
function openSegment(tl: Timeline, options: MediaPlaylistOptions): HLS.types.Segment | undefined {
  if (options.endlist === true) return undefined;
  const next = nextPartPosition(tl);
  const open = tl.open;
  const hint = new HLS.types.PartialSegment({ hint: true, uri: options.names.part(next.msn, next.part) });
  return new HLS.types.Segment({
    mediaSequenceNumber: next.msn,
    ...(open && { map: new HLS.types.MediaInitializationSection({ uri: open.mapUri }) }),
    ...(open && { programDateTime: new Date(open.programDateTime) }),
    ...(open?.discontinuity && { discontinuity: true }),
    parts: [...(open?.parts ?? []).map(toHlsPart), hint],
  });
}

function toHlsPart(p: LlPart): HLS.types.PartialSegment {
  return new HLS.types.PartialSegment({
    hint: false,
    uri: p.uri,
    duration: round(p.duration),
    ...(p.independent && { independent: true }),
  });
}

// Durations to the microsecond: no binary-float tails in the text, and never above PART-TARGET by rounding (a part
// is checked against PART-TARGET with 1e-6 of slack).
function round(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e6;
}

// hls-parser's options are global: write with strict mode off and errors silent, then put the caller's back (as
// hls/playlists.ts does; nothing yields in between). Every m3u8 line ends with a newline.
function stringify(playlist: HLS.types.MediaPlaylist): string {
  const saved = HLS.getOptions();
  HLS.setOptions({ strictMode: false, silent: true });
  try {
    return `${HLS.stringify(playlist)}\n`;
  } finally {
    HLS.setOptions({ strictMode: false, silent: false, ...saved });
  }
}
