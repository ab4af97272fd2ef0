// The transcoder as it runs: `node transcoder/src/main.ts --livestream examples/custom-ladder.yaml` as a child
// process, a real encoder publishing to it, a real redis-server receiving its reports, HTTP clients playing.
// Also checks that the stream key shows up nowhere it must not: logs, process arguments, served files, metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent, type TranscoderEvent } from '../../contract/src/reports.ts';
import { channelEntries } from '../../test/support/report-writer.ts';
import { startPublisher, type Publisher } from '../../test/support/rtmp-publisher.ts';
import { pickFreePort, startRedisProcess, type RedisProcess } from '../../test/support/redis-process.ts';
import { waitFor } from '../../test/support/wait-for.ts';

const repo = path.resolve(import.meta.dirname, '../..');
let dir: string;
let child: ChildProcess;
let output = '';
let exit: Promise<number | null>;
let rtmpPort: number;
let httpPort: number;
let key: string;
let redis: RedisProcess;
let publisher: Publisher | undefined;

const http = (p: string): string => `http://127.0.0.1:${httpPort}${p}`;

async function events(): Promise<TranscoderEvent[]> {
  const client = new Redis(redis.url, { lazyConnect: true });
  await client.connect();
  try {
    const entries = await channelEntries(client);
    return entries.map(([, fields]) => parseEvent(fields));
  } finally {
    client.disconnect();
  }
}

// Every process whose parent chain leads to the transcoder: ffmpeg's arguments are visible to `ps`.
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parents) {
      if (pp !== p) continue;
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'transcoder-main-'));
  redis = await startRedisProcess();
  rtmpPort = await pickFreePort();
  httpPort = await pickFreePort();
  child = spawn(
    process.execPath,
    [
      'transcoder/src/main.ts',
      '--livestream', 'examples/custom-ladder.yaml',
      '--data-dir', dir,
      '--rtmp-port', String(rtmpPort),
      '--http-port', String(httpPort),
      '--host', '127.0.0.1',
    ], // prettier-ignore
    {
      cwd: repo,
      env: { ...process.env, LOG_LEVEL: 'trace', LSO_REDIS_URL: redis.url, LSO_X264_PRESET: 'veryfast' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor('the endpoints banner', () => output.includes('ingest server:'), { timeoutMs: 20_000 });
  key = (await readFile(path.join(dir, 'stream-key'), 'utf8')).trim();
});

afterAll(async () => {
  await publisher?.kill();
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    await exit;
  }
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('node transcoder/src/main.ts --livestream (standalone)', () => {
  it('prints where to publish and play, with the key file path but not the key', async () => {
    expect(output).toContain(`ingest server:  rtmp://127.0.0.1:${rtmpPort}/live`);
    expect(output).toContain(`http://127.0.0.1:${httpPort}/hls/master.m3u8`);
    expect(output).toContain(path.join(dir, 'stream-key'));
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(((await import('node:fs')).statSync(path.join(dir, 'stream-key')).mode & 0o777).toString(8)).toBe('600');
    expect((await fetch(http('/readyz'))).status).toBe(200);
    expect((await fetch(http('/hls/master.m3u8'))).status).toBe(404); // nothing live yet
  });

  it('goes live: the origin serves the ladder, HTTP-FLV and metrics, and Redis gets the reports', async () => {
    publisher = startPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${key}`, size: '640x360', fps: 30 });
    const masterText = await waitFor(
      'the master playlist over HTTP',
      async () => {
        const res = await fetch(http('/hls/master.m3u8'));
        return res.status === 200 ? await res.text() : undefined;
      },
      { timeoutMs: 30_000 },
    );
    HLS.setOptions({ strictMode: true });
    const master = HLS.parse(masterText) as HLS.types.MasterPlaylist;
    expect(master.variants.map((v) => v.uri)).toEqual(['source/index.m3u8', '240p/index.m3u8', '180p/index.m3u8']);
    for (const v of master.variants) {
      const media = HLS.parse(await (await fetch(http(`/hls/${v.uri}`))).text()) as HLS.types.MediaPlaylist;
      expect(media.segments.length).toBeGreaterThan(0);
      const seg = await fetch(http(`/hls/${path.dirname(v.uri)}/${media.segments[0]!.uri}`));
      expect(seg.status).toBe(200);
      expect((await seg.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }

    // HTTP-FLV through the origin: an FLV header, from node-media-server's loopback listener.
    const controller = new AbortController();
    const flv = await fetch(http('/live.flv'), { signal: controller.signal });
    expect(flv.status).toBe(200);
    const reader = flv.body!.getReader();
    const first = await reader.read();
    expect(
      Buffer.from(first.value ?? new Uint8Array())
        .subarray(0, 3)
        .toString(),
    ).toBe('FLV');
    controller.abort();

    const metrics = await (await fetch(http('/metrics'))).text();
    expect(metrics).toMatch(/^livestream_transcoder_publishing 1$/m);
    expect(metrics).toMatch(/^livestream_transcoder_segments_total\{rendition="240p"\} [1-9]/m);
    expect(metrics).toMatch(/^livestream_transcoder_sessions_total 1$/m);

    const reported = await waitFor('publish-started in Redis', async () => {
      const all = await events();
      return all.some((e) => e.type === 'publish-started') && all.some((e) => e.type === 'heartbeat') ? all : undefined;
    });
    const started = reported.find((e) => e.type === 'publish-started')!;
    expect(started).toMatchObject({
      namespace: 'default',
      name: 'custom-ladder',
      data: { resumed: false, width: 640 },
    });
    expect(started.session).not.toBe('');
  });

  it('keeps the stream key out of process arguments, logs, served files and metrics', async () => {
    const pids = await descendants(child.pid!);
    const cmdlines = await Promise.all(pids.map((p) => readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')));
    const ffmpeg = cmdlines.filter((c) => c.startsWith('ffmpeg'));
    expect(ffmpeg.length).toBe(1);
    expect(ffmpeg[0]).toContain('rtmp://127.0.0.1');
    for (const c of cmdlines) expect(c).not.toContain(key);
    expect(output).not.toContain(key);
    expect(await (await fetch(http('/hls/master.m3u8'))).text()).not.toContain(key);
    expect(await (await fetch(http('/metrics'))).text()).not.toContain(key);
    expect(await (await fetch(http('/'))).text()).not.toContain(key);
    expect(JSON.stringify(await events())).not.toContain(key);
  });

  it('ends the session on SIGTERM: ENDLIST everywhere, session-ended reported, exit 0', async () => {
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    for (const r of ['source', '240p', '180p', 'audio']) {
      expect(await readFile(path.join(dir, 'hls', r, 'index.m3u8'), 'utf8')).toMatch(/#EXT-X-ENDLIST\n$/);
    }
    const all = await events();
    const ended = all.filter((e) => e.type === 'session-ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ data: { reason: 'shutdown' } });
    expect(ended[0]!.session).toBe(all.find((e) => e.type === 'publish-started')!.session);
    expect(output).not.toContain(key);
  });
});
