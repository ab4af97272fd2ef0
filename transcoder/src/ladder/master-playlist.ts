// The master playlist, written by us rather than by ffmpeg's -master_pl_name: ffmpeg cannot know the bitrate or
// codec string of a stream it copies, and would advertise the passed-through source with a wrong BANDWIDTH and no
// CODECS. Here every variant carries BANDWIDTH (peak, its own audio included), AVERAGE-BANDWIDTH, RESOLUTION,
// FRAME-RATE and CODECS, and refers to the audio group of its audio rendition; each audio rendition is declared once,
// under the same NAME in every group, so a player switching variants keeps "the" audio track.
// An audio-only source has one variant, the audio rendition itself, listed with its own BANDWIDTH and CODECS.
import { writeMasterPlaylist, type VariantSpec } from '../hls/playlists.ts';
import { peakBandwidth, averageBandwidth } from './bandwidth.ts';
import type { LadderPlan } from './plan-ladder.ts';

export function buildMasterPlaylist(plan: LadderPlan): string {
  const only = plan.audioRenditions[0];
  if (plan.videos.length === 0 && only !== undefined) {
    const variant: VariantSpec = {
      uri: `${only.name}/index.m3u8`,
      bandwidth: peakBandwidth({ audioKbps: only.bitrateKbps, segmentSeconds: plan.segmentSeconds }),
      averageBandwidth: averageBandwidth(0, only.bitrateKbps),
      codecs: only.codecString,
    };
    return writeMasterPlaylist({ version: 6, independentSegments: true, variants: [variant] });
  }
  const variants = plan.videos.map((v): VariantSpec => {
    const audio = plan.audioRenditions.find((a) => a.name === v.audio);
    const codecs = [v.codecString, audio?.codecString].filter((c): c is string => c !== null && c !== undefined);
    return {
      uri: `${v.name}/index.m3u8`,
      bandwidth: v.peakBandwidth,
      averageBandwidth: v.averageBandwidth,
      // CODECS must list every format of the variant; leave it out rather than half-declare it.
      ...(v.codecString !== null && { codecs: codecs.join(',') }),
      ...(v.width > 0 && v.height > 0 && { resolution: { width: v.width, height: v.height } }),
      ...(v.fps > 0 && { frameRate: v.fps }),
      ...(audio !== undefined && { audioGroup: audio.name }),
    };
  });
  return writeMasterPlaylist({
    version: 6,
    independentSegments: true,
    audio: plan.audioRenditions.map((a) => ({
      groupId: a.name,
      name: 'audio',
      language: 'und',
      uri: `${a.name}/index.m3u8`,
    })),
    variants,
  });
}
