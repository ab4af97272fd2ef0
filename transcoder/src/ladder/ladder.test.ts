import { describe, expect, it } from 'vitest';
import HLS from 'hls-parser';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import {
  buildFfmpegArgs,
  deleteMargin,
  lowLatencyPipes,
  scaleFilters,
  segmentFilePattern,
  thumbnailFilters,
  lowLatencyX264Params,
  x264Params,
} from './ffmpeg-args.ts';
import { buildMasterPlaylist } from './master-playlist.ts';
import { fitInside, h264Level, planLadder } from './plan-ladder.ts';
import { noVideo, parseAvcDecoderConfig, type SourceInfo } from './source-info.ts';

const h264Aac720p: SourceInfo = {
  videoCodec: 'h264',
  audioCodec: 'aac',
  width: 1280,
  height: 720,
  fps: 30,
  profile: 'high',
  codecString: 'avc1.64001f',
  videoBitrateKbps: 3000,
  keyframeIntervalSeconds: 2,
};

function settings(spec: object = {}) {
  return resolveSpec(validateSpec(spec), 'demo', 'ns');
}

// The value following a flag, e.g. valueOf(args, '-c:v:0').
function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe('planLadder', () => {
  it('passes an H.264/AAC source that fits through as the top rung, replacing the same-size rung', () => {
    const plan = planLadder(settings(), h264Aac720p);
    expect(plan.passthrough).toBe(true);
    expect(plan.videos.map((v) => `${v.name}:${v.mode}:${v.width}x${v.height}`)).toEqual([
      'source:copy:1280x720',
      '480p:encode:854x480',
      '360p:encode:640x360',
    ]);
    // Every variant, the copied source's video included, shares one AAC at their (equal) rung bitrate: one group,
    // so hls.js switches rungs without changing audio.
    expect(plan.audioRenditions).toEqual([
      { name: 'audio', mode: 'encode', bitrateKbps: 128, codecString: 'mp4a.40.2' },
    ]);
    expect(plan.videos.map((v) => v.audio)).toEqual(['audio', 'audio', 'audio']);
    expect(plan.videos[0]?.codecString).toBe('avc1.64001f');
  });

  it('encodes every rung, audio included, when passthrough is off', () => {
    const plan = planLadder(settings({ ladder: { passthrough: false } }), h264Aac720p);
    expect(plan.videos.map((v) => `${v.name}:${v.mode}`)).toEqual(['720p:encode', '480p:encode', '360p:encode']);
    expect(plan.audioRenditions.map((a) => `${a.name}:${a.mode}:${a.bitrateKbps}`)).toEqual(['audio:encode:128']);
    expect(plan.videos.map((v) => v.audio)).toEqual(['audio', 'audio', 'audio']);
  });

  it('drops rungs larger than the source and never upscales', () => {
    const src = { ...h264Aac720p, width: 854, height: 480 };
    expect(planLadder(settings({ ladder: { passthrough: false } }), src).videos.map((v) => v.name)).toEqual([
      '480p',
      '360p',
    ]);
    expect(planLadder(settings(), src).videos.map((v) => v.name)).toEqual(['source', '360p']);
  });

  it('keeps the source aspect ratio inside each rung box, with even sizes', () => {
    expect(fitInside(640, 360, 426, 240)).toEqual({ width: 426, height: 240 });
    expect(fitInside(640, 480, 854, 480)).toEqual({ width: 640, height: 480 });
    expect(fitInside(1440, 1080, 1280, 720)).toEqual({ width: 960, height: 720 });
    expect(fitInside(0, 0, 1280, 720)).toEqual({ width: 1280, height: 720 });
  });

  it('derives GOP = fps x segment seconds and caps the rung fps at the source fps', () => {
    const plan = planLadder(settings({ ladder: { passthrough: false }, hls: { segmentSeconds: 4 } }), {
      ...h264Aac720p,
      fps: 25,
    });
    expect(plan.videos.map((v) => [v.fps, v.gop])).toEqual([
      [25, 100],
      [25, 100],
      [25, 100],
    ]);
  });

  it('has no audio rendition for a silent source', () => {
    const plan = planLadder(settings(), { ...h264Aac720p, audioCodec: null });
    expect(plan.audioRenditions).toEqual([]);
    expect(plan.videos.every((v) => v.audio === null)).toBe(true);
    expect(buildFfmpegArgs(plan, { inputUrl: 'rtmp://x/a/b', outDir: '/o', resume: false })).not.toContain('0:a:0');
  });

  it('picks the H.264 level from frame size, rate and bitrate', () => {
    expect(h264Level(640, 360, 30, 856).name).toBe('3.0');
    expect(h264Level(1280, 720, 30, 2996).name).toBe('3.1');
    expect(h264Level(1920, 1080, 30, 5350).name).toBe('4.0');
    expect(h264Level(1920, 1080, 60, 5350).name).toBe('4.2');
  });
});

describe('buildFfmpegArgs', () => {
  const outDir = '/var/lib/livestream/hls';
  const input = 'rtmp://127.0.0.1:1935/live/internal';

  it('decodes once, copies the source, aligns keyframes to segments and shares one audio rendition', () => {
    const plan = planLadder(settings(), h264Aac720p);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: false, thumbnail: null });
    expect(args.filter((a) => a === '-i')).toHaveLength(1);
    expect(valueOf(args, '-filter_complex')).toBe(
      '[0:v:0]split=2[s0][s1];[s0]scale=854:480,fps=30,format=yuv420p[v0];[s1]scale=640:360,fps=30,format=yuv420p[v1]',
    );
    expect(args.filter((a) => a === '-map').length).toBe(4);
    expect(valueOf(args, '-c:v:0')).toBe('copy');
    expect(valueOf(args, '-c:v:1')).toBe('libx264');
    expect(valueOf(args, '-g:v:1')).toBe('60');
    expect(valueOf(args, '-keyint_min:v:1')).toBe('60');
    expect(valueOf(args, '-sc_threshold:v:1')).toBe('0');
    expect(valueOf(args, '-force_key_frames:v:2')).toBe('expr:gte(t,n_forced*2)');
    expect(valueOf(args, '-pix_fmt:v:2')).toBe('yuv420p');
    expect(valueOf(args, '-profile:v:1')).toBe('main');
    expect(valueOf(args, '-b:v:1')).toBe('1400k');
    // profile/level never hit the copied stream
    expect(args).not.toContain('-profile:v:0');
    // low start-up latency: one decoding thread, no separate x264 lookahead thread; no repeated first frame
    expect(args.slice(args.indexOf('-threads'), args.indexOf('-i'))).toEqual(['-threads', '1']);
    expect(valueOf(args, '-x264-params:v:1')).toBe(x264Params);
    expect(x264Params).toMatch(/^sync-lookahead=0:/);
    expect(valueOf(args, '-fps_mode:v:2')).toBe('passthrough');
    expect(args.filter((a) => a.startsWith('-') && a.endsWith(':v:0'))).toEqual(['-c:v:0']);
    expect([valueOf(args, '-c:a:0'), valueOf(args, '-b:a:0')]).toEqual(['aac', '128k']);
    expect(args.filter((a) => a.startsWith('-c:a'))).toHaveLength(1);
    expect(args.filter((a) => a === '0:a:0')).toHaveLength(1);
    expect(valueOf(args, '-var_stream_map')).toBe(
      'v:0,agroup:audio,name:source v:1,agroup:audio,name:480p v:2,agroup:audio,name:360p a:0,agroup:audio,name:audio',
    );
    expect(valueOf(args, '-hls_time')).toBe('2');
    expect(valueOf(args, '-hls_list_size')).toBe('6');
    expect(valueOf(args, '-hls_delete_threshold')).toBe(String(deleteMargin(plan)));
    expect(valueOf(args, '-hls_flags')).toBe(
      'delete_segments+independent_segments+temp_file+omit_endlist+program_date_time',
    );
    expect(valueOf(args, '-hls_segment_filename')).toBe(`${outDir}/%v/seg_%05d.ts`);
    expect(args.at(-1)).toBe(`${outDir}/%v/index.m3u8`);
    expect(args).not.toContain('-master_pl_name');
  });

  it('writes each rendition of an LL-HLS ladder as fragmented MP4 to a pipe of its own, with no HLS muxer', () => {
    const plan = planLadder(settings({ hls: { lowLatency: { enabled: true, partSeconds: 0.5 } } }), h264Aac720p);
    expect(plan.lowLatency).toEqual({ partSeconds: 0.5 });
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: false });
    expect(lowLatencyPipes(plan)).toEqual([
      { rendition: 'source', fd: 3 },
      { rendition: '480p', fd: 4 },
      { rendition: '360p', fd: 5 },
      { rendition: 'audio', fd: 6 },
    ]);
    expect(args).not.toContain('hls');
    expect(args.filter((a) => a === 'mp4')).toHaveLength(4);
    expect(args.filter((a) => a.startsWith('pipe:'))).toEqual(['pipe:3', 'pipe:4', 'pipe:5', 'pipe:6']);
    // Each output has one stream: its options are indexed 0; the encoder settings are the classic ladder's but
    // x264 holds no frame back (no B-frames, no lookahead, slice threads).
    const outputs = args.join(' ').split(/ pipe:\d/);
    expect(args.filter((_, i) => args[i - 1] === '-x264-params:v:0')).toEqual([
      lowLatencyX264Params,
      lowLatencyX264Params,
    ]);
    expect(lowLatencyX264Params).toMatch(/(^|:)bframes=0(:|$)/);
    expect(lowLatencyX264Params).toMatch(/(^|:)rc-lookahead=0(:|$)/);
    expect(lowLatencyX264Params).toMatch(/(^|:)sliced-threads=1(:|$)/);
    expect(args).not.toContain(x264Params);
    expect(outputs[0]).toMatch(/-map 0:v:0 -c:v:0 copy /);
    expect(outputs[1]).toMatch(
      /-map \[v0\] -c:v:0 libx264 .*-b:v:0 1400k .*-force_key_frames:v:0 expr:gte\(t,n_forced\*2\)/,
    );
    expect(outputs[3]).toMatch(/-map 0:a:0 -c:a:0 aac -b:a:0 128k -ar:a:0 48000 /);
    // 30 fps: 15 frames a part (14.5 asked for: ffmpeg cuts once a frame passes it); AAC: 23 frames at 48 kHz.
    expect(args.filter((_, i) => args[i - 1] === '-frag_duration')).toEqual(['483333', '483333', '483333', '480000']);
    expect(valueOf(args, '-movflags')).toMatch(/^empty_moov\+delay_moov\+default_base_moof\+cmaf\+frag_keyframe/);
    // The thumbnail is still the last output.
    expect(args.at(-1)).toBe(`${outDir}/thumbnail.jpg`);
  });

  it('names segments after the session when given a prefix, and refuses a prefix ffmpeg would misread', () => {
    const plan = planLadder(settings(), h264Aac720p);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: false, segmentPrefix: 'mabc-01f' });
    expect(valueOf(args, '-hls_segment_filename')).toBe(`${outDir}/%v/mabc-01f_%05d.ts`);
    expect(segmentFilePattern(undefined)).toBe('seg_%05d.ts');
    for (const bad of ['', 'a%d', 'a/b', 'x'.repeat(65)]) expect(() => segmentFilePattern(bad)).toThrow(/prefix/);
  });

  it('encodes audio once at the highest rung audio bitrate when nothing is copied', () => {
    const plan = planLadder(settings({ ladder: { passthrough: false } }), h264Aac720p);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: false, thumbnail: null });
    expect(valueOf(args, '-c:a:0')).toBe('aac');
    expect(valueOf(args, '-b:a:0')).toBe('128k');
    expect(valueOf(args, '-filter_complex')).toMatch(/^\[0:v:0\]split=3/);
    expect(args).not.toContain('copy');
  });

  it('scales a picture of another shape into its rung and pads it, centred on even offsets, never stretched', () => {
    const plan = planLadder(settings({ ladder: { passthrough: false } }), h264Aac720p);
    const [top, mid, low] = plan.videos;
    const fitted = {
      ...plan,
      videos: [
        { ...top!, picture: { width: 960, height: 720 } }, // 4:3 into 16:9: pillarboxed
        { ...mid!, picture: { width: 270, height: 480 } }, // portrait into 16:9
        { ...low!, picture: { width: 640, height: 360 } }, // fills its frame: scaled only
      ],
    };
    const graph = valueOf(
      buildFfmpegArgs(fitted, { inputUrl: input, outDir, resume: false, thumbnail: null }),
      '-filter_complex',
    );
    expect(graph).toBe(
      '[0:v:0]split=3[s0][s1][s2];' +
        '[s0]scale=960:720,pad=1280:720:160:0:black,setsar=1,fps=30,format=yuv420p[v0];' +
        '[s1]scale=270:480,pad=854:480:292:0:black,setsar=1,fps=30,format=yuv420p[v1];' +
        '[s2]scale=640:360,fps=30,format=yuv420p[v2]',
    );
    for (const [w, h, pw, ph] of [
      [1280, 720, 1278, 720],
      [854, 480, 640, 478],
      [426, 240, 2, 2],
    ]) {
      const pad = scaleFilters({ width: w!, height: h!, picture: { width: pw!, height: ph! } })[1]!;
      const [, x, y] = /^pad=\d+:\d+:(\d+):(\d+):black$/.exec(pad)!.map(Number);
      expect([x! % 2, y! % 2]).toEqual([0, 0]);
      expect(x! + pw! <= w! && y! + ph! <= h!).toBe(true);
      expect(Math.abs(2 * x! + pw! - w!)).toBeLessThanOrEqual(2); // centred
      expect(Math.abs(2 * y! + ph! - h!)).toBeLessThanOrEqual(2);
    }
  });

  it('uses no split for a single encoded rung', () => {
    const plan = planLadder(settings({ ladder: { preset: '360p', passthrough: false } }), h264Aac720p);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: false, thumbnail: null });
    expect(valueOf(args, '-filter_complex')).toBe('[0:v:0]scale=640:360,fps=30,format=yuv420p[v0]');
  });

  it('continues the playlists with a discontinuity on resume', () => {
    const plan = planLadder(settings(), h264Aac720p);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: true });
    expect(valueOf(args, '-hls_flags')).toBe(
      'delete_segments+independent_segments+temp_file+omit_endlist+program_date_time+append_list+discont_start',
    );
  });
});

describe('thumbnail output', () => {
  const outDir = '/var/lib/livestream/hls';
  const input = 'rtmp://127.0.0.1:1935/live/internal';
  const thumb = "fps=1/5,scale=w='2*trunc(min(320\\,iw)/2)':h=-2";

  it('adds a branch of the one decode, written in place atomically as thumbnail.jpg', () => {
    const plan = planLadder(settings(), h264Aac720p);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir, resume: false });
    expect(valueOf(args, '-filter_complex')).toMatch(/^\[0:v:0\]split=3\[s0\]\[s1\]\[s2\];/);
    expect(valueOf(args, '-filter_complex')).toContain(`;[s2]${thumb}[thumb]`);
    expect(args.slice(args.indexOf('[thumb]') - 1)).toEqual([
      '-map', '[thumb]', '-an', '-c:v', 'mjpeg', '-q:v', '5', '-fps_mode', 'passthrough',
      '-f', 'image2', '-update', '1', '-atomic_writing', '1', `${outDir}/thumbnail.jpg`,
    ]); // prettier-ignore
    expect(args.indexOf('[thumb]')).toBeGreaterThan(args.indexOf(`${outDir}/%v/index.m3u8`)); // after the HLS output
  });

  it('decodes only keyframes when every rung is copied, and follows the configured interval and width', () => {
    const full = planLadder(settings(), h264Aac720p);
    const plan = { ...full, videos: full.videos.filter((v) => v.mode === 'copy') };
    const args = buildFfmpegArgs(plan, {
      inputUrl: input,
      outDir,
      resume: false,
      thumbnail: { everySeconds: 10, width: 160 },
    });
    expect(plan.videos.map((v) => v.mode)).toEqual(['copy']);
    expect(valueOf(args, '-skip_frame')).toBe('nokey');
    expect(args.indexOf('-skip_frame')).toBeLessThan(args.indexOf('-i'));
    expect(valueOf(args, '-filter_complex')).toBe("[0:v:0]fps=1/10,scale=w='2*trunc(min(160\\,iw)/2)':h=-2[thumb]");
  });

  it('has none for an audio-only source, or when disabled', () => {
    const audioOnly = planLadder(settings(), { ...h264Aac720p, videoCodec: noVideo });
    expect(audioOnly.videos).toEqual([]);
    const args = buildFfmpegArgs(audioOnly, { inputUrl: input, outDir, resume: false });
    expect(args).not.toContain('[thumb]');
    expect(args).not.toContain('-filter_complex');
    const off = buildFfmpegArgs(planLadder(settings(), h264Aac720p), {
      inputUrl: input,
      outDir,
      resume: false,
      thumbnail: null,
    });
    expect(off.join(' ')).not.toContain('thumb');
  });

  it('scales to at most the width, keeping the aspect on even sides', () => {
    expect(thumbnailFilters({ everySeconds: 5, width: 320 }).join(',')).toBe(thumb);
  });
});

describe('buildMasterPlaylist', () => {
  it('declares BANDWIDTH, RESOLUTION, CODECS for every variant and one audio group', () => {
    const plan = planLadder(settings(), h264Aac720p);
    const text = buildMasterPlaylist(plan);
    HLS.setOptions({ strictMode: true });
    const master = HLS.parse(text) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    expect(master.variants.map((v) => [v.uri, v.bandwidth, v.resolution, v.codecs])).toEqual([
      ['source/index.m3u8', plan.videos[0]?.peakBandwidth, { width: 1280, height: 720 }, 'avc1.64001f,mp4a.40.2'],
      ['480p/index.m3u8', plan.videos[1]?.peakBandwidth, { width: 854, height: 480 }, 'avc1.4d401f,mp4a.40.2'],
      ['360p/index.m3u8', plan.videos[2]?.peakBandwidth, { width: 640, height: 360 }, 'avc1.4d401e,mp4a.40.2'],
    ]);
    expect(master.variants.map((v) => v.averageBandwidth)).toEqual(plan.videos.map((v) => v.averageBandwidth));
    expect(master.variants.map((v) => v.audio.map((a) => [a.groupId, a.uri, a.name]))).toEqual([
      [['audio', 'audio/index.m3u8', 'audio']],
      [['audio', 'audio/index.m3u8', 'audio']],
      [['audio', 'audio/index.m3u8', 'audio']],
    ]);
    expect(text.match(/#EXT-X-MEDIA:/g)).toHaveLength(1); // the one audio rendition declared once
    expect(master.independentSegments).toBe(true);
  });
});

describe('parseAvcDecoderConfig', () => {
  it('reads profile and the RFC 6381 codec string', () => {
    const record = Buffer.from([1, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f]);
    expect(parseAvcDecoderConfig(record)).toMatchObject({ profile: 'high', codecString: 'avc1.64001f' });
    expect(parseAvcDecoderConfig(Buffer.from([1, 66, 0xc0, 30, 0xff, 0xe0, 0]))?.profile).toBe('constrained-baseline');
    expect(parseAvcDecoderConfig(Buffer.from([0, 1]))).toBeNull();
  });
});
