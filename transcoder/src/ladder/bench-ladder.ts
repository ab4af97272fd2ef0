// Benchmark: CPU seconds per second of content, for the seed's ladder and ours, on the same input, in one run.
//   node transcoder/src/ladder/bench-ladder.ts [seconds=20] [size=1280x720]
// Prints one line per ladder and the ratios. The input is encoded once beforehand (H.264 High/AAC, keyframe every
// 2 s, like an OBS publisher), then each ladder runs as fast as it can from the file, so the figure is pure CPU.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveSpec } from '../config/livestream-spec.ts';
import { buildFfmpegArgs } from './ffmpeg-args.ts';
import { planLadder } from './plan-ladder.ts';
import type { SourceInfo } from './source-info.ts';

const run = promisify(execFile);
const seconds = Number(process.argv[2] ?? 20);
const size = process.argv[3] ?? '1280x720';
const [width, height] = size.split('x').map(Number) as [number, number];
// The seed's command (shared/reference/seed-ladder.sh), overridable for checkouts that keep it elsewhere.
const seedLadder = process.env.SEED_LADDER ?? '/work/shared/reference/seed-ladder.sh';

// CPU (user + system) of a command and its children, from GNU time.
async function cpuSeconds(cmd: string, args: string[]): Promise<number> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'CPU %U %S', cmd, ...args], { maxBuffer: 64 << 20 });
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (!m) throw new Error(`no timing in: ${stderr.slice(-500)}`);
  return Number(m[1]) + Number(m[2]);
}

const dir = await mkdtemp(path.join(tmpdir(), 'bench-ladder-'));
try {
  const input = path.join(dir, 'input.flv');
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-b:v', '2500k',
    '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', input,
  ]); // prettier-ignore
  const source: SourceInfo = {
    videoCodec: 'h264',
    audioCodec: 'aac',
    width,
    height,
    fps: 30,
    profile: 'high',
    codecString: 'avc1.64001f',
    videoBitrateKbps: 2500,
  };
  const results: Array<[string, number]> = [];
  results.push([
    'seed ladder (3 x libx264 + 3 x aac, 6 s GOP 48)',
    await cpuSeconds('bash', [seedLadder, input, path.join(dir, 'seed')]),
  ]);
  for (const passthrough of [false, true]) {
    const plan = planLadder(resolveSpec({ ladder: { preset: '720p', passthrough } }, 'bench', 'bench'), source);
    const out = path.join(dir, `ours-${passthrough}`);
    const args = buildFfmpegArgs(plan, { inputUrl: input, outDir: out, resume: false, logLevel: 'error' });
    const rungs = plan.videos.map((v) => `${v.name}:${v.mode}`).join(' ');
    await run('mkdir', ['-p', out]);
    results.push([`ours, passthrough ${passthrough ? 'on ' : 'off'} (${rungs})`, await cpuSeconds('ffmpeg', args)]);
  }
  const seed = results[0]![1];
  console.log(`input: ${seconds} s of ${size}p30 H.264/AAC; CPU seconds per second of content (lower is better)`);
  for (const [name, cpu] of results) {
    console.log(`${(cpu / seconds).toFixed(3).padStart(7)}  x${(cpu / seed).toFixed(2)} of seed  ${name}`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
