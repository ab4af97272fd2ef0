// Channels behind one gateway without Kubernetes: real transcoder processes in standalone mode (each with its own
// stream key, data directory and ports, a passthrough-only ladder so that three fit on two cores) and the real
// gateway entry point (gateway-process.ts) with the route table the operator would publish for them.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChannelAccess } from '../../contract/src/route-table.ts';
import { startGatewayProcess, type GatewayProcess, type GatewayRoute } from './gateway-process.ts';
import { pickFreePort } from './redis-process.ts';
import { waitFor } from './wait-for.ts';

const repo = path.join(import.meta.dirname, '..', '..');
export const gatewayTestNamespace = 'gw-test';

export interface Child {
  process: ChildProcess;
  output(): string;
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function run(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-40_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => out,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

async function ready(url: string, child: Child, what: string): Promise<void> {
  await waitFor(what, () => fetch(url).then((r) => r.ok), {
    timeoutMs: 30_000,
    abort: () => (child.process.exitCode !== null ? `it exited: ${child.output().slice(-2000)}` : undefined),
  });
}

export interface TestChannel {
  name: string;
  key: string;
  dir: string;
  rtmpPort: number;
  httpPort: number;
  transcoder: Child;
  /** `livestream_transcoder_publishing` of its own transcoder (1 while it has a publisher). */
  publishing(): Promise<number>;
  /** Starts its transcoder again on new ports (a replaced pod); the table is not updated here. */
  replace(): Promise<void>;
}

/** spec.hls.lowLatency of a channel that serves LL-HLS (docs/llhls.md); absent: classic HLS only. */
export interface TestLowLatency {
  partSeconds: number;
}

const livestreamYaml = (
  name: string,
  reconnectWindowSeconds = 5,
  lowLatency?: TestLowLatency,
) => `apiVersion: streaming.livestream-operator.dev/v1alpha1
kind: LiveStream
metadata:
  name: ${name}
  namespace: ${gatewayTestNamespace}
spec:
  ingest:
    app: live
    httpFlv: true
  ladder:
    passthrough: true
    renditions:
      - { name: 180p, width: 320, height: 180, videoBitrateKbps: 300, fps: 15, audioBitrateKbps: 64 }
  hls:
    segmentSeconds: 2
    playlistLength: 4${lowLatency ? `\n    lowLatency: { enabled: true, partSeconds: ${lowLatency.partSeconds} }` : ''}
  reconnectWindowSeconds: ${reconnectWindowSeconds}
`;

async function startChannel(
  root: string,
  name: string,
  reconnectWindowSeconds?: number,
  lowLatency?: TestLowLatency,
): Promise<TestChannel> {
  const dir = path.join(root, name);
  const key = randomBytes(18).toString('base64url');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'livestream.yaml'), livestreamYaml(name, reconnectWindowSeconds, lowLatency));
  await writeFile(path.join(dir, 'stream-key'), key + '\n', { mode: 0o600 });
  const channel = { name, key, dir, rtmpPort: 0, httpPort: 0 } as TestChannel;
  const launch = async () => {
    channel.rtmpPort = await pickFreePort();
    channel.httpPort = await pickFreePort();
    const args = ['transcoder/src/main.ts', '--livestream', path.join(dir, 'livestream.yaml')];
    args.push('--stream-key-file', path.join(dir, 'stream-key'), '--data-dir', path.join(dir, 'data'));
    args.push('--rtmp-port', String(channel.rtmpPort), '--http-port', String(channel.httpPort), '--host', '127.0.0.1');
    channel.transcoder = run(args, { LSO_X264_PRESET: 'ultrafast' });
    await ready(`http://127.0.0.1:${channel.httpPort}/readyz`, channel.transcoder, `transcoder ${name}`);
  };
  await launch();
  channel.publishing = async () => {
    const text = await fetch(`http://127.0.0.1:${channel.httpPort}/metrics`).then((r) => r.text());
    return Number(/^livestream_transcoder_publishing (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  channel.replace = async () => {
    await channel.transcoder.kill('SIGKILL');
    await launch();
  };
  return channel;
}

export interface GatewayRig {
  dir: string;
  channels: TestChannel[];
  gateway: GatewayProcess;
  rtmpPort: number;
  httpPort: number;
  /** rtmp://127.0.0.1:<gateway>/live/<key> */
  publishUrl(key: string, app?: string): string;
  playbackUrl(channel: TestChannel, file?: string): string;
  /** Writes the route table for the channels as they are now (atomically, as the kubelet swaps a mount), with the
   * channels' viewing rules (none: every channel public). */
  writeTable(access?: ChannelAccess[]): Promise<void>;
  /** One sample of the gateway's metrics: `name{labels}` -> value. */
  metric(series: string): Promise<number>;
  close(): Promise<void>;
}

export async function startGatewayRig(options: {
  channels: number;
  env?: Record<string, string>;
  /** each channel's spec.reconnectWindowSeconds (5 by default) */
  reconnectWindowSeconds?: number;
  /** channel index -> its LL-HLS settings (the others classic HLS only) */
  lowLatency?: Record<number, TestLowLatency>;
}): Promise<GatewayRig> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-rig-'));
  const channels: TestChannel[] = [];
  for (let i = 0; i < options.channels; i++)
    channels.push(await startChannel(dir, `ch-${i}`, options.reconnectWindowSeconds, options.lowLatency?.[i]));
  const routes = (): GatewayRoute[] =>
    channels.map((c) => ({
      key: c.key,
      namespace: gatewayTestNamespace,
      name: c.name,
      rtmp: `127.0.0.1:${c.rtmpPort}`,
      http: `127.0.0.1:${c.httpPort}`,
    }));
  const gateway = await startGatewayProcess({ routes: routes(), env: { LOG_LEVEL: 'info', ...options.env } });
  const { rtmpPort, httpPort } = gateway;
  return {
    dir,
    channels,
    gateway,
    rtmpPort,
    httpPort,
    publishUrl: (key, app = 'live') => `rtmp://127.0.0.1:${rtmpPort}/${app}/${key}`,
    playbackUrl: (c, file = 'master.m3u8') => `http://127.0.0.1:${httpPort}/${gatewayTestNamespace}/${c.name}/${file}`,
    writeTable: (access) => gateway.writeRoutes(routes(), access),
    metric: async (series) => {
      const text = await gateway.metrics();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? NaN : Number(line.slice(series.length + 1));
    },
    close: async () => {
      await gateway.close();
      await Promise.all(channels.map((c) => c.transcoder.kill('SIGKILL')));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One standalone channel (its transcoder process) in `root`, for tests that route to it without the gateway rig. */
export const startTestChannel = (root: string, name: string): Promise<TestChannel> => startChannel(root, name);
