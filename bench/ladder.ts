// Benchmark of the ladder, everything measured in one run on the same input. `make bench-ladder` prints one JSON line:
//   cpuRatioVsSeed            CPU seconds of our default 720p ladder (top rung passed through) / the seed's ladder
//   cpuRatioVsSeedAllEncoded  same with every rung encoded; `ssim` gives the SSIM per rung of that ladder and the seed's
//                             (ffmpeg `ssim` filter against the source scaled to the rung's size, frame for frame;
//                             `detail.repeatedFirstFrames`: leading frames a rendition repeats, skipped for the pairing)
//   realtimeLadders           how many of our default ladders run side by side in real time (`-re` inputs, 1, 2, 3, 4,
//                             stopping at the first N where a ladder falls below speed 0.98 or misses segments)
//   publishToPlayableSeconds  from the start of the publisher (before its first byte) until the master playlist and
//                             a segment of every rung are served over HTTP by the real transcoder (2 s segments)
// The input (20 s of 1280x720p30 H.264 High/AAC, keyframe every 2 s like OBS) is encoded once; publishers send it
// with `-c copy`, so they cost almost no CPU. Environment: SEED_LADDER (path of seed-ladder.sh), BENCH_SECONDS.
//   node bench/ladder.ts
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { validateSpec } from '../contract/src/api/validate.ts';
import { resolveSpec } from '../transcoder/src/config/livestream-spec.ts';
import { appendEndlist } from '../transcoder/src/session/hls-files.ts';
import { prepareDataDir, repo, startTranscoderProcess } from '../test/support/recording-harness.ts';
import { buildFfmpegArgs } from '../transcoder/src/ladder/ffmpeg-args.ts';
import { planLadder, type LadderPlan } from '../transcoder/src/ladder/plan-ladder.ts';
import type { SourceInfo } from '../transcoder/src/ladder/source-info.ts';

const run = promisify(execFile);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const [width, height] = [1280, 720];
const seedLadder = process.env.SEED_LADDER ?? path.resolve(repo, '../shared/reference/seed-ladder.sh');
const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
const log = (msg: string): void => void process.stderr.write(`bench-ladder: ${msg}\n`);

// CPU (user + system) of a command and its children, from GNU time.
async function cpuSeconds(cmd: string, args: string[]): Promise<number> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'CPU %U %S', cmd, ...args], { maxBuffer: 64 << 20 });
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (!m) throw new Error(`no timing in: ${stderr.slice(-500)}`);
  return Number(m[1]) + Number(m[2]);
}

// SSIM (All) of a rendition against the source scaled to the rendition's size, each rendition frame paired with
// the source frame it encodes. Frames are paired by index: pairing by timestamp would compare 2 frames in 3 with
// their neighbour, because the FLV source carries millisecond timestamps (33, 67, 100 ms...) and the HLS rendition
// exact 1/30 s ones. An ffmpeg output in CFR mode may repeat the first frame once (a frame whose timestamp does not
// start at 0, as with B-frames), which would shift every later pair by one: the rendition's start is the offset
// (0, 1 or 2 frames skipped) whose first second matches the source best.
async function ssim(rendition: string, source: string): Promise<{ ssim: number; skipped: number }> {
  // Our live playlists have no ENDLIST: without one ffmpeg's HLS reader would wait for more segments forever.
  await appendEndlist(rendition);
  const probes = await Promise.all([0, 1, 2].map((skip) => ssimFrom(rendition, source, skip, 30)));
  const skipped = probes.indexOf(Math.max(...probes));
  return { ssim: round(await ssimFrom(rendition, source, skipped), 5), skipped };
}

async function ssimFrom(rendition: string, source: string, skip: number, frames?: number): Promise<number> {
  const end = frames === undefined ? '' : `,trim=end_frame=${frames}`;
  const { stderr } = await run(
    'ffmpeg',
    [
      '-hide_banner', '-nostdin', '-i', rendition, '-i', source, '-lavfi',
      `[0:v]trim=start_frame=${skip},settb=1/30,setpts=N${end}[d];[1:v]settb=1/30,setpts=N${end}[r0];` +
        '[r0][d]scale2ref=flags=bicubic[r][d2];[d2][r]ssim=shortest=1',
      '-f', 'null', '-',
    ], // prettier-ignore
    { maxBuffer: 64 << 20 },
  );
  const m = /SSIM .*All:([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no SSIM in: ${stderr.slice(-500)}`);
  return Number(m[1]);
}

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
// The whole input stays listed so the SSIM pass sees every segment.
const plan = (passthrough: boolean): LadderPlan =>
  planLadder(
    resolveSpec(
      validateSpec({ ladder: { preset: '720p', passthrough }, hls: { segmentSeconds: 2, playlistLength: 60 } }),
      'b',
      'b',
    ),
    source,
  );

// N ladders at once, each reading the input in real time; each must keep ffmpeg's speed >= 0.98 and cut the
// expected number of segments per rung.
async function realtime(n: number, input: string, dir: string): Promise<{ ok: boolean; speeds: number[] }> {
  const p = plan(true);
  const results = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const out = path.join(dir, `rt-${n}-${i}`);
      await mkdir(out, { recursive: true });
      const args = buildFfmpegArgs(p, { inputUrl: input, outDir: out, resume: false, logLevel: 'error' });
      const at = args.indexOf('-i');
      args.splice(at, 0, '-re');
      args.splice(args.indexOf('-f'), 0, '-progress', path.join(out, 'progress.txt'));
      await run('ffmpeg', args, { maxBuffer: 64 << 20 });
      const progress = await readFile(path.join(out, 'progress.txt'), 'utf8');
      const speeds = [...progress.matchAll(/^speed=\s*([\d.]+)x/gm)].map((m) => Number(m[1]));
      const speed = speeds.at(-1) ?? 0;
      const counts = await Promise.all(
        p.videos.map(async (v) => (await readdir(path.join(out, v.name))).filter((f) => f.endsWith('.ts')).length),
      );
      const minSegments = Math.floor(seconds / p.segmentSeconds) - 1;
      return { speed, segmentsOk: counts.every((c) => c >= minSegments) };
    }),
  );
  const speeds = results.map((r) => r.speed);
  return { ok: results.every((r) => r.speed >= 0.98 && r.segmentsOk), speeds };
}

// The real transcoder (child process, default 720p ladder with passthrough, 2 s segments) and a copy publisher.
async function publishToPlayable(input: string, dir: string): Promise<number> {
  const dataDir = path.join(dir, 'p2p');
  const { configFile, key } = await prepareDataDir(dataDir, {
    apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
    kind: 'LiveStream',
    metadata: { name: 'bench', namespace: 'default' },
    spec: { ingest: { app: 'live' }, hls: { segmentSeconds: 2 } },
  });
  const transcoder = await startTranscoderProcess(dataDir, configFile, { LSO_X264_PRESET: 'veryfast' });
  const base = `http://127.0.0.1:${transcoder.httpPort}/hls/`;
  const publisher = spawn(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', input, '-c', 'copy',
      '-f', 'flv', transcoder.rtmpUrl(key)], // prettier-ignore
    { stdio: 'ignore' },
  );
  const started = performance.now();
  try {
    const get = async (url: string): Promise<string | undefined> => {
      const res = await fetch(url);
      return res.ok ? res.text() : (await res.arrayBuffer(), undefined);
    };
    const playable = async (): Promise<boolean> => {
      const master = await get(`${base}master.m3u8`);
      if (master === undefined) return false;
      const variants = [...master.matchAll(/^(?!#)(\S+\.m3u8)$/gm), ...master.matchAll(/URI="([^"]+)"/g)].map(
        (m) => m[1]!,
      );
      for (const variant of variants) {
        const text = await get(base + variant);
        const segment = text?.split('\n').find((l) => l.endsWith('.ts'));
        if (segment === undefined) return false;
        if ((await get(base + path.posix.join(path.posix.dirname(variant), segment))) === undefined) return false;
      }
      return variants.length > 0;
    };
    const deadline = started + 30_000;
    while (!(await playable())) {
      if (performance.now() > deadline) throw new Error(`not playable after 30 s: ${transcoder.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const took = (performance.now() - started) / 1000;
    // Where the time went: the transcoder's own milestones, in ms after the publisher started.
    const t0 = Date.now() - took * 1000;
    for (const line of transcoder.output().split('\n')) {
      const m =
        /"time":(\d+).*"msg":"(publish accepted|source ready|session started|ffmpeg started|master playlist written)"/.exec(
          line,
        );
      if (m) log(`  +${Number(m[1]) - Math.round(t0)} ms ${m[2]}`);
    }
    return took;
  } finally {
    publisher.kill('SIGKILL');
    await transcoder.stop();
  }
}

const dir = await mkdtemp(path.join(tmpdir(), 'bench-ladder-'));
try {
  const input = path.join(dir, 'input.flv');
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-b:v', '2500k',
    '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', input,
  ]); // prettier-ignore

  // BENCH_ONLY=publish: only the publish-to-playable figure (to iterate on start-up latency).
  const only = process.env.BENCH_ONLY;
  if (only === 'publish') {
    console.log(JSON.stringify({ publishToPlayableSeconds: round(await publishToPlayable(input, dir), 2) }));
    await rm(dir, { recursive: true, force: true });
    process.exit(0);
  }
  log('CPU: seed ladder');
  const seedOut = path.join(dir, 'seed');
  const seedCpu = await cpuSeconds('bash', [seedLadder, input, seedOut]);
  const ours: Record<string, { cpu: number; out: string; plan: LadderPlan }> = {};
  for (const passthrough of [true, false]) {
    const name = passthrough ? 'passthrough' : 'allEncoded';
    log(`CPU: our ladder, ${name}`);
    const p = plan(passthrough);
    const out = path.join(dir, `ours-${name}`);
    await mkdir(out, { recursive: true });
    const args = buildFfmpegArgs(p, { inputUrl: input, outDir: out, resume: false, logLevel: 'error' });
    ours[name] = { cpu: await cpuSeconds('ffmpeg', args), out, plan: p };
  }

  log('SSIM per rung');
  const allEncoded = ours.allEncoded!;
  const rungs = ['720p', '480p', '360p'];
  const ssimOurs: Record<string, number> = {};
  const ssimSeed: Record<string, number> = {};
  const repeatedFirstFrames: Record<string, Record<string, number>> = { ours: {}, seed: {} };
  for (const rung of rungs) {
    const [a, b] = await Promise.all([
      ssim(path.join(allEncoded.out, rung, 'index.m3u8'), input),
      ssim(path.join(seedOut, rung, 'index.m3u8'), input),
    ]);
    ssimOurs[rung] = a.ssim;
    ssimSeed[rung] = b.ssim;
    repeatedFirstFrames.ours![rung] = a.skipped;
    repeatedFirstFrames.seed![rung] = b.skipped;
  }

  let realtimeLadders = 0;
  const speeds: Record<number, number[]> = {};
  for (let n = 1; n <= 4; n++) {
    log(`real time: ${n} ladder(s)`);
    const r = await realtime(n, input, dir);
    speeds[n] = r.speeds;
    if (!r.ok) break;
    realtimeLadders = n;
  }

  log('publish to playable');
  const publishToPlayableSeconds = round(await publishToPlayable(input, dir), 2);

  console.log(
    JSON.stringify({
      cpuRatioVsSeed: round(ours.passthrough!.cpu / seedCpu),
      cpuRatioVsSeedAllEncoded: round(allEncoded.cpu / seedCpu),
      ssim: { ours: ssimOurs, seed: ssimSeed },
      realtimeLadders,
      publishToPlayableSeconds,
      detail: {
        input: `${seconds} s 1280x720p30 H.264 High 2500k + AAC, GOP 2 s`,
        cpuSecondsPerContentSecond: {
          seed: round(seedCpu / seconds),
          oursPassthrough: round(ours.passthrough!.cpu / seconds),
          oursAllEncoded: round(allEncoded.cpu / seconds),
        },
        realtimeSpeeds: speeds,
        repeatedFirstFrames,
      },
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
