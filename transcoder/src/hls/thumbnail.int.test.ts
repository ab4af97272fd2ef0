// GET /thumbnail.jpg on the transcoder as it runs (`node transcoder/src/main.ts --livestream` as a child process, a
// real ffmpeg encoder publishing to it): 404 before anything is live, then a JPEG of the source at most 320 wide
// (aspect kept, even sides) that changes while live (testsrc2 moves), short cache headers with an ETag, 404 again once
// the session has ended; a portrait source gets a portrait picture; an audio-only source none, and its HLS still plays.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { pickFreePort } from '../../../test/support/redis-process.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const repo = path.resolve(import.meta.dirname, '../../..');
const livestream = `apiVersion: streaming.livestream-operator.dev/v1alpha1
kind: LiveStream
metadata: { name: thumbs, namespace: default }
spec:
  ingest: { app: live }
  reconnectWindowSeconds: 1
  hls: { segmentSeconds: 2, playlistLength: 4 }
  ladder:
    passthrough: false
    renditions: [{ name: 180p, width: 320, height: 180, videoBitrateKbps: 200, fps: 15 }]
`;
let dir: string;
let child: ChildProcess;
let output = '';
let exit: Promise<unknown>;
let httpPort: number;
let rtmpPort: number;
let key: string;
let publisher: Publisher | undefined;

const url = (p: string): string => `http://127.0.0.1:${httpPort}${p}`;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function thumbnail(): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url('/thumbnail.jpg'));
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** The first 200 of /thumbnail.jpg whose body differs from `not` (any, without it). */
function nextPicture(what: string, not?: Buffer): Promise<Buffer> {
  return waitFor(
    what,
    async () => {
      const t = await thumbnail();
      return t.status === 200 && (not === undefined || !t.body.equals(not)) ? t.body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

async function probeJpeg(body: Buffer): Promise<{ codec?: string; width?: number; height?: number }> {
  const file = path.join(dir, `probe-${sha(body).slice(0, 8)}.jpg`);
  await writeFile(file, body);
  const s = (await ffprobe(file)).streams[0];
  return { codec: s?.codec_name, width: s?.width, height: s?.height };
}

async function endSession(): Promise<void> {
  await publisher?.stop();
  publisher = undefined;
  // The window is 1 s: the session ends with ENDLIST, and the origin stops serving the live files.
  await waitFor('the session to end', async () => (await fetch(url('/hls/master.m3u8'))).status === 404, {
    timeoutMs: 20_000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'thumbnail-int-'));
  await writeFile(path.join(dir, 'thumbs.yaml'), livestream);
  rtmpPort = await pickFreePort();
  httpPort = await pickFreePort();
  const args = ['--livestream', path.join(dir, 'thumbs.yaml'), '--data-dir', dir];
  args.push('--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--host', '127.0.0.1');
  child = spawn(process.execPath, ['transcoder/src/main.ts', ...args], {
    cwd: repo,
    env: { ...process.env, LOG_LEVEL: 'info', LSO_X264_PRESET: 'ultrafast', LSO_REPORTS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  exit = new Promise((resolve) => child.once('exit', resolve));
  await waitFor('the endpoints banner', () => output.includes('ingest server:'), { timeoutMs: 20_000 });
  key = (await readFile(path.join(dir, 'stream-key'), 'utf8')).trim();
});

afterAll(async () => {
  await publisher?.kill();
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await exit;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /thumbnail.jpg', () => {
  it('is 404 with a reason before anything is live', async () => {
    const t = await thumbnail();
    expect(t.status).toBe(404);
    expect(t.body.toString()).toBe('stream is not live\n');
  });

  it('serves a live JPEG at most 320 wide that changes while live, then 404 once the session ends', async () => {
    publisher = startPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${key}`, size: '640x360', fps: 15 });
    const first = await nextPicture('a first thumbnail');
    expect(await probeJpeg(first)).toEqual({ codec: 'mjpeg', width: 320, height: 180 });
    const t = await thumbnail();
    expect(t.headers.get('content-type')).toBe('image/jpeg');
    expect(t.headers.get('cache-control')).toBe('public, max-age=2');
    const etag = t.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(url('/thumbnail.jpg'), { headers: { 'if-none-match': etag ?? '' } });
    // Revalidation: 304 unless the picture was replaced in between (then a 200 with another ETag).
    expect(again.status === 304 || again.headers.get('etag') !== etag).toBe(true);
    // testsrc2 moves: a refresh (every 5 s) is another picture.
    const second = await nextPicture('a refreshed thumbnail', first);
    expect(sha(second)).not.toBe(sha(first));
    expect(await probeJpeg(second)).toEqual({ codec: 'mjpeg', width: 320, height: 180 });

    await endSession();
    const ended = await thumbnail();
    expect(ended.status).toBe(404);
    expect(ended.body.toString()).toBe('stream is not live\n');
  });

  it('is portrait for a portrait source', async () => {
    publisher = startPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${key}`, size: '180x320', fps: 15 });
    const picture = await nextPicture('a portrait thumbnail');
    expect(await probeJpeg(picture)).toEqual({ codec: 'mjpeg', width: 180, height: 320 });
    await endSession();
  });

  it('is 404 for an audio-only source, whose HLS still plays', async () => {
    publisher = startPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${key}`, video: false });
    const master = await waitFor(
      'the audio-only master',
      async () => {
        const res = await fetch(url('/hls/master.m3u8'));
        return res.status === 200 ? await res.text() : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(master).toContain('audio/index.m3u8');
    await waitFor(
      'an audio segment',
      async () => /\.ts\s*$/m.test(await (await fetch(url('/hls/audio/index.m3u8'))).text()),
      {
        timeoutMs: 20_000,
      },
    );
    const t = await thumbnail();
    expect(t.status).toBe(404);
    expect(t.body.toString()).toContain('no thumbnail yet');
  });
});
