// The VOD route on the real gateway process, in front of a real MinIO holding a real MP4 (ffmpeg, a few seconds):
// a listing pushed as the operator pushes it, with a presigned GET of the object signed as the operator signs it
// (SigV4 query, the bucket private). ffprobe reads the recording through the gateway; a Range request gets 206 with
// the exact bytes; a password channel's recording needs its session as its media does; no vod is a 404.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelListing, ChannelVod } from '../../../contract/src/portal-directory.ts';
import { hashViewerPassword } from '../../../contract/src/viewer-password.ts';
import { startGatewayProcess, type GatewayProcess } from '../../../test/support/gateway-process.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startS3Server, type S3Server } from '../../../test/support/s3-server.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { vodPath } from './vod.ts';

const run = promisify(execFile);
const ns = 'vod-test';
const bucket = 'recordings';
const key = `${ns}/show/s1/recording.mp4`;
let s3: S3Server;
let gateway: GatewayProcess;
let dir: string;
let mp4: Buffer;
let sequence = 0;

const listing = (name: string, over: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: ns,
  name,
  title: name,
  visibility: 'public',
  state: 'Idle',
  lastEndedAt: '2026-12-02T12:00:00Z',
  viewers: 0,
  ...over,
});
const url = (p: string) => `http://127.0.0.1:${gateway.httpPort}${p}`;

async function presigned(): Promise<ChannelVod> {
  const client = s3.client();
  try {
    const signed = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 600 });
    return {
      session: 's1',
      url: signed,
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      contentType: 'video/mp4',
    };
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vod-int-'));
  const file = path.join(dir, 'recording.mp4');
  await run('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15:duration=3'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3'],
    ...[
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-movflags',
      '+faststart',
      file,
    ],
  ]);
  mp4 = await readFile(file);
  s3 = await startS3Server();
  await s3.createBucket(bucket);
  const client = s3.client();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: mp4, ContentType: 'video/mp4' }));
  client.destroy();
  const passwordHash = await hashViewerPassword('letmein', Buffer.alloc(16, 7));
  const route = (name: string) => ({ key: `k-${name}`, namespace: ns, name, rtmp: '127.0.0.1:1', http: '127.0.0.1:1' });
  gateway = await startGatewayProcess({ routes: [] });
  await gateway.writeRoutes(
    [route('show'), route('members'), route('plain')],
    [{ namespace: ns, name: 'members', visibility: 'password', passwordHash }],
  );
  const vod = await presigned();
  const { status } = await gateway.pushDirectory({
    generation: 'vod-int',
    sequence: ++sequence,
    reset: true,
    upserts: [listing('show', { vod }), listing('members', { visibility: 'password', vod }), listing('plain')],
    deletes: [],
  });
  expect(status).toBe(200);
  await waitFor('the access rules to load', async () => (await fetch(url(`/${ns}/members/vod.mp4`))).status === 403);
}, 240_000);

afterAll(async () => {
  await gateway?.close();
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('GET /<ns>/<name>/vod.mp4', () => {
  it('serves the recording whole, and ffprobe plays it through the gateway', async () => {
    const res = await fetch(url(vodPath(listing('show', { vod: await presigned() }))!));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(Number(res.headers.get('content-length'))).toBe(mp4.length);
    expect(Buffer.from(await res.arrayBuffer()).equals(mp4)).toBe(true);
    const probe = await ffprobe(url(`/${ns}/show/vod.mp4`));
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Number(probe.format.duration)).toBeGreaterThan(2.5);
  });

  it('passes a Range through: 206 with the exact bytes and content-range; HEAD has the headers only', async () => {
    const res = await fetch(url(`/${ns}/show/vod.mp4`), { headers: { range: 'bytes=100-1123' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 100-1123/${mp4.length}`);
    expect(res.headers.get('content-length')).toBe('1024');
    expect(Buffer.from(await res.arrayBuffer()).equals(mp4.subarray(100, 1124))).toBe(true);
    const tail = await fetch(url(`/${ns}/show/vod.mp4`), { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(mp4.subarray(mp4.length - 10))).toBe(true);
    const past = await fetch(url(`/${ns}/show/vod.mp4`), { headers: { range: `bytes=${mp4.length + 10}-` } });
    expect(past.status).toBe(416);
    await past.body?.cancel();
    const head = await fetch(url(`/${ns}/show/vod.mp4`), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(mp4.length);
  });

  it("needs a protected channel's session, as its media does; the presigned URL is never shown", async () => {
    const refused = await fetch(url(`/${ns}/members/vod.mp4`));
    expect(refused.status).toBe(403);
    const refusal = await refused.text();
    expect(refusal).not.toContain('X-Amz');
    expect((await fetch(url(`/${ns}/members/vod.mp4?session=forged`))).status).toBe(403);
    const opened = await fetch(url(`/${ns}/members/session`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'letmein' }),
    });
    const { session } = (await opened.json()) as { session: string };
    const res = await fetch(url(`/${ns}/members/vod.mp4?session=${encodeURIComponent(session)}`), {
      headers: { range: 'bytes=0-99' },
    });
    expect(res.status).toBe(206);
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    expect(Buffer.from(await res.arrayBuffer()).equals(mp4.subarray(0, 100))).toBe(true);
  });

  it('is a 404 for a channel without a recording, and for one not listed', async () => {
    expect((await fetch(url(`/${ns}/plain/vod.mp4`))).status).toBe(404);
    expect((await fetch(url(`/${ns}/nobody/vod.mp4`))).status).toBe(404);
    expect((await fetch(url(`/${ns}/show/vod.mp4`), { method: 'POST' })).status).toBe(405);
  });

  it('a URL S3 refuses (a bad signature) is a 502, not its body', async () => {
    const vod = await presigned();
    const { status } = await gateway.pushDirectory({
      generation: 'vod-int',
      sequence: ++sequence,
      reset: false,
      upserts: [
        listing('show', { vod: { ...vod, url: vod.url.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=00') } }),
      ],
      deletes: [],
    });
    expect(status).toBe(200);
    const res = await fetch(url(`/${ns}/show/vod.mp4`));
    expect(res.status).toBe(502);
    expect(await res.text()).not.toMatch(/X-Amz|SignatureDoesNotMatch/);
  });
});
