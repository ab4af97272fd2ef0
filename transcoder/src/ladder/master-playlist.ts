// The master playlist, written by us rather than by ffmpeg's -master_pl_name: ffmpeg cannot know the bitrate or
// codec string of a stream it copies, and would advertise the passed-through source with a wrong BANDWIDTH and no
// CODECS. Here every variant carries BANDWIDTH (peak), AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE and CODECS, and
// the single audio rendition is declared once as an audio group.
// An audio-only source has one variant, the audio rendition itself, listed with its own BANDWIDTH and CODECS.
import { writeMasterPlaylist, type VariantSpec } from '../hls/playlists.ts';
import { peakBandwidth, averageBandwidth } from './bandwidth.ts';
import { audioRenditionName, type LadderPlan } from './plan-ladder.ts';

export const audioGroupId = 'aud';

export function buildMasterPlaylist(plan: LadderPlan): string {
  if (plan.videos.length === 0 && plan.audio !== null) {
    const { bitrateKbps, codecString } = plan.audio;
    const variant: VariantSpec = {
      uri: `${audioRenditionName}/index.m3u8`,
      bandwidth: peakBandwidth({ audioKbps: bitrateKbps, segmentSeconds: plan.segmentSeconds }),
      averageBandwidth: averageBandwidth(0, bitrateKbps),
      codecs: codecString,
    };
    return writeMasterPlaylist({ version: 6, independentSegments: true, variants: [variant] });
  }
  const variants = plan.videos.map((v): VariantSpec => {
    const codecs = [v.codecString, plan.audio?.codecString].filter((c): c is string => c !== null && c !== undefined);
    return {
      uri: `${v.name}/index.m3u8`,
      bandwidth: v.peakBandwidth,
      averageBandwidth: v.averageBandwidth,
      // CODECS must list every format of the variant; leave it out rather than half-declare it.
      ...(v.codecString !== null && { codecs: codecs.join(',') }),
      ...(v.width > 0 && v.height > 0 && { resolution: { width: v.width, height: v.height } }),
      ...(v.fps > 0 && { frameRate: v.fps }),
    };
  });
  return writeMasterPlaylist({
    version: 6,
    independentSegments: true,
    ...(plan.audio !== null && {
      audio: { groupId: audioGroupId, name: 'audio', language: 'und', uri: `${audioRenditionName}/index.m3u8` },
    }),
    variants,
  });
}
