// The one place the transcoder reads and writes m3u8 text, on hls-parser. Reading is lenient: the live playlists
// are ffmpeg's, read while it writes them, and a playlist we cannot make sense of is "nothing yet", not an error.
// hls-parser's options are global (a test may turn strictMode on for its own assertions): every call here sets the
// ones it needs and puts the caller's back, and nothing here yields in between.
import HLS from 'hls-parser';

type Playlist = HLS.types.MasterPlaylist | HLS.types.MediaPlaylist;

function withOptions<T>(options: Parameters<typeof HLS.setOptions>[0], body: () => T): T {
  const saved = HLS.getOptions();
  HLS.setOptions(options);
  try {
    return body();
  } finally {
    HLS.setOptions({ strictMode: false, silent: false, ...saved });
  }
}

/** The playlist, or undefined when the text is not (yet) one. */
export function parsePlaylist(text: string): Playlist | undefined {
  return withOptions({ strictMode: false, silent: true }, () => {
    try {
      return HLS.parse(text);
    } catch {
      return undefined;
    }
  });
}

function parseMedia(text: string): HLS.types.MediaPlaylist | undefined {
  const playlist = parsePlaylist(text);
  return playlist !== undefined && !playlist.isMasterPlaylist ? playlist : undefined;
}

export interface PlaylistSegment {
  sequence: number; // media sequence number
  uri: string;
  duration: number; // seconds, from EXTINF
  discontinuity: boolean; // an #EXT-X-DISCONTINUITY precedes it
  programDateTime?: Date; // #EXT-X-PROGRAM-DATE-TIME: the wall clock at its first sample
}

/** The complete media segments of a media playlist (a trailing EXTINF without its URI is not one). */
export function mediaSegments(text: string): PlaylistSegment[] {
  const playlist = parseMedia(text);
  if (playlist === undefined) return [];
  const base = playlist.mediaSequenceBase ?? 0;
  return playlist.segments.flatMap((s, i) =>
    typeof s.uri === 'string' && s.uri !== '' && Number.isFinite(s.duration)
      ? [
          {
            sequence: base + i,
            uri: s.uri,
            duration: s.duration,
            discontinuity: s.discontinuity === true,
            ...(s.programDateTime !== undefined && { programDateTime: s.programDateTime }),
          },
        ]
      : [],
  );
}

export interface PlaylistPosition {
  mediaSequence: number;
  segments: number;
  lastSequence: number; // mediaSequence + segments - 1; -1 when empty
}

export function playlistPosition(text: string): PlaylistPosition {
  const playlist = parseMedia(text);
  const mediaSequence = playlist?.mediaSequenceBase ?? 0;
  const segments = mediaSegments(text).length;
  return { mediaSequence, segments, lastSequence: segments > 0 ? mediaSequence + segments - 1 : -1 };
}

/** The media playlist marked finished (#EXT-X-ENDLIST), or undefined when it already is or is not one. */
export function withEndlist(text: string): string | undefined {
  const playlist = parseMedia(text);
  if (playlist === undefined || playlist.endlist) return undefined;
  playlist.endlist = true;
  return stringify(playlist);
}

export interface MediaPlaylistSpec {
  version: number;
  playlistType?: 'VOD' | 'EVENT';
  independentSegments?: boolean;
  targetDuration: number;
  mediaSequence: number;
  segments: readonly PlaylistSegment[];
  endlist: boolean;
}

export function writeMediaPlaylist(spec: MediaPlaylistSpec): string {
  const playlist = new HLS.types.MediaPlaylist({
    version: spec.version,
    independentSegments: spec.independentSegments ?? false,
    targetDuration: spec.targetDuration,
    mediaSequenceBase: spec.mediaSequence,
    endlist: spec.endlist,
    ...(spec.playlistType !== undefined && { playlistType: spec.playlistType }),
    segments: spec.segments.map(
      (s) =>
        new HLS.types.Segment({
          uri: s.uri,
          duration: s.duration,
          mediaSequenceNumber: s.sequence,
          discontinuity: s.discontinuity,
          ...(s.programDateTime !== undefined && { programDateTime: s.programDateTime }),
        }),
    ),
  });
  return stringify(playlist);
}

export interface VariantSpec {
  uri: string;
  bandwidth: number; // peak, bits/s
  averageBandwidth?: number;
  codecs?: string;
  resolution?: { width: number; height: number };
  frameRate?: number;
  audioGroup?: string; // the groupId of the audio rendition it plays with
}

export interface AudioRenditionSpec {
  groupId: string;
  name: string;
  uri: string;
  language?: string;
}

export interface MasterPlaylistSpec {
  version: number;
  independentSegments: boolean;
  // Audio renditions, each an audio group of its own (EXT-X-MEDIA, written once) that variants refer to.
  audio?: readonly AudioRenditionSpec[];
  variants: readonly VariantSpec[];
}

export function writeMasterPlaylist(spec: MasterPlaylistSpec): string {
  const renditions = new Map(
    (spec.audio ?? []).map((a) => [
      a.groupId,
      new HLS.types.Rendition({
        type: 'AUDIO',
        groupId: a.groupId,
        name: a.name,
        uri: a.uri,
        ...(a.language !== undefined && { language: a.language }),
        isDefault: true,
        autoselect: true,
        forced: false,
      }),
    ]),
  );
  const playlist = new HLS.types.MasterPlaylist({
    version: spec.version,
    independentSegments: spec.independentSegments,
    variants: spec.variants.map(({ audioGroup, ...v }) => {
      const audio = audioGroup === undefined ? undefined : renditions.get(audioGroup);
      if (audioGroup !== undefined && audio === undefined) throw new Error(`no audio rendition ${audioGroup}`);
      return new HLS.types.Variant({
        ...v,
        bandwidth: Math.max(1, Math.round(v.bandwidth)),
        audio: audio ? [audio] : [],
      });
    }),
  });
  return stringify(playlist);
}

// hls-parser leaves out the final newline; every line of an m3u8 ends with one.
const stringify = (playlist: Playlist): string => `${HLS.stringify(playlist)}\n`;
