// Pieces shared by the recording media tests and the bench: the transcoder as a child process (so it can be
// SIGKILLed with its ffmpeg, like a container), a LiveStream with recording on, the finalize entry point, and an
// independent observer of the live playlist (what the test knows was completed, without asking the recorder).
import type { FinalizeResult } from '../../transcoder/src/recording/finalize.ts';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { pickFreePort } from './redis-process.ts';
import { waitFor } from './wait-for.ts';
import { parseLivePlaylist } from '../../transcoder/src/recording/live-playlist.ts';

const run = promisify(execFile);
export const repo = path.resolve(import.meta.dirname, '../..');

export interface RecordingStreamOptions {
  name: string;
  bucket: string;
  prefix: string;
  endpoint: string;
  segmentSeconds?: number;
}

export function recordingLiveStream(o: RecordingStreamOptions): object {
  return {
    apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
    kind: 'LiveStream',
    metadata: { name: o.name, namespace: 'default' },
    spec: {
      ingest: { app: 'live' },
      ladder: {
        passthrough: false,
        renditions: [{ name: '240p', width: 320, height: 240, videoBitrateKbps: 300, fps: 15, audioBitrateKbps: 64 }],
      },
      hls: { segmentSeconds: o.segmentSeconds ?? 2, playlistLength: 3 },
      reconnectWindowSeconds: 0,
      recording: {
        enabled: true,
        rendition: '240p',
        s3: {
          bucket: o.bucket,
          prefix: o.prefix,
          endpoint: o.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentialsSecretRef: { name: 's3-credentials' },
        },
      },
    },
  };
}

export interface TranscoderProcess {
  child: ChildProcess;
  rtmpUrl(key: string): string;
  httpPort: number;
  output(): string;
  metric(name: string): Promise<number>;
  stop(): Promise<void>; // SIGTERM, then SIGKILL
  killGroup(): Promise<void>; // SIGKILL to node and its ffmpeg at once: a container killed
}

export async function startTranscoderProcess(
  dataDir: string,
  configFile: string,
  env: Record<string, string>,
): Promise<TranscoderProcess> {
  const rtmpPort = await pickFreePort();
  const httpPort = await pickFreePort();
  let out = '';
  const child = spawn(
    process.execPath,
    [
      'transcoder/src/main.ts',
      '--livestream', configFile,
      '--data-dir', dataDir,
      '--rtmp-port', String(rtmpPort),
      '--http-port', String(httpPort),
      '--host', '127.0.0.1',
    ], // prettier-ignore
    {
      cwd: repo,
      env: { ...process.env, LOG_LEVEL: 'info', LSO_X264_PRESET: 'ultrafast', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: killGroup() takes ffmpeg down with it
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
  await waitFor(
    'the transcoder to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`transcoder exited: ${out.slice(-3000)}`);
      return out.includes('ingest server:');
    },
    { timeoutMs: 30_000 },
  );
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    rtmpUrl: (key) => `rtmp://127.0.0.1:${rtmpPort}/live/${key}`,
    httpPort,
    output: () => out,
    async metric(name) {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
      return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
    async stop() {
      if (!alive()) return;
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 25_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    },
    async killGroup() {
      if (!alive()) return;
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

export async function prepareDataDir(dataDir: string, stream: object): Promise<{ configFile: string; key: string }> {
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dataDir, 'livestream.json');
  await writeFile(configFile, JSON.stringify(stream, null, 2));
  const key = `k${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`.slice(0, 40);
  await writeFile(path.join(dataDir, 'stream-key'), key, { mode: 0o600 });
  return { configFile, key };
}

// Watches a live playlist and remembers every segment it ever listed (ffmpeg's window forgets them).
export function observePlaylist(file: string, intervalMs = 200): { sequences(): number[]; stop(): void } {
  const seen = new Map<string, number>();
  let session = 0;
  let lastMax = -1;
  const timer = setInterval(() => {
    readFile(file, 'utf8').then(
      (text) => {
        for (const s of parseLivePlaylist(text)) {
          if (s.sequence < lastMax - 50) session++; // a new session restarted the numbering
          seen.set(`${session}:${s.sequence}`, s.sequence);
          lastMax = Math.max(lastMax, s.sequence);
        }
      },
      () => {},
    );
  }, intervalMs);
  return { sequences: () => [...seen.values()].sort((a, b) => a - b), stop: () => clearInterval(timer) };
}

/** The JSON line finalize-main prints is the FinalizeResult of transcoder/src/recording/finalize.ts. */
export type FinalizeOutput = FinalizeResult;

export async function runFinalize(args: {
  bucket: string;
  prefix: string;
  endpoint: string;
  name: string;
  session: string;
  credentialsDir: string;
  env?: Record<string, string>;
}): Promise<{ result: FinalizeOutput; stdout: string; stderr: string }> {
  const { stdout, stderr } = await run(
    process.execPath,
    [
      'transcoder/src/recording/finalize-main.ts',
      '--bucket', args.bucket,
      '--prefix', args.prefix,
      '--endpoint', args.endpoint,
      '--region', 'us-east-1',
      '--force-path-style',
      '--namespace', 'default',
      '--name', args.name,
      '--session', args.session,
    ], // prettier-ignore
    { cwd: repo, env: { ...process.env, LSO_S3_CREDENTIALS_DIR: args.credentialsDir, ...args.env }, timeout: 180_000 },
  );
  const lines = stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`finalize printed ${lines.length} lines on stdout`);
  return { result: JSON.parse(lines[0]!) as FinalizeOutput, stdout, stderr };
}
