// Real ffmpeg into the fMP4 reader and the segmenter: each rendition of one ffmpeg written as fragmented MP4 to a
// pipe of its own (as the ladder would), with fmp4OutputArgs. Every part at most PART-TARGET, every part but a
// segment's last at least 85 % of it, every segment starting on a keyframe, segments on the 2 s grid, and the
// playlists parsed by hls-parser in strict mode. A 30 fps landscape video with audio, a 25 fps odd-sized portrait
// one (0.5 s is 12.5 frames there), and audio alone (0.5 s is 23.4 AAC frames).
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import HLS from 'hls-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { readFragments, type Fragment, type InitSegment } from './fmp4-fragment-reader.ts';
import { fmp4OutputArgs } from './fmp4-output-args.ts';
import { renderMediaPlaylist } from './media-playlist.ts';
import {
  appendPart,
  closeOpenSegment,
  emptyTimeline,
  partNames,
  type SegmenterOptions,
  type Timeline,
} from './part-segmenter.ts';

const partTarget = 0.5;
const targetDuration = 2;
const seconds = 7;

afterEach(() => HLS.setOptions({ strictMode: false }));

interface Rendition {
  init: InitSegment | undefined;
  fragments: Fragment[];
  arrivals: number[]; // Date.now() at each fragment
}

async function collect(stream: Readable): Promise<Rendition> {
  const out: Rendition = { init: undefined, fragments: [], arrivals: [] };
  for await (const item of readFragments(stream)) {
    if (item.kind === 'init') out.init = item;
    else {
      out.fragments.push(item);
      out.arrivals.push(Date.now());
    }
  }
  return out;
}

interface Source {
  video?: { size: string; fps: number };
  audio: boolean;
}

// One ffmpeg, video to pipe:1 and audio to pipe:3 (each its own fMP4), a fixed length of test pattern and tone.
async function encode(source: Source): Promise<{ video?: Rendition; audio?: Rendition }> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if (source.video) {
    args.push(
      '-f',
      'lavfi',
      '-t',
      String(seconds),
      '-i',
      `testsrc2=size=${source.video.size}:rate=${source.video.fps}`,
    );
  }
  if (source.audio) args.push('-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=440:sample_rate=48000');
  if (source.video) {
    const gop = targetDuration * source.video.fps;
    args.push(
      '-map', '0:v', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
      '-force_key_frames', `expr:gte(t,n_forced*${targetDuration})`,
      ...fmp4OutputArgs({ partTarget, sampleSeconds: 1 / source.video.fps, output: 'pipe:1' }),
    ); // prettier-ignore
  }
  if (source.audio) {
    args.push(
      '-map', `${source.video ? 1 : 0}:a`, '-c:a', 'aac', '-b:a', '96k',
      ...fmp4OutputArgs({ partTarget, sampleSeconds: 1024 / 48_000, output: 'pipe:3' }),
    ); // prettier-ignore
  }
  // A test-only spawn: FfmpegProcess has no mode for media on extra pipes yet (see docs/adr/0017).
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const [video, audio] = await Promise.all([
    source.video ? collect(child.stdout!) : undefined,
    source.audio ? collect(child.stdio[3] as Readable) : undefined,
  ]);
  expect(await exited, stderr).toBe(0);
  return { ...(video && { video }), ...(audio && { audio }) };
}

// The rungs are encoded with keyframes forced on the grid, as the ladder does.
const options: SegmenterOptions = {
  targetDuration,
  partTarget,
  windowSegments: 10,
  names: partNames('t'),
  keyframesOnGrid: true,
};

const strictly = (text: string): HLS.types.MediaPlaylist => {
  HLS.setOptions({ strictMode: true });
  try {
    const playlist = HLS.parse(text);
    if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
    return playlist;
  } finally {
    HLS.setOptions({ strictMode: false });
  }
};

// The rendition through the segmenter, its live playlist parsed strictly after every part, and at the end (the
// open segment closed, ENDLIST) once more.
function segment(r: Rendition): Timeline {
  let tl = emptyTimeline('init.mp4');
  r.fragments.forEach((f, i) => {
    tl = appendPart(
      tl,
      options,
      { startTime: f.startTime, duration: f.duration, independent: f.keyframe, byteLength: f.bytes.length },
      r.arrivals[i]!,
    ).timeline;
    if (i < r.fragments.length - 1) strictly(renderMediaPlaylist(tl, options));
  });
  tl = closeOpenSegment(tl, options.windowSegments).timeline;
  expect(strictly(renderMediaPlaylist(tl, { ...options, endlist: true })).endlist).toBe(true);
  return tl;
}

function checkRendition(r: Rendition | undefined, handler: string): Timeline {
  expect(r?.init?.tracks.map((t) => t.handler)).toEqual([handler]);
  const tl = segment(r!);
  const all = tl.segments;
  const total = all.reduce((sum, s) => sum + s.duration, 0);
  expect(total).toBeGreaterThan(seconds - 0.1);
  for (const s of all) {
    expect(s.parts[0]?.independent, `segment ${s.msn} starts on a keyframe`).toBe(true);
    s.parts.forEach((p, i) => {
      expect(p.duration).toBeLessThanOrEqual(partTarget);
      if (i < s.parts.length - 1) expect(p.duration).toBeGreaterThanOrEqual(0.85 * partTarget);
    });
  }
  // Segments on the 2 s grid, within half a part.
  for (const s of all.slice(1)) {
    expect(Math.abs(s.startTime - Math.round(s.startTime / targetDuration) * targetDuration)).toBeLessThanOrEqual(0.25);
  }
  // Fragments are contiguous: each starts where the previous ended.
  r!.fragments.slice(1).forEach((f, i) => {
    const prev = r!.fragments[i]!;
    expect(f.startTime).toBeCloseTo(prev.startTime + prev.duration, 6);
  });
  return tl;
}

describe('ffmpeg fMP4 into LL-HLS parts and segments', () => {
  it('30 fps 320x180 with AAC audio: 0.5 s parts, keyframe-aligned 2 s segments in both renditions', async () => {
    const { video, audio } = await encode({ video: { size: '320x180', fps: 30 }, audio: true });
    const v = checkRendition(video, 'vide');
    const a = checkRendition(audio, 'soun');
    expect(video!.fragments.filter((f) => f.keyframe).length).toBe(Math.ceil(seconds / targetDuration));
    // Video parts are exactly 15 frames; the renditions cut segments at the same grid lines.
    expect(v.segments[0]!.parts.map((p) => p.duration)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(a.segments.map((s) => s.msn)).toEqual(v.segments.map((s) => s.msn));
  });

  it('25 fps portrait 182x322 (no multiple of 16): 12 frames a part, never above PART-TARGET', async () => {
    const { video } = await encode({ video: { size: '182x322', fps: 25 }, audio: false });
    const tl = checkRendition(video, 'vide');
    expect(tl.segments[0]!.parts.map((p) => p.duration)).toEqual([0.48, 0.48, 0.48, 0.48, 0.08]);
  });

  it('audio only: every part independent, 23 AAC frames a part', async () => {
    const { audio } = await encode({ audio: true });
    const tl = checkRendition(audio, 'soun');
    expect(tl.segments.flatMap((s) => s.parts).every((p) => p.independent)).toBe(true);
    expect(tl.segments[1]!.parts[0]!.duration).toBeCloseTo((23 * 1024) / 48_000, 6);
  });
});
