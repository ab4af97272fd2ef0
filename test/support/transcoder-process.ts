// Runs the real transcoder as a local process configured exactly as its pod would be: the LiveStream JSON from the
// operator's ConfigMap, the stream key from the Secret, the Redis URL from the "<name>-redis" Secret. Only the
// ports and directories are local (a pod has them fixed).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { freePorts } from '../../hack/cluster/processes.ts';

const repo = join(import.meta.dirname, '..', '..');

export interface TranscoderProcess {
  rtmpUrl: string;
  httpUrl: string;
  hlsDir: string;
  /** The publish URL an encoder uses (server URL + stream key). */
  publishUrl: string;
  output(): string;
  /** Starts it again with the same configuration, ports and directories (after kill9). */
  restart(): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');

export async function startTranscoderLikeItsPod(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<TranscoderProcess> {
  const core = kc.makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ name: `${name}-config`, namespace });
  const keySecret = await core.readNamespacedSecret({ name: `${name}-stream-key`, namespace });
  const redisSecret = await core.readNamespacedSecret({ name: `${name}-redis`, namespace });
  const dir = await mkdtemp(join(tmpdir(), `lso-${name}-`));
  const config = join(dir, 'livestream.json');
  const keyFile = join(dir, 'streamKey');
  await writeFile(config, cm.data?.['livestream.json'] ?? '');
  await writeFile(keyFile, decode(keySecret.data?.streamKey), { mode: 0o600 });
  const [rtmpPort, httpPort] = await freePorts('127.0.0.1', 2);
  const hlsDir = join(dir, 'hls');
  const app =
    (JSON.parse(cm.data?.['livestream.json'] ?? '{}') as { spec?: { ingest?: { app?: string } } }).spec?.ingest?.app ??
    'live';
  let child: ChildProcess;
  let out = '';
  let exited: Promise<void>;
  const launch = () => {
    child = spawn(process.execPath, ['transcoder/src/main.ts', '--config', config, '--stream-key-file', keyFile], {
      cwd: repo,
      env: {
        PATH: process.env.PATH,
        LSO_RTMP_PORT: String(rtmpPort),
        LSO_HTTP_PORT: String(httpPort),
        LSO_HLS_DIR: hlsDir,
        LSO_REDIS_URL: decode(redisSecret.data?.url),
        LSO_X264_PRESET: 'ultrafast',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
  };
  const ready = async () => {
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`transcoder not ready: ${out}`);
  };
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    await exited;
  };
  launch();
  await ready();
  return {
    rtmpUrl: `rtmp://127.0.0.1:${rtmpPort}/${app}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    hlsDir,
    publishUrl: `rtmp://127.0.0.1:${rtmpPort}/${app}/${decode(keySecret.data?.streamKey)}`,
    output: () => out,
    restart: async () => {
      launch();
      await ready();
    },
    kill9: () => signal('SIGKILL'),
    stop: async () => {
      await signal('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
