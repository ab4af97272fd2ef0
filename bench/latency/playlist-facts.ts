// What a media playlist tells a player about latency: target duration, segments, PDT, and for LL-HLS the part target
// and the hold-backs (the player starts PART-HOLD-BACK behind the edge). Pure: the bench fetches, this reads.
import HLS from 'hls-parser';

export interface PlaylistFacts {
  targetDuration: number;
  playlistSegments: number;
  programDateTime: boolean;
  partTargetSeconds?: number;
  partHoldBackSeconds?: number;
  holdBackSeconds?: number;
  canBlockReload?: boolean;
}

export function playlistFacts(text: string): PlaylistFacts | undefined {
  const media = HLS.parse(text);
  if (media.isMasterPlaylist) return undefined;
  const control = media.lowLatencyCompatibility;
  return {
    targetDuration: media.targetDuration,
    playlistSegments: media.segments.length,
    programDateTime: media.segments.length > 0 && media.segments.every((s) => s.programDateTime !== undefined),
    ...(media.partTargetDuration !== undefined && { partTargetSeconds: media.partTargetDuration }),
    ...(control?.partHoldBack !== undefined && { partHoldBackSeconds: control.partHoldBack }),
    ...(control?.holdBack !== undefined && { holdBackSeconds: control.holdBack }),
    ...(control !== undefined && { canBlockReload: control.canBlockReload }),
  };
}
