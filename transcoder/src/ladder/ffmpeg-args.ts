// The ffmpeg command line for a ladder plan. Pure: same plan, same arguments.
//
// One decode feeds every encoded rung through `split`; keyframes are forced on segment boundaries (GOP = fps x
// segment seconds, no scene-cut keyframes) so every rendition cuts its segments at the same instants; audio is
// produced once per distinct bitrate as its own HLS rendition, the audio group of the variants that use it (not once
// per variant). A picture that does not fill its rung's frame (a returning source of another shape) is scaled to fit
// and padded, never stretched. Playlists are written through temporary files so a viewer never reads a partial segment, and without
// ENDLIST: a publisher that drops may come back within the reconnect window, so the session writes ENDLIST itself.
import path from 'node:path';
import { fmp4OutputArgs } from '../llhls/fmp4-output-args.ts';
import type { LadderPlan, PlannedVideo } from './plan-ladder.ts';

export interface FfmpegArgsOptions {
  inputUrl: string;
  outDir: string;
  // Continue the playlists already in outDir (publisher back within the window, or ffmpeg restarted): keeps the
  // segment numbering and marks the timestamp break with #EXT-X-DISCONTINUITY.
  resume: boolean;
  // Prefix of segment file names, unique per session (its id): segments are served immutable, so a name must never
  // be reused by a later session that a CDN or browser could confuse with this one's.
  segmentPrefix?: string;
  x264Preset?: string;
  logLevel?: string;
  // The live picture as a small JPEG (thumbnailFile in outDir), a branch of the same decode; null: none. Default:
  // defaultThumbnail. Never for an audio-only plan.
  thumbnail?: ThumbnailOptions | null;
}

export interface ThumbnailOptions {
  everySeconds: number; // one picture per this many seconds of the source
  width: number; // at most; height keeps the aspect, both even; a smaller source is not enlarged
}

export const defaultThumbnail: ThumbnailOptions = { everySeconds: 5, width: 320 };
export const thumbnailFile = 'thumbnail.jpg';

// Unreferenced segments kept on disk after they leave the playlist, for players still downloading them.
export function deleteMargin(plan: LadderPlan): number {
  return Math.max(2, Math.ceil(plan.playlistLength / 2));
}

export function variantPlaylistPath(outDir: string, rendition: string): string {
  return path.join(outDir, rendition, 'index.m3u8');
}

const segmentPrefixPattern = /^[A-Za-z0-9-]{1,64}$/;

// ffmpeg's pattern for segment names: `<prefix>_%05d.ts`, or `seg_%05d.ts` without a prefix.
export function segmentFilePattern(prefix: string | undefined): string {
  if (prefix === undefined) return 'seg_%05d.ts';
  if (!segmentPrefixPattern.test(prefix)) throw new Error(`invalid segment prefix ${JSON.stringify(prefix)}`);
  return `${prefix}_%05d.ts`;
}

// x264 settings on top of the preset, for every encoded rung.
// - sync-lookahead=0 and rc-lookahead=6 (veryfast: 10): x264 holds max(bframes, rc-lookahead) + threads - 1 +
//   sync-lookahead frames before it returns the first one; a thread of its own for the lookahead buffers bframes+1
//   frames more. 17 frames at 30 fps became 9: start-up latency (SSIM -0.00002 to -0.00004 per rung).
// - deadzone-inter/intra 16/8 (from 21/11) and no-dct-decimate: the preset quantizes without trellis, so these
//   thresholds decide which small coefficients are zeroed; keeping more of them keeps fine detail at the same
//   bitrate (SSIM +0.0001 to +0.0002 per rung, at no measurable CPU cost).
export const x264Params = 'sync-lookahead=0:rc-lookahead=6:deadzone-inter=16:deadzone-intra=8:no-dct-decimate=1';

// An LL-HLS ladder's encoded rungs (lowLatencyOutputs): no frame held back at all. No B-frames, no lookahead (so no
// mb-tree, which needs one) and threads over slices instead of frames, as x264's zerolatency tune does: the 6 + 2
// frames the classic settings hold are 0.53 s at 15 fps, a fifth of an LL-HLS channel's glass-to-glass latency
// (make bench-latency), for more bits at the same quality (x264's zerolatency trade; not measured here).
export const lowLatencyX264Params =
  'bframes=0:rc-lookahead=0:mbtree=0:sync-lookahead=0:sliced-threads=1:deadzone-inter=16:deadzone-intra=8:no-dct-decimate=1';

export function buildFfmpegArgs(plan: LadderPlan, options: FfmpegArgsOptions): string[] {
  const { videos, audioRenditions } = plan;
  if (videos.length === 0 && audioRenditions.length === 0) throw new Error('the ladder plan has no rendition');
  const encoded = videos.filter((v) => v.mode === 'encode');
  const thumbnail = videos.length > 0 ? (options.thumbnail === undefined ? defaultThumbnail : options.thumbnail) : null;
  // -y: the out dir is the ladder's own; without it a restarted ffmpeg exits on the thumbnail it wrote before.
  const args = ['-hide_banner', '-nostdin', '-nostats', '-y', '-loglevel', options.logLevel ?? 'warning'];
  // One decoding thread: a frame-threaded H.264 decoder holds each frame back until the next ones arrive (2 frames
  // on 2 cores), start-up latency a live ladder does not need; one thread decodes 720p30 at a fraction of a core.
  if (encoded.length > 0 || thumbnail) args.push('-threads', '1');
  // Copied rungs only: the decoder feeds nothing but the thumbnail, so keyframes are enough (no effect on the copy).
  if (encoded.length === 0 && thumbnail) args.push('-skip_frame', 'nokey');
  args.push('-i', options.inputUrl);
  if (encoded.length > 0 || thumbnail) args.push('-filter_complex', filterGraph(encoded, thumbnail));

  if (plan.lowLatency !== undefined) {
    args.push(...lowLatencyOutputs(plan, plan.lowLatency.partSeconds, options));
    if (thumbnail) args.push(...thumbnailOutput(options.outDir));
    return args;
  }
  let k = 0;
  for (const v of videos) args.push('-map', v.mode === 'copy' ? '0:v:0' : `[v${k++}]`);
  args.push(...audioRenditions.flatMap(() => ['-map', '0:a:0']));
  videos.forEach((v, i) => args.push(...videoCodecArgs(v, i, plan.segmentSeconds, options)));
  audioRenditions.forEach((a, j) =>
    args.push(...(a.mode === 'copy' ? [`-c:a:${j}`, 'copy'] : [`-c:a:${j}`, 'aac', `-b:a:${j}`, `${a.bitrateKbps}k`])),
  );

  // program_date_time: every segment carries its wall-clock start (EXT-X-PROGRAM-DATE-TIME), which players use to
  // show and measure latency and to line renditions up; on a resume ffmpeg starts the new segments at the new time.
  const flags = ['delete_segments', 'independent_segments', 'temp_file', 'omit_endlist', 'program_date_time'];
  if (options.resume) flags.push('append_list', 'discont_start');
  args.push(
    '-max_muxing_queue_size', '1024',
    '-f', 'hls',
    '-hls_time', String(plan.segmentSeconds),
    '-hls_list_size', String(plan.playlistLength),
    '-hls_delete_threshold', String(deleteMargin(plan)),
    '-hls_segment_type', 'mpegts',
    '-hls_flags', flags.join('+'),
    '-hls_segment_filename', path.join(options.outDir, '%v', segmentFilePattern(options.segmentPrefix)),
    '-var_stream_map', streamMap(plan),
    path.join(options.outDir, '%v', 'index.m3u8'),
  ); // prettier-ignore
  if (thumbnail) args.push(...thumbnailOutput(options.outDir));
  return args;
}

/**
 * The child descriptor each rendition's fragmented MP4 is written to in an LL-HLS ladder: 3, 4, ... in the order
 * of the plan's videos, then its audio renditions (session-output.ts's renditionNames).
 */
export function lowLatencyPipes(plan: LadderPlan): Array<{ rendition: string; fd: number }> {
  const names = [...plan.videos.map((v) => v.name), ...plan.audioRenditions.map((a) => a.name)];
  return names.map((rendition, i) => ({ rendition, fd: 3 + i }));
}

// A copied source whose frame rate was not announced: parts sized as if it ran at 60 fps, so that no part of a
// slower source exceeds PART-TARGET by a frame (they come out shorter than the target instead).
const unknownFpsSampleSeconds = 1 / 60;
const aacFrameSeconds = 1024 / 48_000; // AAC frames of the encoded audio, resampled to 48 kHz below

// LL-HLS: each rendition its own mp4 output (fragmented, on a pipe the packager reads), with the classic ladder's
// encoder settings but x264's low-latency ones (lowLatencyX264Params); the stream index of every option is 0 because each output has one stream.
function lowLatencyOutputs(plan: LadderPlan, partTarget: number, options: FfmpegArgsOptions): string[] {
  const pipes = lowLatencyPipes(plan);
  const args: string[] = [];
  let k = 0;
  plan.videos.forEach((v, i) => {
    const codec = videoCodecArgs(v, 0, plan.segmentSeconds, options, lowLatencyX264Params);
    args.push('-map', v.mode === 'copy' ? '0:v:0' : `[v${k++}]`, ...codec);
    const sampleSeconds = v.fps > 0 ? 1 / v.fps : unknownFpsSampleSeconds;
    args.push('-max_muxing_queue_size', '1024');
    args.push(...fmp4OutputArgs({ partTarget, sampleSeconds, output: `pipe:${pipes[i]!.fd}` }));
  });
  plan.audioRenditions.forEach((a, j) => {
    // Resampled to 48 kHz, so that every part is the 23 AAC frames -frag_duration is computed from.
    const codec =
      a.mode === 'copy' ? ['-c:a:0', 'copy'] : ['-c:a:0', 'aac', '-b:a:0', `${a.bitrateKbps}k`, '-ar:a:0', '48000'];
    args.push('-map', '0:a:0', ...codec, '-max_muxing_queue_size', '1024');
    const output = `pipe:${pipes[plan.videos.length + j]!.fd}`;
    args.push(...fmp4OutputArgs({ partTarget, sampleSeconds: aacFrameSeconds, output }));
  });
  return args;
}

// A second output of the same process: the picture overwritten in place (-update), through a temporary file and a
// rename (-atomic_writing), so a reader never sees a partial JPEG.
function thumbnailOutput(outDir: string): string[] {
  return [
    '-map', '[thumb]', '-an',
    '-c:v', 'mjpeg', '-q:v', '5', '-fps_mode', 'passthrough',
    '-f', 'image2', '-update', '1', '-atomic_writing', '1',
    path.join(outDir, thumbnailFile),
  ]; // prettier-ignore
}

/** The thumbnail branch: one frame per interval, at most `width` wide, aspect kept, both sides even. */
export function thumbnailFilters(t: ThumbnailOptions): string[] {
  return [`fps=1/${t.everySeconds}`, `scale=w='2*trunc(min(${t.width}\\,iw)/2)':h=-2`];
}

// One decode split into every encoded rung: scaled to the rung (or into it, padded), at its rate, 4:2:0; and into
// the thumbnail, when there is one.
function filterGraph(encoded: readonly PlannedVideo[], thumbnail: ThumbnailOptions | null): string {
  const branches = encoded.length + (thumbnail ? 1 : 0);
  const input = (k: number): string => (branches > 1 ? `[s${k}]` : '[0:v:0]');
  const chains = encoded.map(
    (v, k) => `${input(k)}${[...scaleFilters(v), `fps=${v.fps}`, 'format=yuv420p'].join(',')}[v${k}]`,
  );
  if (thumbnail) chains.push(`${input(encoded.length)}${thumbnailFilters(thumbnail).join(',')}[thumb]`);
  const outputs = Array.from({ length: branches }, (_, k) => `[s${k}]`).join('');
  const split = branches > 1 ? [`[0:v:0]split=${branches}${outputs}`] : [];
  return [...split, ...chains].join(';');
}

/** The picture scaled to the rung's size, or scaled to fit inside it and padded (centred, on even offsets). */
export function scaleFilters(v: Pick<PlannedVideo, 'width' | 'height' | 'picture'>): string[] {
  const p = v.picture;
  if (p === undefined || (p.width === v.width && p.height === v.height)) return [`scale=${v.width}:${v.height}`];
  const x = 2 * Math.floor((v.width - p.width) / 4);
  const y = 2 * Math.floor((v.height - p.height) / 4);
  // setsar=1: square pixels, so a player shows the padded frame at the size the master announces.
  return [`scale=${p.width}:${p.height}`, `pad=${v.width}:${v.height}:${x}:${y}:black`, 'setsar=1'];
}

function videoCodecArgs(
  v: PlannedVideo,
  i: number,
  segmentSeconds: number,
  options: FfmpegArgsOptions,
  params = x264Params,
): string[] {
  const s = `:v:${i}`;
  if (v.mode === 'copy') return [`-c${s}`, 'copy'];
  return [
    `-c${s}`, 'libx264',
    `-preset${s}`, options.x264Preset ?? 'veryfast',
    `-profile${s}`, v.profile ?? 'main',
    `-level${s}`, v.level ?? '4.0',
    `-pix_fmt${s}`, 'yuv420p',
    `-b${s}`, `${v.videoBitrateKbps}k`,
    `-maxrate${s}`, `${v.maxrateKbps}k`,
    `-bufsize${s}`, `${v.bufsizeKbps}k`,
    `-g${s}`, String(v.gop),
    `-keyint_min${s}`, String(v.gop),
    `-sc_threshold${s}`, '0',
    `-force_key_frames${s}`, `expr:gte(t,n_forced*${segmentSeconds})`,
    `-x264-params${s}`, params,
    // The fps filter already makes the frame rate constant; ffmpeg's own CFR pass would repeat the first frame
    // (whose timestamp does not start at 0 behind a B-frame source) and show the video a frame late from then on.
    `-fps_mode${s}`, 'passthrough',
  ]; // prettier-ignore
}

// Each video variant in the audio group of its audio rendition (the group is named after it). Audio only (radio,
// podcasts): the audio rendition is the one variant, in no group.
function streamMap(plan: LadderPlan): string {
  const videos = plan.videos.map((v, i) => `v:${i},${v.audio !== null ? `agroup:${v.audio},` : ''}name:${v.name}`);
  const audio = plan.audioRenditions.map(
    (a, j) => `a:${j},${plan.videos.length > 0 ? `agroup:${a.name},` : ''}name:${a.name}`,
  );
  return [...videos, ...audio].join(' ');
}
