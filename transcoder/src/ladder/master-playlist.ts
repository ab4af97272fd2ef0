// The master playlist, written by us rather than by ffmpeg's -master_pl_name: ffmpeg cannot know the bitrate or
// codec string of a stream it copies, and would advertise the passed-through source with a wrong BANDWIDTH and no
// CODECS. Here every variant carries BANDWIDTH (peak), AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE and CODECS, and
// the single audio rendition is declared once as an audio group.
import { audioRenditionName, type LadderPlan } from './plan-ladder.ts';

export const audioGroupId = 'aud';

export function buildMasterPlaylist(plan: LadderPlan): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  if (plan.audio !== null) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${audioGroupId}",NAME="audio",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,` +
        `URI="${audioRenditionName}/index.m3u8"`,
    );
  }
  for (const v of plan.videos) {
    const attrs = [`BANDWIDTH=${v.peakBandwidth}`, `AVERAGE-BANDWIDTH=${v.averageBandwidth}`];
    const codecs = [v.codecString, plan.audio?.codecString].filter((c): c is string => c !== null && c !== undefined);
    // CODECS must list every format of the variant; leave it out rather than half-declare it.
    if (v.codecString !== null) attrs.push(`CODECS="${codecs.join(',')}"`);
    if (v.width > 0 && v.height > 0) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.fps > 0) attrs.push(`FRAME-RATE=${v.fps.toFixed(3)}`);
    if (plan.audio !== null) attrs.push(`AUDIO="${audioGroupId}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${v.name}/index.m3u8`);
  }
  return lines.join('\n') + '\n';
}
