// A real S3-compatible server for the recording media tests: MinIO built from its Go module by
// `hack/tools/build.sh minio` (cached; the first build takes minutes), on a free loopback port with a temporary
// data directory. stop()/start() keep the data and the port, to test an S3 outage mid-stream.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { pickFreePort } from './redis-process.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');

export interface S3Server {
  endpoint: string; // http://127.0.0.1:<port>
  credentialsDir: string; // accessKeyId / secretAccessKey files, as the pod mounts them
  client(): S3Client;
  createBucket(bucket: string, publicRead?: boolean): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>; // SIGKILL: an outage, not a clean shutdown
  running(): boolean;
  close(): Promise<void>; // stop and delete the data
  log(): string;
}

/** Creates `bucket`; with publicRead, anonymous GET of its objects, so ffprobe can play a VOD over plain HTTP like a
 * CDN-fronted bucket. Idempotent, so a caller may retry it: an attempt whose answer was lost, or whose policy step
 * failed, has already created the bucket (a CI run retried into BucketAlreadyOwnedByYou for a minute). */
export async function createBucket(client: S3Client, bucket: string, options: { publicRead?: boolean } = {}) {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
  if (!options.publicRead) return;
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: ['*'] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
  await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
}

export async function minioBinary(): Promise<string> {
  if (process.env.LSO_MINIO_BIN) return process.env.LSO_MINIO_BIN;
  const { stdout } = await run(path.join(repo, 'hack/tools/build.sh'), ['minio'], {
    timeout: 40 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return path.join(stdout.trim(), 'minio');
}

export async function startS3Server(): Promise<S3Server> {
  const binary = await minioBinary();
  const root = await mkdtemp(path.join(tmpdir(), 'lso-minio-'));
  const dataDir = path.join(root, 'data');
  const credentialsDir = path.join(root, 'credentials');
  await mkdir(dataDir);
  await mkdir(credentialsDir);
  const accessKeyId = `test${Math.random().toString(36).slice(2, 10)}`;
  const secretAccessKey = `secret${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  await writeFile(path.join(credentialsDir, 'accessKeyId'), accessKeyId, { mode: 0o600 });
  await writeFile(path.join(credentialsDir, 'secretAccessKey'), secretAccessKey, { mode: 0o600 });
  const port = await pickFreePort();
  const consolePort = await pickFreePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const proc = spawn(
      binary,
      ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // Credentials by environment: not visible in `ps`.
        env: {
          PATH: process.env.PATH ?? '',
          HOME: root,
          MINIO_ROOT_USER: accessKeyId,
          MINIO_ROOT_PASSWORD: secretAccessKey,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
        },
      },
    );
    child = proc;
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    exited = new Promise((resolve) =>
      proc.once('close', () => {
        if (child === proc) child = undefined;
        resolve();
      }),
    );
    await waitFor(
      'MinIO to be ready',
      async () => {
        if (child !== proc) throw new Error(`minio exited: ${output.slice(-2000)}`);
        const res = await fetch(`${endpoint}/minio/health/ready`).catch(() => undefined);
        return res?.ok ?? false;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    proc.kill('SIGKILL');
    await exited;
    child = undefined;
  };

  const client = (): S3Client =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });

  await start();
  return {
    endpoint,
    credentialsDir,
    client,
    async createBucket(bucket, publicRead = false) {
      const c = client();
      try {
        await createBucket(c, bucket, { publicRead });
      } finally {
        c.destroy();
      }
    },
    start,
    stop,
    running: () => child !== undefined,
    async close() {
      await stop();
      await rm(root, { recursive: true, force: true });
    },
    log: () => output,
  };
}
