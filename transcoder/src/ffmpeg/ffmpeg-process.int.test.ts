// The one ffmpeg process wrapper against real ffmpeg and ffprobe (and a Node stand-in for an ffmpeg that ignores
// SIGINT): progress, the redacted and bounded stderr tail, SIGINT then SIGKILL, inherited descriptors, one-shot runs.
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.ts';
import { FfmpegError, FfmpegProcess, runFfmpeg } from './ffmpeg-process.ts';
import type { ProgressReport } from './ffmpeg-progress.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ffmpeg-process-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const testPattern = ['-hide_banner', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10'];
const node = (script: string) => ({ command: process.execPath, args: ['-e', script] });

describe('FfmpegProcess', () => {
  it('parses progress while ffmpeg runs, and stops it with SIGINT', async () => {
    const reports: ProgressReport[] = [];
    const proc = new FfmpegProcess({
      args: [...testPattern, '-progress', 'pipe:1', '-stats_period', '0.2', '-f', 'null', '-'],
      stdout: 'progress',
      onProgress: (r) => reports.push(r),
    });
    expect(proc.pid).toBeGreaterThan(0);
    await waitFor('media time advancing', () => reports.filter((r) => r.outTimeUs > 0).length >= 3, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const times = reports.map((r) => r.outTimeUs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const stoppedAt = Date.now();
    const exit = await proc.stop(5_000);
    expect(Date.now() - stoppedAt).toBeLessThan(3_000); // SIGINT was enough: no SIGKILL after the grace
    expect(exit).toMatchObject({ signal: null, stopped: true });
    expect(exit.ranMs).toBeGreaterThan(0);
    expect(proc.running).toBe(false);
    expect(await proc.stop()).toBe(exit); // idempotent
  });

  it('keeps a bounded tail of stderr with URLs cut and known secrets removed', async () => {
    const lines: string[] = [];
    const proc = new FfmpegProcess({
      args: ['-hide_banner', '-loglevel', 'debug', '-i', path.join(dir, 'no-such-k3y-value.ts')],
      tailLines: 3,
      secrets: ['k3y-value'],
      onStderrLine: (l) => lines.push(l),
    });
    const exit = await proc.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.stopped).toBe(false);
    expect(lines.length).toBeGreaterThan(3);
    expect(proc.stderrTail()).toEqual(lines.slice(-3));
    expect(proc.stderrTail(1)[0]).toMatch(/No such file or directory/);
    expect(lines.join('\n')).not.toContain('k3y-value');

    const rtmp = new FfmpegProcess({ args: ['-hide_banner', '-i', 'rtmp://127.0.0.1:1/live/the-stream-key'] });
    await rtmp.exited;
    expect(rtmp.stderrTail().join('\n')).toContain('rtmp://127.0.0.1:1');
    expect(rtmp.stderrTail().join('\n')).not.toContain('the-stream-key');
  });

  it('kills an ffmpeg that ignores SIGINT once the grace is over', async () => {
    const proc = new FfmpegProcess(
      node("process.on('SIGINT', () => console.error('ignored')); setInterval(() => {}, 1000)"),
    );
    await new Promise((r) => setTimeout(r, 300)); // let it install the handler
    const stoppedAt = Date.now();
    const exit = await proc.stop(400);
    const took = Date.now() - stoppedAt;
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL', stopped: true });
    expect(took).toBeGreaterThanOrEqual(400);
    expect(took).toBeLessThan(2_000);
    expect(proc.stderrTail()).toEqual(['ignored']);
  });

  it('lets an ffmpeg whose input ended finish on its own, and stops one that does not within the drain', async () => {
    // Exits 200 ms after its input ended, unless a SIGINT comes first (which would cut what it still had to write).
    const finishing = new FfmpegProcess(
      node("process.on('SIGINT', () => process.exit(2)); setTimeout(() => process.exit(0), 200)"),
    );
    const exit = await finishing.finish(1_000);
    expect(exit).toMatchObject({ code: 0, signal: null, stopped: true });
    const stuck = new FfmpegProcess(node("process.on('SIGINT', () => process.exit(2)); setInterval(() => {}, 1000)"));
    await new Promise((r) => setTimeout(r, 300)); // let it install the handler
    const askedAt = Date.now();
    expect(await stuck.finish(300)).toMatchObject({ code: 2, stopped: true }); // SIGINT after the drain
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(300);
    expect(Date.now() - askedAt).toBeLessThan(2_000);
  });

  it('hands inherited descriptors to the child (how the relay passes a key without argv)', async () => {
    const file = path.join(dir, 'preset');
    const handle = await open(file, 'w+', 0o600);
    await handle.writeFile('rtmp_playpath=secret\n');
    try {
      const proc = new FfmpegProcess({
        ...node("process.stdout.write(require('fs').readFileSync('/dev/fd/3', 'utf8'))"),
        inheritFds: { 3: handle.fd },
        stdout: 'collect',
      });
      const exit = await proc.exited;
      expect(exit.code).toBe(0);
      expect(proc.stdout()).toBe('rtmp_playpath=secret\n');
    } finally {
      await handle.close();
    }
  });

  it('hands out output pipes: one ffmpeg writes two outputs to pipe:3 and pipe:4 (the LL-HLS ladder)', async () => {
    const proc = new FfmpegProcess({
      args: [
        '-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=1',
        '-map', '0:v', '-c:v', 'rawvideo', '-f', 'nut', 'pipe:3',
        '-map', '0:v', '-c:v', 'mjpeg', '-f', 'mjpeg', 'pipe:4',
      ], // prettier-ignore
      outputPipes: [3, 4],
    });
    const drain = async (fd: number): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      for await (const chunk of proc.outputPipe(fd)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    const [nut, jpeg] = await Promise.all([drain(3), drain(4)]);
    expect((await proc.exited).code).toBe(0);
    expect(nut.subarray(0, 8).toString('latin1')).toBe('nut/mult'); // the NUT file id string
    expect(nut.length).toBeGreaterThan(10 * 64 * 64); // ten raw frames at least
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8])); // a JPEG's start of image
    expect(() => proc.outputPipe(5)).toThrow(/not an output pipe/);
    expect(() => new FfmpegProcess({ args: [], outputPipes: [2] })).toThrow(/descriptors 0-2/);
  });

  it('reports a binary that cannot be started', async () => {
    const proc = new FfmpegProcess({ command: path.join(dir, 'no-ffmpeg'), args: [] });
    const exit = await proc.exited;
    expect(exit.spawnError).toMatch(/ENOENT/);
    expect(proc.stderrTail()[0]).toMatch(/^cannot start .*no-ffmpeg: /);
  });
});

describe('runFfmpeg', () => {
  it("returns ffprobe's output, and rejects with the last stderr line or a timeout", async () => {
    const clip = path.join(dir, 'clip.ts');
    await runFfmpeg({ args: [...testPattern.filter((a) => a !== '-re'), '-t', '1', '-y', clip], timeoutMs: 30_000 });
    const out = await runFfmpeg({
      command: 'ffprobe',
      args: ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', clip],
      timeoutMs: 30_000,
    });
    expect(Number(out.trim())).toBeCloseTo(1, 0);
    await expect(
      runFfmpeg({ command: 'ffprobe', args: [path.join(dir, 'none.ts')], timeoutMs: 30_000 }),
    ).rejects.toThrow(/^ffprobe exited with code 1: .*No such file or directory/);
    const slow = runFfmpeg({ args: [...testPattern, '-f', 'null', '-'], timeoutMs: 300 });
    await expect(slow).rejects.toBeInstanceOf(FfmpegError);
    await expect(slow).rejects.toThrow(/timed out after 300 ms/);
  });
});
