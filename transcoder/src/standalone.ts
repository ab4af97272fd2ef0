// Standalone mode: one LiveStream from a YAML file, without Kubernetes. The stream key comes from
// --stream-key-file or is generated once into a 0600 file under the data directory; only its path is ever printed.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from './config/livestream-spec.ts';

export async function ensureStreamKeyFile(dataDir: string): Promise<{ path: string; created: boolean }> {
  const file = path.join(dataDir, 'stream-key');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': never overwrite a key an encoder is already configured with.
    await writeFile(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    return { path: file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if ((await readFile(file, 'utf8')).trim() === '')
      throw new Error(`${file} is empty: delete it to generate a key`, { cause: err });
    return { path: file, created: false };
  }
}

export function defaultDataDir(config: Pick<ResolvedConfig, 'name' | 'namespace'>): string {
  return path.resolve('.livestream', `${config.namespace}-${config.name}`);
}

export interface Endpoints {
  host: string;
  rtmpPort: number;
  httpPort: number;
}

// What a person needs to go live and to watch: the encoder's server URL (OBS "Server") and where to play.
export function describeEndpoints(config: ResolvedConfig, e: Endpoints, keyFile: string): string[] {
  const http = `http://${e.host}:${e.httpPort}`;
  return [
    `LiveStream ${config.namespace}/${config.name}`,
    `  ingest server:  rtmp://${e.host}:${e.rtmpPort}/${config.app}`,
    `  stream key:     in ${keyFile}`,
    `  publish:        ffmpeg -re -i INPUT -c:v libx264 -pix_fmt yuv420p -c:a aac -f flv "rtmp://${e.host}:${e.rtmpPort}/${config.app}/$(cat ${keyFile})"`,
    `  player:         ${http}/`,
    `  HLS:            ${http}/hls/master.m3u8`,
    ...(config.httpFlv ? [`  HTTP-FLV:       ${http}/live.flv`] : []),
    `  metrics:        ${http}/metrics`,
  ];
}
