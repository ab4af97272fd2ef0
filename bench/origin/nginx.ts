// nginx-light serving the same HLS directory as the origin, with a generated config in a temp dir (the benchmark's
// reference). Same headers as the origin: MIME types, Cache-Control, CORS; no access log on either side.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface NginxProcess {
  port: number;
  workerPids(): Promise<number[]>;
  stop(): Promise<void>;
}

export function nginxConfig(options: { port: number; hlsDir: string; workDir: string; workers: number }): string {
  const { port, hlsDir, workDir, workers } = options;
  // URLs are /hls/<file>: serve them from the parent of a directory named hls (no alias/regex pitfalls).
  if (basename(hlsDir) !== 'hls') throw new Error(`nginx reference needs a directory named hls, got ${hlsDir}`);
  const root = dirname(hlsDir);
  return `user root;
daemon off;
master_process on;
worker_processes ${workers};
pid ${workDir}/nginx.pid;
error_log ${workDir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path ${workDir}/body;
  proxy_temp_path ${workDir}/proxy;
  fastcgi_temp_path ${workDir}/fastcgi;
  uwsgi_temp_path ${workDir}/uwsgi;
  scgi_temp_path ${workDir}/scgi;
  types {
    application/vnd.apple.mpegurl m3u8;
    video/mp2t ts;
    video/mp4 mp4 m4s;
  }
  server {
    listen 127.0.0.1:${port};
    location ~ \\.m3u8$ {
      root ${root};
      add_header Cache-Control no-cache;
      add_header Access-Control-Allow-Origin *;
    }
    location /hls/ {
      root ${root};
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header Access-Control-Allow-Origin *;
    }
  }
}
`;
}

export async function startNginx(options: {
  port: number;
  hlsDir: string;
  workDir: string;
  workers: number;
}): Promise<NginxProcess> {
  await mkdir(options.workDir, { recursive: true });
  const conf = join(options.workDir, 'nginx.conf');
  await writeFile(conf, nginxConfig(options));
  const proc = spawn('nginx', ['-c', conf, '-p', options.workDir, '-e', join(options.workDir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) throw new Error(`nginx exited: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${options.port}/hls/master.m3u8`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`nginx did not answer within 10 s: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    port: options.port,
    async workerPids() {
      const children = await readFile(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8');
      return children.trim().split(/\s+/).filter(Boolean).map(Number);
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM'); // fast shutdown of master and workers
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
