// What the ladder makes of each class of source a real encoder sends: phones (portrait), webcams (sizes between the
// rungs, 4:3), OBS with a long GOP or a non-browser-safe profile, radio (audio only), a silent camera (video only).
import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import { buildFfmpegArgs } from './ffmpeg-args.ts';
import { buildMasterPlaylist } from './master-playlist.ts';
import { peakBandwidth } from './bandwidth.ts';
import { planLadder, type LadderPlan } from './plan-ladder.ts';
import { parsePlaylist } from '../hls/playlists.ts';
import { noVideo, type SourceInfo } from './source-info.ts';

const settings = (ladder: object = {}) => resolveSpec(validateSpec({ ladder }), 'demo', 'ns');
const ladder720 = settings();

// An OBS-like source: H.264 High 4:2:0, AAC, keyframe every 2 s (the default segment), 30 fps.
const obs = (over: Partial<SourceInfo>): SourceInfo => ({
  videoCodec: 'h264',
  audioCodec: 'aac',
  width: 1280,
  height: 720,
  fps: 30,
  profile: 'high',
  codecString: 'avc1.64001f',
  keyframeIntervalSeconds: 2,
  ...over,
});

const rungs = (plan: LadderPlan): string[] =>
  plan.videos.map((v) => `${v.name}:${v.mode}:${v.width}x${v.height}@${v.videoBitrateKbps}`);

describe('planLadder per class of source', () => {
  it.each<[string, Partial<SourceInfo>, object, string[], string | undefined]>([
    [
      '16:9 at the top rung',
      {},
      {},
      ['source:copy:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      undefined,
    ],
    [
      'portrait 720x1280 (a phone)',
      { width: 720, height: 1280 },
      {},
      ['source:copy:720x1280@2800', '480p:encode:480x854@1400', '360p:encode:360x640@800'],
      undefined,
    ],
    [
      'portrait 720x1280, encoded',
      { width: 720, height: 1280 },
      { passthrough: false },
      ['720p:encode:720x1280@2800', '480p:encode:480x854@1400', '360p:encode:360x640@800'],
      undefined,
    ],
    [
      'portrait 1080x1920 (9:16)',
      { width: 1080, height: 1920 },
      {},
      ['720p:encode:720x1280@2800', '480p:encode:480x854@1400', '360p:encode:360x640@800'],
      '1080x1920 exceeds the top rung 720x1280',
    ],
    [
      'portrait 3:4 960x1280',
      { width: 960, height: 1280 },
      {},
      ['720p:encode:720x960@2800', '480p:encode:480x640@1400', '360p:encode:360x480@800'],
      '960x1280 exceeds the top rung 720x1280',
    ],
    [
      'portrait 3:4 480x640, copied',
      { width: 480, height: 640 },
      {},
      ['source:copy:480x640@2800', '360p:encode:360x480@800'],
      undefined,
    ],
    [
      '4:3 640x480 (a webcam), encoded',
      { width: 640, height: 480 },
      { passthrough: false },
      ['480p:encode:640x480@1400', '360p:encode:480x360@800'],
      undefined,
    ],
    [
      '853x481, between rungs',
      { width: 853, height: 481, profile: 'high10' },
      {},
      ['480p:encode:852x480@1400', '360p:encode:638x360@800'],
      'profile High 10',
    ],
    [
      '1000x562, between rungs',
      { width: 1000, height: 562 },
      { passthrough: false },
      ['720p:encode:1000x562@1707', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      undefined,
    ],
    [
      '1279x719, a pixel short',
      { width: 1279, height: 719 },
      { passthrough: false },
      ['720p:encode:1278x718@2788', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      undefined,
    ],
    [
      'smaller than every rung',
      { width: 320, height: 240 },
      { preset: '480p', passthrough: false },
      ['360p:encode:320x240@267'],
      undefined,
    ],
    [
      '1440x1080 4:3 above the top',
      { width: 1440, height: 1080 },
      {},
      ['720p:encode:960x720@2800', '480p:encode:640x480@1400', '360p:encode:480x360@800'],
      '1440x1080 exceeds the top rung 1280x720',
    ],
    [
      'a 10 s GOP',
      { keyframeIntervalSeconds: 10 },
      {},
      ['720p:encode:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      'keyframe interval 10 s exceeds segment 2 s',
    ],
    [
      'a GOP longer than the probe waited',
      { keyframeIntervalSeconds: undefined, keyframeIntervalOverSeconds: 2.2 },
      {},
      ['720p:encode:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      'keyframe interval over 2.2 s exceeds segment 2 s',
    ],
    [
      'a 1.5 s GOP',
      { keyframeIntervalSeconds: 1.5 },
      {},
      ['720p:encode:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      'keyframe interval 1.5 s does not divide segment 2 s',
    ],
    [
      'an unmeasured GOP',
      { keyframeIntervalSeconds: undefined },
      {},
      ['720p:encode:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      'keyframe interval not measured',
    ],
    [
      'yuv444p (High 4:4:4)',
      { profile: 'high444' },
      {},
      ['720p:encode:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      'profile High 4:4:4',
    ],
    [
      'Baseline with FMO allowed',
      { profile: 'baseline', width: 640, height: 360 },
      {},
      ['360p:encode:640x360@800'],
      'profile Baseline',
    ],
    [
      'HEVC',
      { videoCodec: 'hevc', profile: null },
      {},
      ['720p:encode:1280x720@2800', '480p:encode:854x480@1400', '360p:encode:640x360@800'],
      'video codec hevc',
    ],
    ['MP3 audio', { audioCodec: 'mp3', width: 640, height: 360 }, {}, ['360p:encode:640x360@800'], 'audio codec mp3'],
    [
      '60 fps for a 30 fps ladder',
      { fps: 60, width: 640, height: 360 },
      {},
      ['360p:encode:640x360@800'],
      '60 fps exceeds the top rung 30 fps',
    ],
    [
      'a 1 s GOP, Constrained Baseline',
      { keyframeIntervalSeconds: 1, profile: 'constrained-baseline', width: 640, height: 360 },
      {},
      ['source:copy:640x360@2800'],
      undefined,
    ],
  ])('%s', (_, change, ladder, expected, refused) => {
    const source = obs(change);
    const plan = planLadder(settings(ladder), source);
    expect(rungs(plan)).toEqual(expected);
    expect(plan.passthroughRefused).toBe(refused);
    expect(plan.passthrough).toBe(plan.videos[0]?.mode === 'copy');
    for (const v of plan.videos) {
      // the aspect ratio kept within 1 %, never upscaled, even sizes for 4:2:0
      expect(Math.abs(v.width / v.height / (source.width / source.height) - 1)).toBeLessThan(0.01);
      expect(v.width).toBeLessThanOrEqual(source.width);
      expect(v.height).toBeLessThanOrEqual(source.height);
      if (v.mode === 'encode') expect([v.width % 2, v.height % 2]).toEqual([0, 0]);
    }
  });

  it('serves an audio-only source as one audio variant with CODECS mp4a.40.2', () => {
    const plan = planLadder(ladder720, obs({ videoCodec: noVideo, profile: null, width: 0, height: 0, fps: 0 }));
    expect(plan.videos).toEqual([]);
    expect(plan.audioRenditions).toEqual([
      { name: 'audio', mode: 'encode', bitrateKbps: 128, codecString: 'mp4a.40.2' },
    ]);
    expect(plan.passthroughRefused).toBeUndefined();
    const master = parsePlaylist(buildMasterPlaylist(plan));
    if (master?.isMasterPlaylist !== true) throw new Error('not a master playlist');
    expect(master.variants.map((v) => [v.uri, v.codecs, v.audio.length])).toEqual([
      ['audio/index.m3u8', 'mp4a.40.2', 0],
    ]);
    expect(master.variants[0]!.bandwidth).toBeGreaterThanOrEqual(128_000 * 1.05);
    const args = buildFfmpegArgs(plan, { inputUrl: 'rtmp://x/a/b', outDir: '/o', resume: false });
    expect(args).not.toContain('-filter_complex');
    expect(args[args.indexOf('-var_stream_map') + 1]).toBe('a:0,name:audio');
  });

  it('gives a video-only source a ladder without audio groups', () => {
    const plan = planLadder(ladder720, obs({ audioCodec: null }));
    expect(plan.audioRenditions).toEqual([]);
    expect(plan.videos.length).toBe(3);
    const master = parsePlaylist(buildMasterPlaylist(plan));
    if (master?.isMasterPlaylist !== true) throw new Error('not a master playlist');
    expect(master.variants.every((v) => v.audio.length === 0 && !(v.codecs ?? '').includes('mp4a'))).toBe(true);
    const args = buildFfmpegArgs(plan, { inputUrl: 'rtmp://x/a/b', outDir: '/o', resume: false });
    expect(args.join(' ')).not.toMatch(/agroup|0:a:0/);
  });

  it('declares each encoded rung at or above its VBV bound (maxrate + bufsize / segment), audio and container included', () => {
    for (const segmentSeconds of [1, 2, 6]) {
      const s = resolveSpec(validateSpec({ ladder: { passthrough: false }, hls: { segmentSeconds } }), 'd', 'n');
      const plan = planLadder(s, obs({}));
      for (const v of plan.videos) {
        const audioKbps = plan.audioRenditions.find((a) => a.name === v.audio)!.bitrateKbps;
        const bound = (v.maxrateKbps + v.bufsizeKbps / segmentSeconds + audioKbps) * 1000;
        expect(v.peakBandwidth).toBeGreaterThan(bound * 1.05);
        expect(v.averageBandwidth).toBeGreaterThan((v.videoBitrateKbps + audioKbps) * 1000);
        expect(v.averageBandwidth).toBeLessThan(v.peakBandwidth);
      }
    }
  });

  it.each<[string, number[], boolean, Partial<SourceInfo>, string[], string[]]>([
    ['one bitrate, encoded', [128, 128, 128], false, {}, ['audio:encode:128'], ['audio', 'audio', 'audio']],
    [
      'a bitrate per rung, encoded',
      [160, 96, 64],
      false,
      {},
      ['audio:encode:160', 'audio_96k:encode:96', 'audio_64k:encode:64'],
      ['audio', 'audio_96k', 'audio_64k'],
    ],
    [
      'two rungs share a bitrate',
      [128, 64, 64],
      false,
      {},
      ['audio:encode:128', 'audio_64k:encode:64'],
      ['audio', 'audio_64k', 'audio_64k'],
    ],
    [
      "the copied source's video plays with AAC encoded at its rung's bitrate, like the others",
      [128, 96, 64],
      true,
      {},
      ['audio:encode:128', 'audio_96k:encode:96', 'audio_64k:encode:64'],
      ['audio', 'audio_96k', 'audio_64k'],
    ],
    [
      'a rung at the source size takes the audio of the rung above',
      [128, 96, 64],
      false,
      { width: 1000, height: 562 },
      ['audio:encode:128', 'audio_96k:encode:96', 'audio_64k:encode:64'],
      ['audio', 'audio_96k', 'audio_64k'],
    ],
    [
      'rungs dropped for a small source',
      [128, 96, 64],
      false,
      { width: 640, height: 360 },
      ['audio:encode:64'],
      ['audio'],
    ],
    [
      'audio only: one rendition at the highest bitrate',
      [96, 160, 64],
      false,
      { videoCodec: noVideo, profile: null, width: 0, height: 0, fps: 0 },
      ['audio:encode:160'],
      [],
    ],
    ['video only: none', [128, 96, 64], true, { audioCodec: null }, [], [null, null, null].map(String)],
  ])('audio per rung: %s', (_, kbps, passthrough, change, renditions, byVariant) => {
    const renditionsSpec = [
      { name: '720p', width: 1280, height: 720, videoBitrateKbps: 2800, audioBitrateKbps: kbps[0] },
      { name: '480p', width: 854, height: 480, videoBitrateKbps: 1400, audioBitrateKbps: kbps[1] },
      { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, audioBitrateKbps: kbps[2] },
    ];
    const plan = planLadder(settings({ renditions: renditionsSpec, passthrough }), obs(change));
    expect(plan.audioRenditions.map((a) => `${a.name}:${a.mode}:${a.bitrateKbps}`)).toEqual(renditions);
    expect(plan.videos.map((v) => String(v.audio))).toEqual(byVariant);
    const names = plan.audioRenditions.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    // Every encoded variant plays with AAC at its own rung's bitrate, and its BANDWIDTH counts that audio.
    for (const v of plan.videos.filter((x) => x.mode === 'encode')) {
      const rung = renditionsSpec.find((r) => r.name === v.name) ?? renditionsSpec[0]!;
      const audio = plan.audioRenditions.find((a) => a.name === v.audio);
      if (plan.audioRenditions.length > 0) expect(audio?.bitrateKbps).toBe(rung.audioBitrateKbps);
      const video = peakBandwidth({
        audioKbps: 0,
        maxrateKbps: v.maxrateKbps,
        bufsizeKbps: v.bufsizeKbps,
        segmentSeconds: 2,
      });
      const withAudio = peakBandwidth({ audioKbps: audio?.bitrateKbps ?? 0, segmentSeconds: 2 });
      expect(v.peakBandwidth).toBeGreaterThanOrEqual(video + withAudio - 1);
    }
    // ffmpeg encodes each audio rendition once, copies the source's, and maps each variant to its group.
    const args = buildFfmpegArgs(plan, { inputUrl: 'rtmp://x/a/b', outDir: '/o', resume: false });
    expect(args.filter((a) => a === '0:a:0')).toHaveLength(plan.audioRenditions.length);
    plan.audioRenditions.forEach((a, j) => {
      if (a.mode === 'copy') expect(args[args.indexOf(`-c:a:${j}`) + 1]).toBe('copy');
      else expect(args[args.indexOf(`-b:a:${j}`) + 1]).toBe(`${a.bitrateKbps}k`);
    });
    const map = args[args.indexOf('-var_stream_map') + 1]!.split(' ');
    plan.videos.forEach((v, i) => expect(map[i]).toBe(`v:${i},${v.audio ? `agroup:${v.audio},` : ''}name:${v.name}`));
    // The master: each variant in its audio group, each group's rendition declared once, all named alike.
    const master = parsePlaylist(buildMasterPlaylist(plan));
    if (master?.isMasterPlaylist !== true) throw new Error('not a master playlist');
    if (plan.videos.length > 0) {
      expect(master.variants.map((v) => v.audio[0]?.uri ?? null)).toEqual(
        plan.videos.map((v) => (v.audio ? `${v.audio}/index.m3u8` : null)),
      );
      expect(new Set(master.variants.flatMap((v) => v.audio.map((a) => a.name)))).toEqual(
        new Set(plan.audioRenditions.length > 0 ? ['audio'] : []),
      );
    }
  });
});
