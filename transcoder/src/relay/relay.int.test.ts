// The relay container as it runs in the pod, next to a real transcoder: `node transcoder/src/relay/main.ts` and
// `node transcoder/src/main.ts` as child processes sharing one kubelet-style config mount, a real ffmpeg encoder
// publishing, real redis-server, and ffmpeg RTMP listeners standing in for the platforms.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayStateData } from '../../../contract/src/reports.ts';
import { channelEntries } from '../../../test/support/report-writer.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { pickFreePort, startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { placeholderStreamName, startRtmpReceiver, type Receiver } from '../../../test/support/rtmp-receiver.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../../..');
const backoffCapMs = 4_000;

interface Child {
  proc: ChildProcess;
  output: () => string;
  exit: Promise<void>;
}

let dir: string;
let redis: RedisProcess;
let transcoder: Child;
let relay: Child;
let publisher: Publisher | undefined;
let rtmpPort: number;
let httpPort: number;
let metricsPort: number;
let streamKey: string;
const receivers = new Map<string, Receiver>();
const ports = new Map<string, number>();
const keys = new Map<string, string>();
const apps: Record<string, string> = { youtube: 'live2', twitch: 'app', facebook: 'rtmp' };
// A relay without keySecretRef: its URL is pushed to as written, stream name included.
const keyless = { name: 'open', app: 'live' };
let configVersion = 0;

function startChild(args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, args, {
    cwd: repo,
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  return { proc, output: () => output, exit };
}

async function stopChild(child: Child | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 10_000);
  child.proc.kill(signal);
  await child.exit;
  clearTimeout(timer);
}

// The LiveStream as the operator mounts it: <dir>/config/livestream.json -> ..data/livestream.json, ..data -> ..vN,
// updated by an atomic swap of the ..data symlink, as the kubelet does.
async function writeConfig(relayNames: string[], disabled: string[] = []): Promise<void> {
  const cfg = path.join(dir, 'config');
  const version = `..v${++configVersion}`;
  await mkdir(path.join(cfg, version), { recursive: true });
  const object = {
    apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
    kind: 'LiveStream',
    metadata: { name: 'relay-test', namespace: 'media', uid: 'u1', generation: configVersion },
    spec: {
      ingest: { app: 'live' },
      ladder: {
        passthrough: true,
        renditions: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 15 }],
      },
      hls: { segmentSeconds: 2, playlistLength: 6 },
      reconnectWindowSeconds: 10,
      relays: relayNames.map((name) =>
        name === keyless.name
          ? { name, url: `rtmp://127.0.0.1:${ports.get(name)}/${keyless.app}/${placeholderStreamName}` }
          : {
              name,
              url: `rtmp://127.0.0.1:${ports.get(name)}/${apps[name]}`,
              keySecretRef: { name: `${name}-key`, key: 'streamKey' },
              enabled: !disabled.includes(name),
            },
      ),
    },
  };
  await writeFile(path.join(cfg, version, 'livestream.json'), JSON.stringify(object));
  await symlink(version, path.join(cfg, '..data_tmp'));
  await rename(path.join(cfg, '..data_tmp'), path.join(cfg, '..data'));
  await symlink('..data/livestream.json', path.join(cfg, 'livestream.json')).catch(() => {});
}

interface Entry {
  type: string;
  session: string;
  ts: number;
  data: Record<string, unknown>;
  raw: string;
}

async function events(): Promise<Entry[]> {
  const client = new Redis(redis.url, { lazyConnect: true });
  await client.connect();
  try {
    const entries = await channelEntries(client);
    return entries.map(([, fields]) => {
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
      return {
        type: map.get('type')!,
        session: map.get('session') ?? '',
        ts: Number(map.get('ts')),
        data: JSON.parse(map.get('data') ?? '{}') as Record<string, unknown>,
        raw: fields.join(' '),
      };
    });
  } finally {
    client.disconnect();
  }
}

async function relayStates(name: string): Promise<Array<RelayStateData & { ts: number }>> {
  return (await events())
    .filter((e) => e.type === 'relay-state' && e.data.name === name)
    .map((e) => ({ ...(e.data as unknown as RelayStateData), ts: e.ts }));
}

async function currentState(name: string): Promise<RelayStateData | undefined> {
  return (await relayStates(name)).at(-1);
}

// ffmpeg processes started by the relay container, by the receiver port their output goes to.
async function relayFfmpegPid(name: string): Promise<number | undefined> {
  const needle = `127.0.0.1:${ports.get(name)}/`;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== relay.proc.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) return Number(entry);
  }
  return undefined;
}

async function startReceiver(name: string, file = `${name}.flv`): Promise<Receiver> {
  const app = apps[name] ?? keyless.app;
  const receiver = await startRtmpReceiver({ port: ports.get(name)!, app, file: path.join(dir, file) });
  receivers.set(name, receiver);
  return receiver;
}

async function duration(file: string): Promise<number> {
  return Number((await ffprobe(file)).format.duration ?? 0);
}

// Largest gap between consecutive video packet timestamps of a file (a reconnect shows as a jump or a reset).
async function largestVideoGap(file: string): Promise<{ gap: number; backwards: number; packets: number }> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=dts_time', '-of', 'csv=p=0', file],
    { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const times = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
  let gap = 0;
  let backwards = 0;
  for (let i = 1; i < times.length; i++) {
    const d = times[i]! - times[i - 1]!;
    gap = Math.max(gap, d);
    if (d < 0) backwards++;
  }
  return { gap, backwards, packets: times.length };
}

// Every process's arguments, as `ps` shows them.
async function allCmdlines(): Promise<string[]> {
  const cmdlines: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (/^\d+$/.test(entry)) cmdlines.push(await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''));
  }
  return cmdlines;
}
let cmdlinesWhileLive: string[] = [];

async function hlsPlaylists(): Promise<Record<string, string>> {
  const hls = path.join(dir, 'hls');
  const out: Record<string, string> = {};
  for (const rendition of await readdir(hls)) {
    const text = await readFile(path.join(hls, rendition, 'index.m3u8'), 'utf8').catch(() => undefined);
    if (text !== undefined) out[rendition] = text;
  }
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'relay-int-'));
  redis = await startRedisProcess();
  [rtmpPort, httpPort, metricsPort] = [await pickFreePort(), await pickFreePort(), await pickFreePort()];
  for (const name of Object.keys(apps)) {
    ports.set(name, await pickFreePort());
    // Keys shaped like the platforms' (Facebook's carries a query string in the stream name).
    const key =
      name === 'facebook' ? `FB-${randomBytes(8).toString('hex')}-0-Ab?s_bl=1&a=Ab` : randomBytes(12).toString('hex');
    keys.set(name, key);
    await mkdir(path.join(dir, 'keys', name), { recursive: true });
    await writeFile(path.join(dir, 'keys', name, 'key'), `${key}\n`, { mode: 0o600 });
  }
  ports.set(keyless.name, await pickFreePort()); // and no key file for it
  streamKey = randomBytes(16).toString('hex');
  await writeFile(path.join(dir, 'stream-key'), streamKey, { mode: 0o600 });
  await writeConfig(['youtube', 'twitch']);
  const configFile = path.join(dir, 'config', 'livestream.json');
  const common = { LSO_RTMP_PORT: String(rtmpPort), LSO_REDIS_URL: redis.url };
  transcoder = startChild(
    ['transcoder/src/main.ts', '--config', configFile, '--stream-key-file', path.join(dir, 'stream-key')],
    {
      ...common,
      LSO_HTTP_PORT: String(httpPort),
      LSO_HLS_DIR: path.join(dir, 'hls'),
      LSO_X264_PRESET: 'ultrafast',
    },
  );
  relay = startChild(['transcoder/src/relay/main.ts', '--config', configFile], {
    ...common,
    LSO_RELAY_KEYS_DIR: path.join(dir, 'keys'),
    LSO_RELAY_METRICS_PORT: String(metricsPort),
    LSO_RELAY_BACKOFF_CAP_MS: String(backoffCapMs),
    LSO_RELAY_HEARTBEAT_MS: '1000',
  });
  await waitFor('transcoder ready', () => transcoder.output().includes('transcoder ready'), { timeoutMs: 20_000 });
  await waitFor('relay ready', () => relay.output().includes('relay ready'), { timeoutMs: 20_000 });
  await startReceiver('youtube');
  await startReceiver('twitch');
}, 60_000);

afterAll(async () => {
  await publisher?.kill();
  await stopChild(relay);
  await stopChild(transcoder);
  for (const r of receivers.values()) await r.kill();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('relay container (node transcoder/src/relay/main.ts) with the transcoder', () => {
  it('waits while nothing is published: relays Connecting, no ffmpeg push running', async () => {
    await waitFor(
      'relay-state Connecting for both',
      async () =>
        (await currentState('youtube'))?.state === 'Connecting' &&
        (await currentState('twitch'))?.state === 'Connecting',
    );
    expect(await relayFfmpegPid('youtube')).toBeUndefined();
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    expect(health.status).toBe(200);
  });

  it('restreams to two relays once live: each receiver gets video and audio, and keeps getting it', async () => {
    publisher = startPublisher({ url: `rtmp://127.0.0.1:${rtmpPort}/live/${streamKey}`, size: '320x240', fps: 25 });
    for (const name of ['youtube', 'twitch']) {
      await waitFor(`${name} Active`, async () => (await currentState(name))?.state === 'Active', {
        timeoutMs: 30_000,
      });
    }
    await sleep(2_000);
    for (const name of ['youtube', 'twitch']) {
      const file = receivers.get(name)!.file;
      const probe = await ffprobe(file);
      expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
      expect(probe.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 320 });
      const before = await duration(file);
      await sleep(3_000);
      expect(await duration(file)).toBeGreaterThan(before + 2);
      // The platform got the key as the stream name, in the application of the URL.
      expect(receivers.get(name)!.receivedStreamName()).toBe(keys.get(name));
      expect(receivers.get(name)!.receivedApp()).toBeUndefined();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^livestream_relay_state\{relay="youtube",state="Active"\} 1$/m);
    expect(metrics).toMatch(/^livestream_relay_state\{relay="twitch",state="Connecting"\} 0$/m);
    expect(metrics).toMatch(/^livestream_relay_bytes_total\{relay="twitch"\} [1-9]\d{4,}$/m);
    expect(metrics).toMatch(/^livestream_relay_restarts_total\{relay="youtube"\} 0$/m);
    const beat = (await events()).filter((e) => e.type === 'relay-heartbeat').at(-1)!;
    const relays = beat.data.relays as RelayStateData[];
    expect(relays.map((r) => [r.name, r.state])).toEqual([
      ['youtube', 'Active'],
      ['twitch', 'Active'],
    ]);
    expect(relays[0]!.bytesOut).toBeGreaterThan(10_000);
  }, 90_000);

  it('adds a third relay from a config change within 10 s, without touching the stream or the other relays', async () => {
    const pidsBefore = [await relayFfmpegPid('youtube'), await relayFfmpegPid('twitch')];
    expect(pidsBefore.every((p) => p !== undefined)).toBe(true);
    const sessionsBefore = new Set((await events()).filter((e) => e.type === 'heartbeat').map((e) => e.session));
    expect(sessionsBefore.size).toBe(1);
    await startReceiver('facebook');
    const changedAt = Date.now();
    await writeConfig(['youtube', 'twitch', 'facebook']);
    await waitFor('facebook Active', async () => (await currentState('facebook'))?.state === 'Active', {
      timeoutMs: 20_000,
    });
    const activeAt = (await relayStates('facebook')).find((s) => s.state === 'Active')!.ts;
    const seconds = (activeAt - changedAt) / 1000;
    console.log(`third relay Active ${seconds.toFixed(1)} s after the config change`);
    expect(seconds).toBeLessThan(10);
    expect(receivers.get('facebook')!.receivedStreamName()).toBe(keys.get('facebook'));
    cmdlinesWhileLive = await allCmdlines(); // three relays pushing: checked for keys at the end
    await sleep(3_000);

    // The first two relays: same ffmpeg processes, receivers never disconnected, never left Active.
    expect([await relayFfmpegPid('youtube'), await relayFfmpegPid('twitch')]).toEqual(pidsBefore);
    for (const name of ['youtube', 'twitch']) {
      expect(receivers.get(name)!.running()).toBe(true);
      expect((await relayStates(name)).filter((s) => s.state !== 'Connecting').map((s) => s.state)).toEqual(['Active']);
    }
    // The transcoder: same session, no publish interruption, no discontinuity in any HLS playlist.
    const all = await events();
    expect(new Set(all.filter((e) => e.type === 'heartbeat').map((e) => e.session))).toEqual(sessionsBefore);
    expect(all.filter((e) => ['publish-ended', 'session-ended', 'ffmpeg-failed'].includes(e.type))).toEqual([]);
    const playlists = await hlsPlaylists();
    expect(Object.keys(playlists).length).toBeGreaterThanOrEqual(2);
    for (const text of Object.values(playlists)) expect(text).not.toContain('#EXT-X-DISCONTINUITY');
  }, 60_000);

  it('a receiver killed and restarted: its relay goes Retrying then Active within the backoff cap; others never stop', async () => {
    const othersBefore = [await relayFfmpegPid('youtube'), await relayFfmpegPid('facebook')];
    const killedAt = Date.now();
    await receivers.get('twitch')!.kill();
    const retrying = await waitFor(
      'twitch Retrying',
      async () => (await relayStates('twitch')).find((s) => s.state === 'Retrying' && s.ts >= killedAt),
      { timeoutMs: 20_000 },
    );
    expect(retrying.lastError).toBeTruthy();
    console.log(`twitch Retrying after ${Date.now() - killedAt} ms: ${retrying.lastError}`);
    await sleep(3_000); // the platform is down for a while: the relay keeps retrying (connection refused)
    const restartedAt = Date.now();
    const again = await startReceiver('twitch', 'twitch-2.flv');
    await waitFor(
      'twitch Active again',
      async () => (await relayStates('twitch')).find((s) => s.state === 'Active' && s.ts >= restartedAt),
      { timeoutMs: backoffCapMs + 15_000 },
    );
    const recovered = (await relayStates('twitch')).find((s) => s.state === 'Active' && s.ts >= restartedAt)!;
    console.log(
      `twitch Active again ${recovered.ts - restartedAt} ms after its receiver came back (cap ${backoffCapMs} ms)`,
    );
    expect(recovered.ts - restartedAt).toBeLessThan(backoffCapMs + 8_000);
    expect(again.receivedStreamName()).toBe(keys.get('twitch'));
    await sleep(2_000);
    expect(await duration(again.file)).toBeGreaterThan(1);

    expect([await relayFfmpegPid('youtube'), await relayFfmpegPid('facebook')]).toEqual(othersBefore);
    for (const name of ['youtube', 'facebook']) {
      expect(receivers.get(name)!.running()).toBe(true);
      expect((await relayStates(name)).filter((s) => s.ts >= killedAt)).toEqual([]);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^livestream_relay_restarts_total\{relay="twitch"\} [1-9]/m);
    expect(metrics).toMatch(/^livestream_relay_restarts_total\{relay="youtube"\} 0$/m);
  }, 60_000);

  it('the receivers of the untouched relays got one continuous stream', async () => {
    for (const name of ['youtube', 'facebook']) {
      const { gap, backwards, packets } = await largestVideoGap(receivers.get(name)!.file);
      expect(packets).toBeGreaterThan(100);
      expect(backwards).toBe(0);
      expect(gap).toBeLessThan(0.5);
    }
  }, 30_000);

  it('disabling one relay and removing another stops only those; the third keeps its process', async () => {
    const twitchPid = await relayFfmpegPid('twitch');
    expect(twitchPid).toBeDefined();
    const changedAt = Date.now();
    await writeConfig(['youtube', 'twitch'], ['youtube']);
    await waitFor('youtube Disabled', async () => (await currentState('youtube'))?.state === 'Disabled', {
      timeoutMs: 10_000,
    });
    console.log(`youtube Disabled ${Date.now() - changedAt} ms after the config change`);
    await waitFor('facebook removed from the heartbeat', async () => {
      const beat = (await events()).filter((e) => e.type === 'relay-heartbeat' && e.ts > changedAt).at(-1);
      const names = (beat?.data.relays as RelayStateData[] | undefined)?.map((r) => `${r.name}:${r.state}`);
      return names?.join(',') === 'youtube:Disabled,twitch:Active';
    });
    expect(await relayFfmpegPid('youtube')).toBeUndefined();
    expect(await relayFfmpegPid('facebook')).toBeUndefined();
    expect(await relayFfmpegPid('twitch')).toBe(twitchPid);
    // The stopped pushes ended cleanly: the platforms saw the stream end and closed their files.
    await waitFor('youtube and facebook receivers done', () =>
      ['youtube', 'facebook'].every((n) => !receivers.get(n)!.running()),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^livestream_relay_state\{relay="youtube",state="Disabled"\} 1$/m);
    expect(metrics).not.toContain('relay="facebook"');
  }, 30_000);

  it('a relay without keySecretRef pushes to its URL as written and reaches Active (no key file needed)', async () => {
    const twitchPid = await relayFfmpegPid('twitch');
    const receiver = await startReceiver(keyless.name);
    await writeConfig(['youtube', 'twitch', keyless.name], ['youtube']);
    const active = await waitFor(
      'keyless relay Active',
      async () => {
        const state = await currentState(keyless.name);
        return state?.state === 'Active' ? state : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(active.lastError).toBeUndefined();
    expect((await relayStates(keyless.name)).some((s) => s.state === 'Retrying')).toBe(false);
    // The stream name and the application of the URL reached the receiver unchanged (ffmpeg logs a mismatch).
    expect(receiver.receivedStreamName()).toBeUndefined();
    expect(receiver.receivedApp()).toBeUndefined();
    await sleep(2_000);
    const probe = await ffprobe(receiver.file);
    expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(await relayFfmpegPid('twitch')).toBe(twitchPid);
  }, 40_000);

  it('when the publisher stops, the relays stop and wait (Connecting)', async () => {
    await publisher?.stop();
    await waitFor('twitch Connecting', async () => (await currentState('twitch'))?.state === 'Connecting', {
      timeoutMs: 15_000,
    });
    await waitFor('the twitch push ended', async () => (await relayFfmpegPid('twitch')) === undefined, {
      timeoutMs: 5_000,
    });
    expect((await currentState('youtube'))?.state).toBe('Disabled');
  }, 30_000);

  it('no relay key in any process argument, log line, report or metric', async () => {
    const secrets = [...keys.values()];
    const cmdlines = [...cmdlinesWhileLive, ...(await allCmdlines())];
    for (const name of keys.keys()) {
      expect(cmdlines.some((c) => c.includes(`127.0.0.1:${ports.get(name)}/`))).toBe(true); // the scan saw the pushes
    }
    const reports = (await events()).map((e) => e.raw).join('\n');
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const secret of secrets) {
      for (const c of cmdlines) expect(c).not.toContain(secret);
      expect(relay.output()).not.toContain(secret);
      expect(transcoder.output()).not.toContain(secret);
      expect(reports).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
    expect(relay.output()).toContain('relay retrying'); // the failure was logged, without the key
  });
});
