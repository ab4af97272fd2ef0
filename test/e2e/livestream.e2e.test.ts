// The whole product on a real node: the chart installed with helm, a LiveStream with three relays (RTMP receivers
// running as pods; two with keys, one keyless) and recording to MinIO running in the cluster, a real ffmpeg
// publisher sending 1280x720 into the LiveStream's Service (so the node encodes the lower rungs), hls.js in headless
// Chromium switching renditions, a NodePort channel published through its status URL, the finalize Job, a transcoder pod deleted mid-stream, a transcoder killed
// with SIGKILL (its session closed by the heartbeat TTL and still finalized), a relay whose key Secret is missing
// (the channel stays usable), and the deletion.
// Steps run in order and share the channel; each waits with a deadline and says what it waited for.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, onTestFailed } from 'vitest';
import { publicBucket, receiverFrames } from '../support/cluster-media.ts';
import { launchChromium } from '../support/chromium.ts';
import { ffprobe } from '../support/media-probe.ts';
import { channelStream, channelUser } from '../../contract/src/report-streams.ts';
import { keepPublishing, startPublisher } from '../support/rtmp-publisher.ts';
import { sleep, waitFor } from '../support/wait-for.ts';
import { useTestCluster } from '../support/test-namespace.ts';
import { lightGatewayValues, helm, installOperator } from '../../hack/stack/operator-install.ts';
import {
  liveStream,
  minioObjects,
  receiverObjects,
  receiverStreamName,
  stackImages,
} from '../../hack/stack/manifests.ts';

const run = promisify(execFile);
const cluster = useTestCluster('e2e');
const images = stackImages(inject('images'));
const operatorNamespace = 'livestream-system';
const release = 'lso';
const name = 'channel';
const receivers = ['receiver-a', 'receiver-b'];
// A relay without keySecretRef: its URL (with the stream name in it) is used as is.
const openReceiver = 'receiver-open';
const bucket = 'recordings';
const relayKeys = Object.fromEntries(receivers.map((r) => [r, `relay-${r}-${randomBytes(6).toString('hex')}`]));
const credentials = {
  accessKeyId: `e2e${randomBytes(4).toString('hex')}`,
  secretAccessKey: randomBytes(18).toString('hex'),
};

interface LiveStreamView {
  metadata: { uid: string };
  status?: {
    state?: string;
    session?: { id?: string };
    sessions?: { id: string; endedAt?: string; endReason?: string }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
    relays?: { name: string; state: string }[];
    ingest?: { url?: string; via?: string; serviceUrl?: string };
    playback?: { url?: string; serviceUrl?: string };
    recordings?: {
      session: string;
      state: string;
      segments?: number;
      message?: string;
      playlistUri?: string;
      mp4Uri?: string;
    }[];
  };
}

const kubectlJson = async <T>(args: string[]): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-n', cluster.namespace, '-o', 'json'])) as T;
const getLiveStream = () => kubectlJson<LiveStreamView>(['get', 'livestream', name]);
const serviceIp = async (service: string) =>
  (await cluster.kubectl(['get', 'svc', service, '-n', cluster.namespace, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
const untilState = (state: string, timeoutMs: number) =>
  waitFor(`LiveStream ${name} to be ${state}`, async () => (await getLiveStream()).status?.state === state, {
    timeoutMs,
    intervalMs: 500,
  });

/** The session's recording once Complete; while it is not, the recordings as status gives them are the error. */
const completeRecording = (session: string | undefined) =>
  waitFor(
    `the recording of session ${session} Complete in status.recordings`,
    async () => {
      const recordings = (await getLiveStream()).status?.recordings ?? [];
      const done = recordings.find((r) => r.session === session && r.state === 'Complete' && r.playlistUri);
      if (done) return done;
      const seen = recordings.map((r) => `${r.session} ${r.state} ${r.segments ?? '-'} ${r.message ?? ''}`);
      throw new Error(`recordings: ${seen.join('; ') || 'none'}`);
    },
    { timeoutMs: 180_000, intervalMs: 1_000 },
  );

let publisher: { stop: () => Promise<void> } | undefined;
let browser: Browser | undefined;
let s3: S3Client;
let minioUrl: string;
let vodUrl: string;

beforeAll(async () => {
  await installOperator({
    kubeconfig: cluster.kubeconfig,
    images,
    namespace: operatorNamespace,
    release,
    values: lightGatewayValues,
  });
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'relay-keys' }, stringData: relayKeys };
  const objects = [
    secret,
    ...minioObjects(images.minio, 's3-credentials', credentials),
    ...[...receivers, openReceiver].flatMap((r) => receiverObjects(r, images.transcoder)),
  ];
  await cluster.kubectl(
    ['apply', '-n', cluster.namespace, '-f', '-'],
    JSON.stringify({ kind: 'List', apiVersion: 'v1', items: objects }),
  );
  await cluster.kubectl([
    'wait',
    '-n',
    cluster.namespace,
    '--for=condition=Available',
    'deployment',
    '--all',
    '--timeout=180s',
  ]);
  minioUrl = `http://${await serviceIp('minio')}:9000`;
  s3 = await publicBucket(minioUrl, credentials, bucket);
});

afterAll(async () => {
  await publisher?.stop();
  await browser?.close();
  await helm(cluster.kubeconfig, ['uninstall', release, '--namespace', operatorNamespace]).catch(() => {});
});

/** What a failure needs explained: the LiveStream, its Jobs and pods, and the operator's and pods' last log lines. */
async function dumpDiagnostics(): Promise<void> {
  const ns = ['-n', cluster.namespace];
  const sections: [string, string[]][] = [
    ['livestream', ['get', 'livestream', name, ...ns, '-o', 'yaml']],
    ['jobs and pods', ['get', 'jobs,pods', ...ns, '-o', 'wide']],
    ['events', ['get', 'events', ...ns, '--sort-by=.lastTimestamp']],
    [
      'operator',
      ['logs', '-n', operatorNamespace, '-l', 'app.kubernetes.io/component=operator', '--tail=60', '--prefix'],
    ],
    [
      'transcoder',
      ['logs', ...ns, '-l', `app.kubernetes.io/instance=${name}`, '--all-containers', '--tail=40', '--prefix'],
    ],
  ];
  const finalizers = await cluster
    .kubectl(['get', 'pods', ...ns, '-l', 'app.kubernetes.io/component=recording-finalizer', '-o', 'name'])
    .catch(() => '');
  for (const pod of finalizers.split('\n').filter(Boolean)) sections.push([pod, ['logs', ...ns, pod, '--tail=40']]);
  for (const [title, args] of sections) {
    const out = await cluster.kubectl(args).catch((err: unknown) => String(err));
    process.stderr.write(`\n----- ${title}\n${out}\n`);
  }
}

beforeEach(() => {
  onTestFailed(dumpDiagnostics);
});

describe('a LiveStream on a real node', () => {
  it('runs its transcoder pod, goes Live when ffmpeg publishes into its Service, and shows in kubectl get', async () => {
    const ls = liveStream({
      name,
      namespace: cluster.namespace,
      receivers,
      relayKeysSecret: 'relay-keys',
      bucket,
      credentialsSecret: 's3-credentials',
      reconnectWindowSeconds: 5,
    }) as { spec: { relays: object[] } };
    ls.spec.relays.push({
      name: openReceiver,
      url: `rtmp://${openReceiver}.${cluster.namespace}.svc:1935/live/${receiverStreamName}`,
    });
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ls));
    await untilState('Idle', 180_000);
    const ip = await serviceIp(name);
    const keySecret = await kubectlJson<{ data: Record<string, string> }>(['get', 'secret', `${name}-stream-key`]);
    const key = Buffer.from(keySecret.data.streamKey ?? '', 'base64').toString();
    // 720p: the default ladder passes the top rung through and encodes 480p and 360p on the node. x264's ultrafast
    // keeps the publisher itself to a quarter of a core on the 2-core machine (veryfast takes 0.6).
    publisher = keepPublishing({
      url: `rtmp://${ip}:1935/live/${key}`,
      size: '1280x720',
      videoKbps: 2500,
      preset: 'ultrafast',
    });
    await untilState('Live', 60_000);
    const table = await cluster.kubectl(['get', 'livestreams', '-n', cluster.namespace]);
    expect(table).toMatch(new RegExp(`^${name}\\s+Live\\s+True\\s`, 'm'));
  });

  it('plays the master playlist from the Service with hls.js in headless Chromium for 10 s', async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`http://${await serviceIp(name)}:8080/`);
    await page.waitForFunction("document.querySelector('video').currentTime > 0", undefined, { timeout: 30_000 });
    const currentTime = () => page.evaluate<number>("document.querySelector('video').currentTime");
    const start = await currentTime();
    await sleep(10_000);
    expect((await currentTime()) - start).toBeGreaterThan(8);
    await page.close();
  });

  it('serves every rung at its own size, and hls.js switches to each rendition on request', async () => {
    const base = `http://${await serviceIp(name)}:8080/hls/`;
    const master = await (await fetch(`${base}master.m3u8`)).text();
    const variants = [...master.matchAll(/RESOLUTION=(\d+)x(\d+)[^\n]*\n([^\n#]+)/g)].map((m) => ({
      width: Number(m[1]),
      height: Number(m[2]),
      uri: (m[3] ?? '').trim(),
    }));
    // The 720p source: 720p passed through, 480p and 360p encoded on the node.
    expect(variants.map((v) => v.height).sort((a, b) => b - a)).toEqual([720, 480, 360]);
    for (const v of variants) {
      const probe = await ffprobe(new URL(v.uri, base).toString());
      const video = probe.streams.find((s) => s.codec_type === 'video');
      expect({ uri: v.uri, width: video?.width, height: video?.height }).toEqual(v);
    }
    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`http://${await serviceIp(name)}:8080/`);
    await page.waitForFunction("document.querySelectorAll('#quality option').length > 3", undefined, {
      timeout: 30_000,
    });
    // (Strings, not functions: this project's TypeScript has no DOM library.)
    const levels = await page.evaluate<{ value: string; label: string }[]>(
      "[...document.querySelectorAll('#quality option')].map((o) => ({ value: o.value, label: o.textContent })).filter((o) => o.value !== '-1')",
    );
    expect(levels).toHaveLength(3);
    const currentTime = () => page.evaluate<number>("document.querySelector('video').currentTime");
    // Each rendition chosen in the player's menu (hls.currentLevel): the picture it decodes is that rung's size. The
    // page restarts its player (menu back to Auto) after a fatal error, so the choice is made again until it holds.
    const playerState = () =>
      page.evaluate<{ height: number; playing: boolean; choice: string; info: string }>(
        "(() => { const v = document.querySelector('video'); return { height: v.videoHeight, playing: !v.paused && v.readyState >= 3, choice: document.querySelector('#quality').value, info: document.querySelector('#info').textContent }; })()",
      );
    for (const level of [...levels].reverse()) {
      const height = Number(/^(\d+)p/.exec(level.label)?.[1]);
      let last: Awaited<ReturnType<typeof playerState>> | undefined;
      await waitFor(
        `the player showing ${level.label}`,
        async () => {
          last = await playerState();
          if (last.choice !== level.value) await page.selectOption('#quality', level.value);
          return last.choice === level.value && last.height === height && last.playing;
        },
        { timeoutMs: 45_000, intervalMs: 500 },
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; player: ${JSON.stringify(last)}`);
      });
      const before = await currentTime();
      await sleep(2_000);
      expect((await currentTime()) - before, `${level.label} keeps playing`).toBeGreaterThan(1);
    }
    await page.close();
  });

  it('pushes the stream to every receiver, each with its own key, and to the keyless one by its URL', async () => {
    await waitFor(
      'all three relays Active',
      async () => {
        const relays = (await getLiveStream()).status?.relays ?? [];
        return [...receivers, openReceiver].every((r) => relays.find((x) => x.name === r)?.state === 'Active');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const r of receivers) {
      // ffmpeg names the stream it got when it differs from the placeholder it listens for: the relay's key.
      const keyed = `Unexpected stream ${relayKeys[r]}, expecting ${receiverStreamName}`;
      expect(await receiverFrames(cluster, r, { min: 90, logIncludes: keyed })).toBeGreaterThanOrEqual(90);
    }
    // The keyless relay publishes to the URL's own stream name, the one the receiver listens for.
    const frames = await receiverFrames(cluster, openReceiver, { min: 90 });
    expect(frames).toBeGreaterThanOrEqual(90);
  });

  it("gives the channel's pod a Redis credential that can only append to its own reports stream", async () => {
    // What the transcoder pod gets in <name>-redis, used from the host through the Redis Service's cluster IP.
    const secret = await kubectlJson<{ data: Record<string, string> }>(['get', 'secret', `${name}-redis`]);
    const url = new URL(Buffer.from(secret.data.url ?? '', 'base64').toString());
    expect(decodeURIComponent(url.username)).toBe(channelUser({ namespace: cluster.namespace, name }));
    const [service, serviceNamespace] = url.hostname.split('.');
    const ip = (
      await cluster.kubectl([
        'get',
        'svc',
        service ?? '',
        '-n',
        serviceNamespace ?? '',
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    const redis = new Redis({
      host: ip,
      port: Number(url.port || 6379),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      enableReadyCheck: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    try {
      await redis.connect();
      const own = channelStream({ namespace: cluster.namespace, name });
      const other = channelStream({ namespace: cluster.namespace, name: 'nodeport' });
      const attempts: [string, () => Promise<unknown>][] = [
        ['XADD to another channel', () => redis.xadd(other, '*', 'type', 'heartbeat')],
        ['XADD MAXLEN 0 to another channel', () => redis.xadd(other, 'MAXLEN', '0', '*', 'type', 'x')],
        ['XRANGE of its own stream', () => redis.xrange(own, '-', '+')],
        ['XTRIM of another channel', () => redis.xtrim(other, 'MAXLEN', 0)],
        ['DEL of another channel', () => redis.del(other)],
        ['KEYS', () => redis.keys('*')],
        ['ACL LIST', () => redis.call('ACL', 'LIST')],
      ];
      for (const [what, attempt] of attempts) await expect(attempt(), what).rejects.toThrow(/NOPERM/);
    } finally {
      redis.disconnect();
    }
  });

  it('comes back Live after its transcoder pod is deleted mid-stream (the publisher reconnects)', async () => {
    const selector = `app.kubernetes.io/instance=${name},app.kubernetes.io/component=transcoder`;
    const pods = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['get', 'pods', '-l', selector]);
    const old = pods.items.map((p) => p.metadata.name);
    expect(old).toHaveLength(1);
    const before = (await getLiveStream()).status?.session?.id;
    expect(before).toBeTruthy();
    await cluster.kubectl(['delete', 'pod', '-n', cluster.namespace, old[0] ?? '', '--wait=false']);
    await waitFor(
      'a new transcoder pod Ready',
      async () => {
        const now = await kubectlJson<{
          items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
        }>(['get', 'pods', '-l', selector]);
        return now.items.some(
          (p) =>
            !old.includes(p.metadata.name) &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    // The new pod starts a new session: Live with another session id is the publisher back on the new pod.
    await waitFor(
      'Live again in a new session',
      async () => {
        const status = (await getLiveStream()).status;
        return status?.state === 'Live' && status.session?.id !== undefined && status.session.id !== before;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });

  it('closes a session whose transcoder is killed with SIGKILL within the heartbeat TTL, and finalizes it', async () => {
    const session = await waitFor(
      'Live in a session',
      async () => {
        const status = (await getLiveStream()).status;
        return status?.state === 'Live' ? status.session?.id : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // A few segments uploaded first: the recording of a killed session is what was uploaded before the kill.
    await sleep(6_000);
    // The node's containers are host processes: the transcoder container's main process, killed as the OOM killer
    // would (no SIGTERM, no session-ended report, no ENDLIST).
    const selector = `app.kubernetes.io/instance=${name},app.kubernetes.io/component=transcoder`;
    const pods = await kubectlJson<{ items: { metadata: { uid: string }; status?: { phase?: string } }[] }>([
      'get',
      'pods',
      '-l',
      selector,
    ]);
    const uid = pods.items.find((p) => p.status?.phase === 'Running')?.metadata.uid ?? '';
    const { stdout } = await run('pgrep', ['-f', 'node transcoder/src/main.ts']);
    const inPod = async (pid: string) =>
      (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).includes(`pod${uid}`);
    const candidates = stdout.split('\n').filter(Boolean);
    const pids = (await Promise.all(candidates.map(async (pid) => ((await inPod(pid)) ? pid : undefined)))).filter(
      Boolean,
    );
    expect(uid).not.toBe('');
    expect(pids).toHaveLength(1);
    const killedAt = Date.now();
    await run('kill', ['-9', pids[0] ?? '']);
    const closed = await waitFor(
      `session ${session} closed in status.sessions`,
      async () => (await getLiveStream()).status?.sessions?.find((s) => s.id === session && s.endedAt),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const closedAfterMs = Date.now() - killedAt;
    process.stderr.write(`e2e: SIGKILLed session closed in status after ${closedAfterMs} ms\n`);
    expect(closed.endReason).toBe('TranscoderLost');
    expect(closedAfterMs).toBeLessThanOrEqual(15_000 + 5_000); // the heartbeat TTL plus 5 s
    const complete = await completeRecording(session);
    const url = (complete.playlistUri ?? '').replace(/^s3:\/\//, `${minioUrl}/`);
    const probe = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url]);
    expect(Number(probe.stdout.trim())).toBeGreaterThanOrEqual(2);
    // The container restarts in the same pod and the reconnecting publisher is Live again, in a new session.
    await waitFor(
      'Live again after the restart',
      async () => {
        const status = (await getLiveStream()).status;
        return status?.state === 'Live' && status.session?.id !== session;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  });

  it('goes Idle when the publisher stops, runs a finalize Job, and lists a VOD that plays', async () => {
    const session = (await getLiveStream()).status?.session?.id;
    expect(session).toBeTruthy();
    // A few segments' worth, as a broadcast has: a publish cut within its first second leaves nothing to record.
    await sleep(6_000);
    await publisher?.stop();
    publisher = undefined;
    await untilState('Idle', 60_000);
    const complete = await completeRecording(session);
    const jobs = await kubectlJson<{ items: { status?: { succeeded?: number } }[] }>([
      'get',
      'jobs',
      '-l',
      `app.kubernetes.io/instance=${name}`,
    ]);
    // One finalize Job per session: the one the pod deletion ended and the one the publisher ended.
    expect(jobs.items.filter((j) => (j.status?.succeeded ?? 0) >= 1).length).toBeGreaterThanOrEqual(2);
    vodUrl = (complete.playlistUri ?? '').replace(/^s3:\/\//, `${minioUrl}/`);
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      vodUrl,
    ]);
    // At least one whole 2 s segment of the session (how many depends on where the keyframes fell).
    expect(Number(stdout.trim())).toBeGreaterThanOrEqual(2);
  });

  it('publishes a NodePort channel through the Service URL its status gives, and plays it from its playback URL', async () => {
    const other = 'nodeport';
    const ls = {
      apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
      kind: 'LiveStream',
      metadata: { name: other, namespace: cluster.namespace },
      spec: { ladder: { preset: '360p' }, ingest: { serviceType: 'NodePort' } },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ls));
    const get = () => kubectlJson<LiveStreamView>(['get', 'livestream', other]);
    const idle = await waitFor(
      `LiveStream ${other} Idle`,
      async () => ((await get()).status?.state === 'Idle' ? (await get()).status : undefined),
      {
        timeoutMs: 180_000,
        intervalMs: 1_000,
      },
    );
    const svc = await kubectlJson<{ spec: { ports: { name: string; nodePort: number }[] } }>(['get', 'svc', other]);
    const nodePort = (port: string) => svc.spec.ports.find((p) => p.name === port)?.nodePort;
    // With the gateway installed, a NodePort channel is reached both ways (via unset means Both): url is the
    // gateway's, serviceUrl names the node's address and the channel's node ports, not the Service's ports.
    expect(idle.ingest?.via).toBe('Both');
    expect(idle.ingest?.url).toBe(`rtmp://${release}-livestream-operator-gateway.${operatorNamespace}.svc:1935/live`);
    expect(idle.ingest?.serviceUrl).toMatch(new RegExp(`^rtmp://[^/:]+:${nodePort('rtmp')}/live$`));
    expect(idle.playback?.serviceUrl).toMatch(new RegExp(`^http://[^/:]+:${nodePort('http')}/`));
    const keySecret = await kubectlJson<{ data: Record<string, string> }>(['get', 'secret', `${other}-stream-key`]);
    const key = Buffer.from(keySecret.data.streamKey ?? '', 'base64').toString();
    const encoder = startPublisher({ url: `${idle.ingest?.serviceUrl}/${key}` });
    try {
      await waitFor(`LiveStream ${other} Live`, async () => (await get()).status?.state === 'Live', {
        timeoutMs: 60_000,
        intervalMs: 500,
      });
      const playback = (await get()).status?.playback?.serviceUrl ?? '';
      const master = await waitFor(
        'the master playlist at the playback URL',
        async () => {
          const res = await fetch(playback);
          return res.ok ? await res.text() : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1_000 },
      );
      expect(master).toContain('#EXT-X-STREAM-INF');
    } finally {
      await encoder.stop();
      await cluster.kubectl(['delete', 'livestream', other, '-n', cluster.namespace, '--wait=false']);
    }
  });

  it('keeps a LiveStream whose relay key Secret is missing Idle, with RelaysHealthy=False naming the Secret', async () => {
    const other = 'no-relay-key';
    const ls = {
      apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
      kind: 'LiveStream',
      metadata: { name: other, namespace: cluster.namespace },
      spec: {
        ladder: { preset: '360p' },
        relays: [{ name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt-key-absent' } }],
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ls));
    const status = await waitFor(
      `LiveStream ${other} Idle`,
      async () => {
        const got = await kubectlJson<LiveStreamView>(['get', 'livestream', other]);
        return got.status?.state === 'Idle' ? got.status : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    const relays = status.conditions?.find((c) => c.type === 'RelaysHealthy');
    expect(relays?.status).toBe('False');
    expect(relays?.message).toContain('yt-key-absent');
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    await cluster.kubectl(['delete', 'livestream', other, '-n', cluster.namespace, '--wait=false']);
  });

  it('deletes every child with the LiveStream and keeps the recording in S3', async () => {
    const { uid } = (await getLiveStream()).metadata;
    await cluster.kubectl(['delete', 'livestream', name, '-n', cluster.namespace, '--timeout=120s']);
    const kinds = 'deployments,replicasets,pods,services,configmaps,secrets,jobs';
    await waitFor(
      'no object owned by the LiveStream, and no transcoder pod',
      async () => {
        const all = await kubectlJson<{ items: { metadata: { ownerReferences?: { uid: string }[] } }[] }>([
          'get',
          kinds,
        ]);
        const owned = all.items.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid));
        const pods = await cluster.kubectl([
          'get',
          'pods',
          '-n',
          cluster.namespace,
          '-l',
          `app.kubernetes.io/instance=${name}`,
          '-o',
          'name',
        ]);
        return owned.length === 0 && pods.trim() === '';
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'e2e/' }));
    expect(listed.KeyCount ?? 0).toBeGreaterThan(0);
    await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', vodUrl]);
  });
});
