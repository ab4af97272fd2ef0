// The operator, transcoder and gateway images, built on the project's debootstrap bases, run what the pod contract
// says: Node 24 as user 10001 on a read-only root filesystem; the operator reaches leadership on a real control plane
// through a mounted kubeconfig; the transcoder image has ffmpeg and starts its ingest and origin; the gateway image
// holds no operator or transcoder code and becomes ready on a mounted route table and routing secret.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { down, up, type ClusterState } from '../../hack/cluster/local-cluster.ts';
import { routeTableFileName, routingSecretFileName } from '../../contract/src/route-table.ts';
import { waitFor } from '../support/wait-for.ts';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
// crun refuses this VM's hybrid cgroups; runc (Debian, as on the node) runs the containers.
const runtime = process.env.LSO_PODMAN_RUNTIME ?? 'runc';
const limits = ['--runtime', runtime, '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];
// The pod's security context, as close as podman gets: read-only root, writable /tmp, no capabilities.
const locked = [
  '--read-only',
  '--tmpfs',
  '/tmp:rw,size=64m',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
];

interface BuiltImage {
  tag: string;
  id: string;
  size: string;
  archive: string;
}

let images: Map<string, BuiltImage>;
const started: ChildProcess[] = [];
const names: string[] = [];

async function podman(args: string[], timeout = 60_000): Promise<{ stdout: string; stderr: string }> {
  return run('podman', args, { timeout, maxBuffer: 16 * 1024 * 1024 });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts a detached-from-test container in the foreground of a child process, collecting its output. */
function startContainer(name: string, args: string[]): { proc: ChildProcess; output: () => string } {
  names.push(name);
  const proc = spawn('podman', ['run', '--rm', '--name', name, ...limits, ...locked, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(proc);
  let text = '';
  proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return { proc, output: () => text };
}

const waitUntil = (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) =>
  waitFor(what, check, { timeoutMs, intervalMs: 250 });

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.connect(port, '127.0.0.1');
  });
}

beforeAll(async () => {
  const start = Date.now();
  const { stdout } = await run(join(repo, 'hack/images/build-images.sh'), [], { timeout: 1_200_000 });
  images = new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const [tag, id, size, archive] = line.split(' ');
        return [tag!.replace(/^localhost\/|:.*$/g, ''), { tag: tag!, id: id!, size: size!, archive: archive! }];
      }),
  );
  for (const image of images.values()) console.log(`image ${image.tag} id ${image.id} size ${image.size}`);
  console.log(`build-images.sh took ${Date.now() - start} ms`);
}, 1_200_000);

afterAll(async () => {
  for (const name of names) await podman(['rm', '-f', '--time', '2', name]).catch(() => undefined);
  for (const proc of started) if (proc.exitCode === null) proc.kill('SIGKILL');
});

describe('operator image', () => {
  const tag = () => images.get('livestream-operator')!.tag;

  it('runs Node 24.21 as user 10001 with no shell entrypoint', async () => {
    const { stdout } = await podman(['run', '--rm', ...limits, ...locked, tag(), '--version']);
    expect(stdout.trim()).toBe('v24.21.0');
    const { stdout: uid } = await podman([
      'run',
      '--rm',
      ...limits,
      ...locked,
      tag(),
      '-e',
      'console.log(process.getuid(), process.cwd(), process.env.HOME)',
    ]);
    expect(uid.trim()).toBe('10001 /app /tmp');
    const { stdout: config } = await podman(['image', 'inspect', '--format', '{{json .Config}}', tag()]);
    const parsed = JSON.parse(config) as { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string };
    expect(parsed).toMatchObject({ User: '10001:10001', Entrypoint: ['node'], Cmd: ['operator/src/main.ts'] });
  });

  describe('on a control plane of its own', () => {
    let dir: string;
    let state: ClusterState;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lso-images-cluster-'));
      state = await up({ dir });
      await run(state.kubectl, ['--kubeconfig', state.kubeconfig, 'apply', '-f', join(repo, 'crds/livestream.yaml')]);
    }, 300_000);
    afterAll(async () => {
      if (state) await down({ dir });
      await rm(dir, { recursive: true, force: true });
    }, 120_000);

    it('starts, becomes leader and serves /readyz through a mounted kubeconfig', async () => {
      const metricsPort = await freePort();
      // The admin kubeconfig is 0600 root; the container runs as 10001, like a pod reading a mounted Secret.
      const kubeconfig = join(dir, 'kubeconfig-for-image');
      await copyFile(state.kubeconfig, kubeconfig);
      await chmod(kubeconfig, 0o644);
      const c = startContainer(`lso-images-operator-${process.pid}`, [
        '--network',
        'host',
        '-v',
        `${kubeconfig}:/etc/kube/config:ro`,
        '-e',
        'KUBECONFIG=/etc/kube/config',
        '-e',
        `LSO_METRICS_PORT=${metricsPort}`,
        '-e',
        'LSO_LEASE_NAME=lso-images-test',
        tag(),
      ]);
      await waitUntil('"became leader" in the operator log', () => c.output().includes('became leader'), 60_000).catch(
        (err: Error) => {
          throw new Error(`${err.message}; operator output:\n${c.output().slice(-2000)}`);
        },
      );
      expect(c.output()).toContain('operator started');
      await waitUntil(
        '/readyz 200',
        async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.status === 200,
        30_000,
      );
      const stopped = new Promise<number | null>((resolve) => c.proc.once('exit', resolve));
      await podman(['stop', '--time', '10', `lso-images-operator-${process.pid}`]);
      expect(await stopped).toBe(0);
    });
  });
});

describe('transcoder image', () => {
  const tag = () => images.get('livestream-transcoder')!.tag;

  it('has ffmpeg with libx264 and aac', async () => {
    const { stdout } = await podman(['run', '--rm', ...limits, ...locked, '--entrypoint', 'ffmpeg', tag(), '-version']);
    expect(stdout).toMatch(/^ffmpeg version 5\.1/);
    expect(stdout).toContain('--enable-libx264');
    const { stdout: encoders } = await podman([
      'run',
      '--rm',
      ...limits,
      ...locked,
      '--entrypoint',
      'ffmpeg',
      tag(),
      '-hide_banner',
      '-encoders',
    ]);
    expect(encoders).toMatch(/libx264/);
    expect(encoders).toMatch(/ aac /);
  });

  it('starts the standalone transcoder on examples/basic.yaml: RTMP ingest and HTTP origin up, SIGTERM stops it', async () => {
    const rtmpPort = await freePort();
    const httpPort = await freePort();
    const name = `lso-images-transcoder-${process.pid}`;
    const c = startContainer(name, [
      '--network',
      'host',
      '-v',
      `${join(repo, 'examples')}:/app/examples:ro`,
      tag(),
      'transcoder/src/main.ts',
      '--livestream',
      'examples/basic.yaml',
      '--data-dir',
      '/tmp/livestream',
      '--rtmp-port',
      String(rtmpPort),
      '--http-port',
      String(httpPort),
    ]);
    await waitUntil('the RTMP port', () => tcpOpen(rtmpPort), 30_000);
    await waitUntil(
      '/healthz 200',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.status === 200,
      30_000,
    );
    const stopped = new Promise<number | null>((resolve) => c.proc.once('exit', resolve));
    await podman(['stop', '--time', '10', name]);
    expect(await stopped, c.output()).toBe(0);
  });
});

describe('gateway image', () => {
  const tag = () => images.get('livestream-gateway')!.tag;

  it('runs gateway/src/main.ts as user 10001, with only contract/ and gateway/ sources', async () => {
    const { stdout: config } = await podman(['image', 'inspect', '--format', '{{json .Config}}', tag()]);
    const parsed = JSON.parse(config) as { User: string; Entrypoint: string[]; Cmd: string[] };
    expect(parsed).toMatchObject({ User: '10001:10001', Entrypoint: ['node'], Cmd: ['gateway/src/main.ts'] });
    const { stdout } = await podman([
      'run', '--rm', ...limits, ...locked, tag(), '-e',
      "const fs = require('node:fs'); console.log(process.getuid(), fs.readdirSync('/app').filter((f) => !f.startsWith('.')).sort().join(','))",
    ]); // prettier-ignore
    expect(stdout.trim()).toBe('10001 contract,gateway,node_modules,package.json');
  });

  it("has ffmpeg with an AAC encoder and the RTP demuxer (the WHIP media bridge's)", async () => {
    const { stdout } = await podman(['run', '--rm', ...limits, ...locked, '--entrypoint', 'ffmpeg', tag(), '-hide_banner', '-formats']);
    expect(stdout).toMatch(/^ D.? +sdp /m);
    const { stdout: encoders } = await podman(['run', '--rm', ...limits, ...locked, '--entrypoint', 'ffmpeg', tag(), '-hide_banner', '-encoders']);
    expect(encoders).toMatch(/^ A\S* aac /m);
  }); // prettier-ignore

  it('serves /healthz, becomes ready on a mounted table and secret, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lso-images-gateway-'));
    try {
      await mkdir(join(dir, 'routes'));
      await mkdir(join(dir, 'secret'));
      await writeFile(join(dir, 'routes', routeTableFileName), '{"version":1,"entries":[]}');
      await writeFile(join(dir, 'secret', routingSecretFileName), randomBytes(48).toString('base64url'));
      for (const p of [dir, join(dir, 'routes'), join(dir, 'secret')]) await chmod(p, 0o755);
      const [httpPort, rtmpPort] = [await freePort(), await freePort()];
      const name = `lso-images-gateway-${process.pid}`;
      const c = startContainer(name, [
        '--network', 'host',
        '-v', `${join(dir, 'routes')}:/etc/livestream-gateway/routes:ro`,
        '-v', `${join(dir, 'secret')}:/etc/livestream-gateway/secret:ro`,
        '-e', `LSO_GATEWAY_HTTP_PORT=${httpPort}`,
        '-e', `LSO_GATEWAY_RTMP_PORT=${rtmpPort}`,
        tag(),
      ]); // prettier-ignore
      await waitUntil('the RTMP port', () => tcpOpen(rtmpPort), 30_000);
      await waitUntil(
        '/readyz 200',
        async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200,
        30_000,
      );
      expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
      const stopped = new Promise<number | null>((resolve) => c.proc.once('exit', resolve));
      await podman(['stop', '--time', '10', name]);
      expect(await stopped, c.output()).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
