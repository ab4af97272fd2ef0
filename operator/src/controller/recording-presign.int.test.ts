// The recording's presigned URL on a real API server (the credentials Secret read as the operator reads it) and a
// real MinIO holding an MP4 of the session (private bucket): the URL the operator signs is one MinIO serves, with
// ranges; a missing Secret gives no VOD and no throw. Then the directory runner pushes the listing with that VOD to a
// real gateway process, which serves the recording at the path the pages link to.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { startGatewayProcess, type GatewayProcess } from '../../../test/support/gateway-process.ts';
import { startS3Server, type S3Server } from '../../../test/support/s3-server.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { GatewayDirectory } from './gateway-directory-runner.ts';
import { listingsById } from './gateway-directory.ts';
import { RecordingVods } from './recording-presign.ts';

const run = promisify(execFile);
const logger = createLogger('recording-presign-test', 'warn');
const bucket = 'recordings';

describe('presigned recordings', () => {
  const cluster = useTestCluster('vod');
  const core = cluster.kc.makeApiClient(CoreV1Api);
  let s3: S3Server;
  let dir: string;
  let mp4: Buffer;

  const channel = (name: string, secretName: string): LiveStream =>
    ({
      apiVersion: 'livestream.example.com/v1alpha1',
      kind: 'LiveStream',
      metadata: { namespace: cluster.namespace, name, generation: 1 },
      spec: {
        recording: {
          enabled: true,
          s3: {
            bucket,
            prefix: 'rec',
            endpoint: s3.endpoint,
            region: 'us-east-1',
            forcePathStyle: true,
            credentialsSecretRef: { name: secretName, accessKeyIdKey: 'id', secretAccessKeyKey: 'secret' },
          },
        },
      },
      status: {
        state: 'Idle',
        recordings: [
          { session: 's2', state: 'Finalizing' },
          {
            session: 's1',
            state: 'Complete',
            mp4Uri: `s3://${bucket}/rec/${cluster.namespace}/${name}/s1/recording.mp4`,
          },
        ],
      },
    }) as unknown as LiveStream;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vod-presign-'));
    const file = path.join(dir, 'recording.mp4');
    await run('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=10:duration=2'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file],
    ]);
    mp4 = await readFile(file);
    s3 = await startS3Server();
    await s3.createBucket(bucket);
    const client = s3.client();
    const key = `rec/${cluster.namespace}/show/s1/recording.mp4`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: mp4 }));
    client.destroy();
    const creds = (f: string) => readFile(path.join(s3.credentialsDir, f), 'utf8');
    await core.createNamespacedSecret({
      namespace: cluster.namespace,
      body: {
        metadata: { name: 's3-creds' },
        stringData: { id: await creds('accessKeyId'), secret: await creds('secretAccessKey') },
      },
    });
  }, 240_000);

  afterAll(async () => {
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signs a URL MinIO serves (whole and by range); the bucket is not open without it', async () => {
    const vods = new RecordingVods({ core, logger });
    const ls = channel('show', 's3-creds');
    expect(await vods.refresh([ls])).toBe(true);
    const vod = vods.vod(ls)!;
    expect(vod.session).toBe('s1');
    expect(vod.url.startsWith(`${s3.endpoint}/${bucket}/rec/`)).toBe(true);
    const whole = await fetch(vod.url);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(mp4)).toBe(true);
    const part = await fetch(vod.url, { headers: { range: 'bytes=0-7' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(mp4.subarray(0, 8))).toBe(true);
    const anonymous = await fetch(vod.url.split('?')[0]!);
    expect(anonymous.status).toBe(403);
    await anonymous.body?.cancel();
  });

  it('gives no VOD, and does not throw, when the Secret is missing', async () => {
    const vods = new RecordingVods({ core, logger });
    const ls = channel('show', 'no-such-secret');
    expect(await vods.refresh([ls])).toBe(false);
    expect(vods.vod(ls)).toBeUndefined();
  });

  it('reaches a real gateway through the directory runner, which serves it at /<ns>/<name>/vod.mp4', async () => {
    let gateway: GatewayProcess | undefined;
    let directory: GatewayDirectory | undefined;
    try {
      gateway = await startGatewayProcess({ routes: [] });
      const g = gateway;
      const vods = new RecordingVods({ core, logger });
      const channels = [channel('show', 's3-creds')];
      directory = new GatewayDirectory({
        listings: () => listingsById(channels, Date.now(), undefined, (ls) => vods.vod(ls)),
        prepare: () => vods.refresh(channels),
        replicas: () => Promise.resolve([{ id: 'gw-0', url: `http://127.0.0.1:${g.httpPort}` }]),
        token: () => Promise.resolve(g.adminToken),
        logger,
        discoverMs: 500,
      });
      directory.start();
      const at = `http://127.0.0.1:${g.httpPort}/${cluster.namespace}/show/vod.mp4`;
      await waitFor('the gateway to serve the recording', async () => (await fetch(at, { method: 'HEAD' })).ok, {
        timeoutMs: 20_000,
      });
      const res = await fetch(at, { headers: { range: `bytes=8-${mp4.length - 1}` } });
      expect(res.status).toBe(206);
      expect(Buffer.from(await res.arrayBuffer()).equals(mp4.subarray(8))).toBe(true);
    } finally {
      await directory?.stop();
      await gateway?.close();
    }
  });
});
