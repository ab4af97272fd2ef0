// bench-thumbnail: what the thumbnail costs the ladder's ffmpeg; prints ONE JSON line.
//
// One 720p30 H.264/AAC source file (test/support/rtmp-publisher.ts's encoder settings: testsrc2 + a tone), and the
// default ladder's ffmpeg command (buildFfmpegArgs on the default LiveStream spec: the source copied, 480p and 360p
// encoded) run twice side by side on it, with and without the thumbnail output: the same source, the same seconds,
// the same machine load. Each one's CPU (user + system, ffmpeg -benchmark) per second of source, i.e. the percent of
// one core it takes live, both figures, their difference and ratio.
// usage: node bench/thumbnail.ts   env: BENCH_SECONDS=40 (of source) BENCH_PRESET=veryfast
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSpec } from '../contract/src/api/validate.ts';
import { resolveSpec } from '../transcoder/src/config/livestream-spec.ts';
import { buildFfmpegArgs, defaultThumbnail } from '../transcoder/src/ladder/ffmpeg-args.ts';
import { planLadder } from '../transcoder/src/ladder/plan-ladder.ts';
import { publisherArgs } from '../test/support/rtmp-publisher.ts';

const env = (name: string, fallback: number): number => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${process.env[name]})`);
  return n;
};
const seconds = env('BENCH_SECONDS', 40);
const preset = process.env.BENCH_PRESET ?? 'veryfast';
const log = (message: string): void => void process.stderr.write(`[bench-thumbnail] ${message}\n`);
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

function run(args: string[]): ChildProcess {
  return spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

const exited = (p: ChildProcess): Promise<number | null> =>
  p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((resolve) => p.once('exit', resolve));

/** The publisher's encoder, into a file instead of RTMP (encoded faster than real time). */
async function encodeSource(file: string, durationSeconds: number): Promise<void> {
  const args = publisherArgs({ url: file, size: '1280x720', fps: 30, videoKbps: 3000, durationSeconds });
  const code = await exited(run(args.filter((a) => a !== '-re')));
  if (code !== 0) throw new Error(`encoding the source failed (${code})`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-thumbnail-'));
  const children: ChildProcess[] = [];
  try {
    const source = join(dir, 'source.flv');
    const sourceSeconds = seconds;
    log(`encoding a ${sourceSeconds} s 720p30 source`);
    await encodeSource(source, sourceSeconds);
    const plan = planLadder(resolveSpec(validateSpec({}), 'bench', 'bench'), {
      videoCodec: 'h264',
      audioCodec: 'aac',
      width: 1280,
      height: 720,
      fps: 30,
      profile: 'high',
      videoBitrateKbps: 3000,
      keyframeIntervalSeconds: 2,
    });
    // Each ladder decodes the whole file as fast as it can; -benchmark prints its own user and system CPU at exit,
    // so a loaded machine slows the run down but does not change the figure (CPU seconds per second of source).
    const ladder = async (name: string, thumbnail: boolean): Promise<number> => {
      const args = buildFfmpegArgs(plan, {
        inputUrl: source,
        outDir: join(dir, name),
        resume: false,
        x264Preset: preset,
        thumbnail: thumbnail ? defaultThumbnail : null,
        logLevel: 'info',
      });
      const p = spawn('ffmpeg', ['-benchmark', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(p);
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4_000)));
      const code = await exited(p);
      const bench = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(err);
      if (code !== 0 || !bench) throw new Error(`the ${name} ladder failed (${code}): ${err}`);
      return ((Number(bench[1]) + Number(bench[2])) / sourceSeconds) * 100;
    };
    log(
      `ladder ${plan.videos.map((v) => `${v.name}:${v.mode}`).join(' ')}, ${sourceSeconds} s of source, side by side`,
    );
    const t0 = performance.now();
    const [withPct, withoutPct] = await Promise.all([ladder('with', true), ladder('without', false)]);
    const wall = (performance.now() - t0) / 1000;
    console.log(
      JSON.stringify({
        bench: 'thumbnail',
        source: '1280x720@30 h264 3000k',
        ladder: plan.videos.map((v) => `${v.name}:${v.mode}`),
        thumbnail: { ...defaultThumbnail },
        preset,
        sourceSeconds,
        wallSeconds: round(wall, 1),
        cpuPercentOfCore: { withThumbnail: round(withPct, 1), withoutThumbnail: round(withoutPct, 1) },
        differencePercentOfCore: round(withPct - withoutPct, 2),
        ratio: round(withPct / withoutPct, 3),
        loadavg1: round(loadavg()[0] ?? 0),
      }),
    );
  } finally {
    for (const p of children) if (p.exitCode === null) p.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
