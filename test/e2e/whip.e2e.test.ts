// Going live from a browser on a real node: the chart installed with its gateway, a LiveStream with a relay (an RTMP
// receiver pod) and recording to MinIO in the cluster, and Chromium with a fake camera and microphone publishing
// over WHIP from the channel's studio page at the gateway's Service. The LiveStream goes Live (timed from the key's
// Enter to the status), a second page plays its HLS through the gateway, the relay pushes the WHIP session to the
// receiver and its recording completes in S3; closing the publishing tab turns the channel Reconnecting, then Idle
// once the reconnect window ends, through the operator; a wrong key is refused (401) and a second publisher (409).
// Runs after livestream.e2e.test.ts (test/support/e2e-sequencer.ts), whose release installs the CRD.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, onTestFailed } from 'vitest';
import { helm, installOperator, lightGatewayValues } from '../../hack/stack/operator-install.ts';
import { liveStream, minioObjects, receiverObjects, stackImages } from '../../hack/stack/manifests.ts';
import { launchChromium } from '../support/chromium.ts';
import { ffprobe } from '../support/media-probe.ts';
import { publicBucket, receiverFrames } from '../support/cluster-media.ts';
import { useTestCluster } from '../support/test-namespace.ts';
import { sleep, waitFor } from '../support/wait-for.ts';

const run = promisify(execFile);
const cluster = useTestCluster('e2e-whip');
const images = stackImages(inject('images'));
const operatorNamespace = 'livestream-whip';
const release = 'lso-whip';
const gatewayService = `${release}-livestream-operator-gateway`;
const name = 'studio';
const receiver = 'receiver-whip';
const bucket = 'whip-recordings';
const reconnectWindowSeconds = 10;
const credentials = {
  accessKeyId: `whip${randomBytes(4).toString('hex')}`,
  secretAccessKey: randomBytes(18).toString('hex'),
};

interface View {
  status?: {
    state?: string;
    session?: { id?: string };
    relays?: { name: string; state: string }[];
    recordings?: { session: string; state: string; playlistUri?: string }[];
  };
}

const kubectlJson = async <T>(args: string[], namespace = cluster.namespace): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-n', namespace, '-o', 'json'])) as T;
const get = () => kubectlJson<View>(['get', 'livestream', name]);
const untilState = (state: string, timeoutMs: number, intervalMs = 500) =>
  waitFor(`LiveStream ${name} ${state}`, async () => ((await get()).status?.state === state ? get() : undefined), {
    timeoutMs,
    intervalMs,
  });
const clusterIp = async (service: string, namespace = cluster.namespace) =>
  (await cluster.kubectl(['get', 'svc', service, '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])).trim();

let browser: Browser;
let studio: Page;
let gatewayBase: string;
let minioUrl: string;
let key: string;
let session: string | undefined;

// Polled with evaluate: waitForFunction's string predicates are eval()ed in the page, which its CSP forbids.
const until = (page: Page, expression: string, timeoutMs: number) =>
  waitFor(expression, () => page.evaluate<unknown>(expression).then(Boolean), { timeoutMs, intervalMs: 100 });
const pageState = (page: Page) => page.evaluate<string>(`document.getElementById('state').dataset.state`);
const pageMessage = (page: Page) => page.evaluate<string>(`document.getElementById('message').textContent`);

async function openStudio(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1024, height: 760 } });
  await page.goto(`${gatewayBase}/${cluster.namespace}/${name}/studio`);
  await until(page, `document.getElementById('main').dataset.studio === 'ready'`, 15_000);
  return page;
}
async function goLive(page: Page, streamKey: string): Promise<void> {
  await page.fill('#key', streamKey);
  await page.keyboard.press('Enter');
}

beforeAll(async () => {
  await installOperator({
    kubeconfig: cluster.kubeconfig,
    images,
    namespace: operatorNamespace,
    release,
    values: [...lightGatewayValues, 'crds.enabled=false'],
  });
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'relay-keys' },
      stringData: { [receiver]: `relay-${randomBytes(6).toString('hex')}` },
    },
    ...minioObjects(images.minio, 's3-credentials', credentials),
    ...receiverObjects(receiver, images.transcoder),
    liveStream({
      name,
      namespace: cluster.namespace,
      receivers: [receiver],
      relayKeysSecret: 'relay-keys',
      bucket,
      credentialsSecret: 's3-credentials',
      reconnectWindowSeconds,
    }),
  ];
  await cluster.kubectl(
    ['apply', '-n', cluster.namespace, '-f', '-'],
    JSON.stringify({ kind: 'List', apiVersion: 'v1', items: objects }),
  );
  await cluster.kubectl(['wait', '-n', cluster.namespace, '--for=condition=Available', 'deployment', '--all']);
  minioUrl = `http://${await clusterIp('minio')}:9000`;
  await publicBucket(minioUrl, credentials, bucket);
  await untilState('Idle', 180_000);
  const secret = await kubectlJson<{ data: Record<string, string> }>(['get', 'secret', `${name}-stream-key`]);
  key = Buffer.from(secret.data.streamKey ?? '', 'base64').toString();
  gatewayBase = `http://${await clusterIp(gatewayService, operatorNamespace)}:80`;
  // getUserMedia needs a secure context: a real studio is served over HTTPS (gateway.tls); this one is plain HTTP on
  // a cluster IP, so Chromium is told to treat that one origin as secure.
  browser = await launchChromium([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--unsafely-treat-insecure-origin-as-secure=${gatewayBase}`,
  ]);
  // The gateway learns the channel from the operator's route table: the studio page answers once it has.
  await waitFor(
    'the studio page at the gateway',
    async () => (await fetch(`${gatewayBase}/${cluster.namespace}/${name}/studio`)).status === 200,
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
  studio = await openStudio();
});

afterAll(async () => {
  await browser?.close();
  await helm(cluster.kubeconfig, ['uninstall', release, '--namespace', operatorNamespace]).catch(() => {});
});

beforeEach(() => {
  onTestFailed(async () => {
    for (const args of [
      ['get', 'livestreams,pods', '-n', cluster.namespace, '-o', 'wide'],
      ['logs', '-n', operatorNamespace, '-l', 'app.kubernetes.io/component=gateway', '--tail=40', '--prefix'],
      ['logs', '-n', operatorNamespace, '-l', 'app.kubernetes.io/component=operator', '--tail=40', '--prefix'],
      ['logs', '-n', cluster.namespace, '-l', `app.kubernetes.io/instance=${name}`, '--tail=40', '--prefix'],
    ]) {
      process.stderr.write(`\n----- ${args.join(' ')}\n${await cluster.kubectl(args).catch(String)}\n`);
    }
    process.stderr.write(
      `\n----- studio page: ${await pageState(studio).catch(String)} ${await pageMessage(studio).catch(String)}\n`,
    );
  });
});

describe('WHIP publishing from the studio page on a real node', () => {
  it('refuses a wrong key with the 401 message, and the channel stays Idle', async () => {
    await goLive(studio, `wrong-${randomBytes(8).toString('hex')}`);
    await until(studio, `document.getElementById('message').textContent.includes('Wrong stream key')`, 20_000);
    expect(await pageState(studio)).toBe('stopped');
    expect((await get()).status?.state).toBe('Idle');
  });

  it('goes Live within 5 s of the key entered, through the gateway pod to the transcoder pod', async () => {
    const started = Date.now();
    await goLive(studio, key);
    const live = await untilState('Live', 30_000, 200);
    const liveMs = Date.now() - started;
    console.log(`whip e2e: LiveStream Live ${liveMs} ms after the key was entered`);
    session = live.status?.session?.id;
    expect(session).toBeTruthy();
    expect(await pageState(studio)).toBe('live');
    expect(liveMs).toBeLessThanOrEqual(5_000);
  });

  it('plays its HLS through the gateway in a second Chromium page', async () => {
    const viewer = await browser.newPage({ viewport: { width: 800, height: 600 } });
    await viewer.goto(`${gatewayBase}/${cluster.namespace}/${name}/`);
    const video = `document.getElementById('video')`;
    await until(viewer, `${video}.readyState >= 3 && ${video}.currentTime > 2 && ${video}.videoWidth > 0`, 60_000);
    await viewer.close();
  });

  it('refuses a second publisher with 409 at the replica holding the session', async () => {
    // One publisher per channel: the replica holding the WHIP session answers 409 before it looks at the offer (a
    // second publisher reaching the other replica is refused by the transcoder, as over RTMP).
    const pods = await kubectlJson<{ items: { status?: { podIP?: string } }[] }>(
      ['get', 'pods', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=gateway`],
      operatorNamespace,
    );
    const sample = async (ip: string) => {
      const text = await (await fetch(`http://${ip}:8080/metrics`)).text();
      return Number(/^livestream_gateway_whip_sessions (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const ips = pods.items.flatMap((p) => p.status?.podIP ?? []);
    const holders = [];
    for (const ip of ips) if ((await sample(ip)) === 1) holders.push(ip);
    expect(holders).toHaveLength(1);
    const res = await fetch(`http://${holders[0]}:8080/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: 'v=0\r\n',
    });
    expect(res.status).toBe(409);
  });

  it('relays the WHIP session to the receiver', async () => {
    await waitFor(
      'the relay Active',
      async () => (await get()).status?.relays?.find((r) => r.name === receiver)?.state === 'Active',
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const frames = await receiverFrames(cluster, receiver, { min: 90 });
    expect(frames).toBeGreaterThanOrEqual(90);
  });

  it('closing the publishing tab: Reconnecting, then Idle after the window, and the recording completes', async () => {
    await studio.close({ runBeforeUnload: true });
    const closedAt = Date.now();
    await untilState('Reconnecting', 20_000, 250);
    await untilState('Idle', (reconnectWindowSeconds + 30) * 1000);
    const idleAfterS = (Date.now() - closedAt) / 1000;
    expect(idleAfterS).toBeGreaterThanOrEqual(reconnectWindowSeconds - 1);
    const complete = await waitFor(
      `the recording of session ${session} Complete`,
      async () =>
        (await get()).status?.recordings?.find((r) => r.session === session && r.state === 'Complete' && r.playlistUri),
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    const vod = (complete.playlistUri ?? '').replace(/^s3:\/\//, `${minioUrl}/`);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', vod]);
    expect(Number(stdout.trim())).toBeGreaterThanOrEqual(2);
    const probe = await ffprobe(vod);
    expect(probe.streams.some((s) => s.codec_type === 'video' && s.codec_name === 'h264')).toBe(true);
    expect(probe.streams.some((s) => s.codec_type === 'audio' && s.codec_name === 'aac')).toBe(true);
    // The page is gone for good: nothing is left publishing.
    await sleep(2_000);
    expect((await get()).status?.state).toBe('Idle');
  });
});
