// The gateway on a real node: the chart installed with its gateway (two replicas, a NodePort Service), three
// channels published by real ffmpeg encoders to the one ingest address their status gives, each with its own stream
// key, and played through the one playback origin: every channel reaches its own transcoder (each publishes another
// picture size, so a mix-up shows), a wrong key is refused and counted, hls.js in Chromium plays a channel from the
// gateway on another origin (CORS) and is counted as its viewer in status, a transcoder pod replaced mid-stream and
// a gateway replica killed mid-stream are both survived by the encoders' reconnects, a rotated key is taken at once
// and the old one refused at the gateway after its grace, and the routes endpoint lists the channels for the
// admin token only; the portal at the gateway's root lists the public live channels by title (not an unlisted one),
// and a private channel plays only with a playback token signed by the key the operator made.
// A real Prometheus (the pinned module's server) scrapes the release's pods as the chart's PodMonitors select them:
// every dashboard panel has data while the channels are live, and the gateway and channel alerts fire on faults.
// Runs after livestream.e2e.test.ts (test/support/e2e-sequencer.ts), whose release installs the CRD.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, onTestFailed } from 'vitest';
import { adminRoutesPath, type RoutesAnswer } from '../../contract/src/gateway-admin.ts';
import { mintPlaybackToken } from '../../contract/src/playback-token.ts';
import {
  dashboardQueries,
  readDashboards,
  renderChart,
  rulesPath,
  toolBuildTimeoutMs,
  toPromQL,
} from '../../charts/tests/chart-tools.ts';
import { helm, installOperator, nodeGatewayValues } from '../../hack/stack/operator-install.ts';
import { stackImages } from '../../hack/stack/manifests.ts';
import { launchChromium } from '../support/chromium.ts';
import { type PrometheusProcess, startPrometheus } from '../support/prometheus-process.ts';
import { chartScrapeConfigs, type RuleGroups, shortenedRules } from '../support/prometheus-scrape-config.ts';
import { ffprobe } from '../support/media-probe.ts';
import { keepPublishing, publishRefused, startPublisher } from '../support/rtmp-publisher.ts';
import { useTestCluster } from '../support/test-namespace.ts';
import { sleep, waitFor } from '../support/wait-for.ts';

const cluster = useTestCluster('e2e-gateway');
const images = stackImages(inject('images'));
const operatorNamespace = 'livestream-gateway';
const release = 'lso-gw';
const gatewayName = `${release}-livestream-operator-gateway`;
const gatewaySelector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=gateway`;
const graceSeconds = 20;

/** Three channels, each publishing its own picture size; `radio` takes its key from a Secret of the user's. */
const channels = [
  { name: 'news', size: '640x360', app: 'live' },
  { name: 'sport', size: '480x270', app: 'studio' },
  { name: 'radio', size: '320x180', app: 'live', keySecret: 'radio-key' },
] as const;
type Channel = (typeof channels)[number];
const radioKeys = { old: `old-${randomBytes(12).toString('hex')}`, new: `new-${randomBytes(12).toString('hex')}` };

interface View {
  status?: {
    state?: string;
    viewers?: number;
    session?: { id?: string };
    ingest?: { url?: string; via?: string; serviceUrl?: string; previousKeyExpiresAt?: string };
    playback?: { url?: string };
  };
}
interface PodList {
  items: {
    metadata: { name: string };
    status?: { podIP?: string; conditions?: { type: string; status: string }[] };
  }[];
}

const kubectlJson = async <T>(args: string[], namespace = cluster.namespace): Promise<T> =>
  JSON.parse(await cluster.kubectl([...args, '-n', namespace, '-o', 'json'])) as T;
const get = (name: string) => kubectlJson<View>(['get', 'livestream', name]);
const untilState = (name: string, state: string, timeoutMs: number) =>
  waitFor(
    `LiveStream ${name} ${state}`,
    async () => ((await get(name)).status?.state === state ? get(name) : undefined),
    {
      timeoutMs,
      intervalMs: 500,
    },
  );
const secretValue = async (name: string, key: string, namespace = cluster.namespace) =>
  Buffer.from(
    (await kubectlJson<{ data: Record<string, string> }>(['get', 'secret', name], namespace)).data[key] ?? '',
    'base64',
  ).toString();
const ready = (p: PodList['items'][number]) =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const gatewayPods = async () =>
  (await kubectlJson<PodList>(['get', 'pods', '-l', gatewaySelector], operatorNamespace)).items;
/** A sample of one gateway replica's /metrics (the pod IPs are reachable from the node). */
async function podSample(pod: PodList['items'][number], series: string): Promise<number> {
  const text = await (await fetch(`http://${pod.status?.podIP}:8080/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ').pop() ?? 0);
}
/** A counter summed over every ready gateway replica. */
async function gatewayCounter(metric: string, labels: string): Promise<number> {
  let sum = 0;
  for (const pod of (await gatewayPods()).filter(ready)) sum += await podSample(pod, `${metric}{${labels}}`);
  return sum;
}

const ingestUrls = new Map<string, string>();
const keys = new Map<string, string>();
const encoders = new Map<string, ReturnType<typeof keepPublishing>>();
let browser: Browser | undefined;
let prometheus: PrometheusProcess | undefined;

/** Whether a publish with `key` at `url` is refused: ffmpeg exits on its own within the wait. */
const refused = (url: string, key: string): Promise<boolean> =>
  publishRefused(() => startPublisher({ url: `${url}/${key}`, size: '320x180', preset: 'ultrafast' }));
const publish = (c: Channel) =>
  keepPublishing({
    url: `${ingestUrls.get(c.name)}/${keys.get(c.name)}`,
    size: c.size,
    videoKbps: 500,
    preset: 'ultrafast',
  });
const allLive = () =>
  waitFor(
    'every channel Live',
    async () =>
      (await Promise.all(channels.map(async (c) => (await get(c.name)).status?.state))).every((s) => s === 'Live'),
    { timeoutMs: 90_000, intervalMs: 1_000 },
  );

/**
 * Dashboard panels that have no series in this e2e, with why. Every other panel query must return a sample.
 * Matched by panel title (the same title in both dashboards means the same metric family).
 */
const panelsWithoutData: Record<string, string> = {
  'Relays by state': 'no relay in this e2e',
  'Relays not Active': 'no relay in this e2e',
  'Relay output by stream': 'no relay in this e2e',
  'Relay state': 'no relay in this e2e',
  'Relay output': 'no relay in this e2e',
  'Relay restarts': 'no relay in this e2e',
  'Spool backlog by stream': 'no recording in this e2e',
  'Segments dropped (1h)': 'no recording in this e2e',
  'ffmpeg restarts (1h)': '`> 0`: no ffmpeg has restarted',
  'Publishes refused by reason': "the transcoders' own refusals: wrong keys are refused by the gateway first",
  'Publishes refused': "the transcoders' own refusals: wrong keys are refused by the gateway first",
  'Sessions ended by reason (per day)': 'no session has ended yet at this step',
};
/** A panel query as Grafana would send it for the stream dashboard on `news`, with windows fit for 1 s scrapes. */
const livePromQL = (expr: string, namespace: string): string =>
  toPromQL(
    expr
      .replaceAll('$namespace', namespace)
      .replaceAll('$livestream', 'news')
      .replaceAll('$__rate_interval', '2m')
      .replaceAll('$__interval', '5s')
      .replaceAll('$__range', '5m'),
  );
const firing = async (alert: string, labels: Record<string, string>) =>
  (await prometheus?.alerts())?.find(
    (a) =>
      a.labels.alertname === alert &&
      a.state === 'firing' &&
      Object.entries(labels).every(([k, v]) => a.labels[k] === v),
  );

beforeAll(async () => {
  await installOperator({
    kubeconfig: cluster.kubeconfig,
    images,
    namespace: operatorNamespace,
    release,
    values: [...nodeGatewayValues, 'crds.enabled=false'],
  });
  await cluster.kubectl(
    ['apply', '-n', cluster.namespace, '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'radio-key' },
      stringData: { streamKey: radioKeys.old },
    }),
  );
});

// A real Prometheus on the host scraping this release's pods as the chart's PodMonitors select them (rendered with
// the same release and namespace), evaluating the chart's alerts with `for:` shortened to 4 s.
beforeAll(async () => {
  const monitors = await renderChart(
    {
      monitoring: {
        operator: { podMonitor: { enabled: true }, serviceMonitor: { enabled: false } },
        transcoders: { podMonitor: { enabled: true } },
        gateway: { podMonitor: { enabled: true } },
      },
    },
    { release, namespace: operatorNamespace },
  );
  const rules = parse(await readFile(rulesPath, 'utf8')) as RuleGroups;
  prometheus = await startPrometheus({
    interval: '1s',
    scrapeConfigs: chartScrapeConfigs(monitors, { kubeconfigFile: cluster.kubeconfig, interval: '1s' }),
    rules: shortenedRules(rules, '4s'),
  });
}, toolBuildTimeoutMs);

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all([...encoders.values()].map((e) => e.stop()));
  await browser?.close();
  await helm(cluster.kubeconfig, ['uninstall', release, '--namespace', operatorNamespace]).catch(() => {});
});

beforeEach(() => {
  onTestFailed(async () => {
    for (const args of [
      ['get', 'livestreams,pods', '-n', cluster.namespace, '-o', 'wide'],
      ['get', 'pods', '-n', operatorNamespace, '-o', 'wide'],
      ['logs', '-n', operatorNamespace, '-l', gatewaySelector, '--tail=40', '--prefix'],
      ['logs', '-n', operatorNamespace, '-l', 'app.kubernetes.io/component=operator', '--tail=40', '--prefix'],
    ]) {
      process.stderr.write(`\n----- ${args.join(' ')}\n${await cluster.kubectl(args).catch(String)}\n`);
    }
  });
});

describe('the gateway on a real node', () => {
  it('gives three channels one ingest address and one playback origin, each routed to its own transcoder', async () => {
    for (const c of channels) {
      const spec = {
        ladder: { preset: '360p' },
        ingest: { app: c.app },
        // The node has 2 cores: the passed-through sources need little, so the pods ask for little.
        resources: { requests: { cpu: '100m', memory: '256Mi' } },
        ...('keySecret' in c
          ? { streamKey: { secretRef: { name: c.keySecret }, rotationGracePeriod: `${graceSeconds}s` } }
          : {}),
      };
      const ls = { apiVersion: 'streaming.livestream-operator.dev/v1alpha1', kind: 'LiveStream', metadata: { name: c.name, namespace: cluster.namespace }, spec }; // prettier-ignore
      await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ls));
    }
    const gatewayService = await kubectlJson<{ spec: { ports: { name: string; nodePort: number }[] } }>(
      ['get', 'svc', gatewayName],
      operatorNamespace,
    );
    const rtmpNodePort = gatewayService.spec.ports.find((p) => p.name === 'rtmp')?.nodePort;
    const httpNodePort = gatewayService.spec.ports.find((p) => p.name === 'http')?.nodePort;
    for (const c of channels) {
      const idle = (await untilState(c.name, 'Idle', 240_000)).status;
      expect(idle?.ingest?.via).toBe('Gateway');
      expect(idle?.ingest?.serviceUrl).toBeUndefined();
      // The node's address and the gateway's node ports: the same server for every channel but for the app.
      expect(idle?.ingest?.url).toMatch(new RegExp(`^rtmp://[^/:]+:${rtmpNodePort}/${c.app}$`));
      expect(idle?.playback?.url).toMatch(
        new RegExp(`^http://[^/:]+:${httpNodePort}/${cluster.namespace}/${c.name}/master\\.m3u8$`),
      );
      ingestUrls.set(c.name, idle?.ingest?.url ?? '');
      keys.set(c.name, 'keySecret' in c ? radioKeys.old : await secretValue(`${c.name}-stream-key`, 'streamKey'));
    }
    for (const c of channels) encoders.set(c.name, publish(c));
    await allLive();
    // Each channel's playlist, through the gateway, carries its own encoder's picture.
    for (const c of channels) {
      const playback = (await get(c.name)).status?.playback?.url ?? '';
      const probe = await waitFor(
        `${c.name} playable through the gateway`,
        async () => {
          const p = await ffprobe(playback).catch(() => undefined);
          return p?.streams.some((s) => s.codec_type === 'video') ? p : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 2_000 },
      );
      const widths = probe.streams.filter((s) => s.codec_type === 'video').map((s) => s.width ?? 0);
      expect(Math.max(...widths), `${c.name}'s top rendition`).toBe(Number(c.size.split('x')[0]));
    }
  });

  it('refuses a wrong key at the gateway and counts it by reason', async () => {
    const before = await gatewayCounter('livestream_gateway_publishes_refused_total', 'reason="unknown_key"');
    const url = ingestUrls.get('news') ?? '';
    expect(await refused(url, `wrong-${randomBytes(8).toString('hex')}`)).toBe(true);
    // Another channel's key in this channel's app is not a way in either: the key names the channel.
    expect(await refused(ingestUrls.get('sport') ?? '', keys.get('news') ?? '')).toBe(true);
    await waitFor(
      'the refusals counted',
      async () =>
        (await gatewayCounter('livestream_gateway_publishes_refused_total', 'reason="unknown_key"')) >= before + 1,
      { timeoutMs: 10_000, intervalMs: 500 },
    );
  });

  it('plays a channel with hls.js from the gateway on another origin, and counts the viewer in status', async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    const ip = (
      await cluster.kubectl(['get', 'svc', 'news', '-n', cluster.namespace, '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    // The channel's own page brings hls.js; the player made here loads the gateway's URL (another origin: CORS).
    await page.goto(`http://${ip}:8080/`);
    await page.waitForFunction('typeof window.Hls === "function"', undefined, { timeout: 30_000 });
    const playback = (await get('news')).status?.playback?.url ?? '';
    await page.evaluate(
      `(() => { const v = document.createElement('video'); v.id = 'gw'; v.muted = true; document.body.appendChild(v);
        const h = new window.Hls(); h.loadSource(${JSON.stringify(playback)}); h.attachMedia(v); v.play(); })()`,
    );
    await page.waitForFunction("document.querySelector('#gw').currentTime > 0", undefined, { timeout: 45_000 });
    const currentTime = () => page.evaluate<number>("document.querySelector('#gw').currentTime");
    const start = await currentTime();
    await sleep(8_000);
    expect((await currentTime()) - start).toBeGreaterThan(6);
    await waitFor('the viewer counted in status', async () => ((await get('news')).status?.viewers ?? 0) >= 1, {
      timeoutMs: 45_000,
      intervalMs: 1_000,
    });
    await page.close();
  });

  it("returns data for every dashboard panel from a real Prometheus scraping the chart's PodMonitors' targets", async () => {
    const p = prometheus as PrometheusProcess;
    const targets = await p.targets();
    const up = (pool: string) => targets.filter((t) => t.scrapePool.includes(pool) && t.health === 'up').length;
    expect(up(`${gatewayName}/0`), 'gateway replicas scraped').toBe(2);
    expect(up(`${release}-livestream-operator/0`), 'operator scraped').toBeGreaterThanOrEqual(1);
    expect(up('-transcoders/0'), 'transcoders scraped').toBeGreaterThanOrEqual(channels.length);
    const queries = dashboardQueries(await readDashboards());
    const empty: string[] = [];
    const unexpectedlyFull: string[] = [];
    for (const q of queries) {
      const samples = await p.query(livePromQL(q.expr, cluster.namespace));
      const excused = q.panel in panelsWithoutData;
      if (samples.length === 0 && !excused) empty.push(`${q.dashboard} "${q.panel}": ${q.expr}`);
      if (samples.length > 0 && excused) unexpectedlyFull.push(q.panel);
    }
    // An excused panel with data is fine (the list is a ceiling), but shown so the list stays honest.
    if (unexpectedlyFull.length > 0)
      process.stderr.write(`panels listed as without data have data: ${[...new Set(unexpectedlyFull)].join(', ')}\n`);
    expect(empty, 'panel queries without a sample').toEqual([]);
  });

  it("keeps every channel Live through a replaced transcoder pod and a killed gateway replica (the encoders' reconnects)", async () => {
    const transcoder = `app.kubernetes.io/instance=news,app.kubernetes.io/component=transcoder`;
    const before = (await get('news')).status?.session?.id;
    await cluster.kubectl(['delete', 'pod', '-n', cluster.namespace, '-l', transcoder, '--wait=false']);
    await waitFor('news in a new session', async () => {
      const s = (await get('news')).status;
      return s?.state === 'Live' && s.session?.id !== undefined && s.session.id !== before;
    }, { timeoutMs: 180_000, intervalMs: 1_000 }); // prettier-ignore

    // The replica relaying the most publishes (three encoders on two replicas: at least two on one of them).
    const pods = (await gatewayPods()).filter(ready);
    const active = await Promise.all(pods.map((p) => podSample(p, 'livestream_gateway_publishes_active')));
    const carried = Math.max(...active);
    const victim = pods[active.indexOf(carried)];
    expect(carried, 'publishes on the busiest replica').toBeGreaterThanOrEqual(2);
    const connects = Object.fromEntries([...encoders].map(([n, e]) => [n, e.connects()]));
    await cluster.kubectl(['delete', 'pod', '-n', operatorNamespace, victim?.metadata.name ?? '', '--grace-period=0', '--force']); // prettier-ignore
    // The encoders that were on the killed replica reconnect through the Service to a live one; the others stay.
    await sleep(5_000);
    await allLive();
    for (const c of channels) {
      const playback = (await get(c.name)).status?.playback?.url ?? '';
      await waitFor(`${c.name} playable after the replica kill`, async () => (await fetch(playback)).ok, {
        timeoutMs: 30_000,
        intervalMs: 1_000,
      });
    }
    // Exactly the encoders the killed replica carried had to reconnect; they are Live again through the other one.
    const reconnected = [...encoders].filter(([n, e]) => e.connects() > (connects[n] ?? 0)).map(([n]) => n);
    expect(reconnected.length, `reconnected: ${reconnected.join(', ')}`).toBe(carried);
    await waitFor('two gateway replicas Ready again', async () => (await gatewayPods()).filter(ready).length === 2, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
  });

  it('takes a rotated key at once through the gateway, and refuses the old one there after the grace', async () => {
    const radio = channels[2];
    const url = ingestUrls.get(radio.name) ?? '';
    await encoders.get(radio.name)?.stop();
    encoders.delete(radio.name);
    // Idle once the reconnect window (the default 30 s: these channels keep their sessions through the reconnects
    // of the test before) is over; 30 s was a race with it.
    await untilState(radio.name, 'Idle', 60_000);
    await cluster.kubectl(
      ['apply', '-n', cluster.namespace, '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'radio-key' }, stringData: { streamKey: radioKeys.new } }), // prettier-ignore
    );
    const rotated = await waitFor(
      'the rotation in status',
      async () => (await get(radio.name)).status?.ingest?.previousKeyExpiresAt,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // The new key through the gateway: the route table and the pod's key set both follow within seconds.
    keys.set(radio.name, radioKeys.new);
    await waitFor('the new key routed', async () => !(await refused(url, radioKeys.new)), {
      timeoutMs: 40_000,
      intervalMs: 1_000,
    });
    expect(Date.now()).toBeLessThan(Date.parse(rotated));
    expect(await refused(url, radioKeys.old), 'the old key inside its grace').toBe(false);
    await sleep(Math.max(0, Date.parse(rotated) - Date.now()) + 3_000);
    const before = await gatewayCounter('livestream_gateway_publishes_refused_total', 'reason="unknown_key"');
    expect(await refused(url, radioKeys.old), 'the old key after its grace').toBe(true);
    expect(await gatewayCounter('livestream_gateway_publishes_refused_total', 'reason="unknown_key"')).toBeGreaterThan(
      before,
    );
  });

  it('lists the routed channels at the routes endpoint for the admin token only, without key hashes', async () => {
    const [pod] = (await gatewayPods()).filter(ready);
    const url = `http://${pod?.status?.podIP}:8080${adminRoutesPath}`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer not-the-token-not-the-token-0000' } })).status).toBe(
      401,
    );
    const token = await secretValue(`${release}-livestream-operator-gateway-admin`, 'token', operatorNamespace);
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const listed = (JSON.parse(text) as RoutesAnswer).channels.filter((c) => c.namespace === cluster.namespace);
    expect(listed.map((c) => c.name).sort()).toEqual(channels.map((c) => c.name).sort());
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });

  it('lists public live channels in the portal by title, and plays a private channel only with a token', async () => {
    const audience = (name: string, a: Record<string, string>) =>
      cluster.kubectl(['patch', 'livestream', name, '-n', cluster.namespace, '--type=merge', '-p', JSON.stringify({ spec: { audience: a } })]); // prettier-ignore
    await audience('news', { title: 'Evening <News>', visibility: 'public' });
    await audience('sport', { title: 'Sport, unlisted', visibility: 'unlisted' });
    await audience('radio', { title: 'Radio, private', visibility: 'private' });
    const radio = (await get('radio')).status?.playback?.url ?? '';
    const origin = new URL(radio).origin;
    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    // Live updates: the titles arrive through the operator's push, without a reload.
    await page.getByText('Evening <News>').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: 'test-results/e2e-portal-directory.png', fullPage: true });
    const text = await page.locator('body').innerText();
    expect(text).not.toContain('Sport, unlisted');
    expect(text).not.toContain('Radio, private');
    await page.close();

    // The route table reaches every replica (the mounted Secret), then the private channel's playlist is closed.
    await waitFor('radio refused without a token', async () => (await fetch(radio)).status === 403, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
    const keySecret = await kubectlJson<{ data: Record<string, string> }>(
      ['get', 'secret', `${release}-livestream-operator-playback-keys`],
      operatorNamespace,
    );
    const [file, pem] = Object.entries(keySecret.data)[0] ?? ['', ''];
    const mint = (name: string) =>
      mintPlaybackToken({
        privateKeyPem: Buffer.from(pem, 'base64').toString(),
        kid: file.replace(/\.key$/, ''),
        namespace: cluster.namespace,
        name,
        ttlSeconds: 300,
      });
    expect((await fetch(`${radio}?token=${await mint('sport')}`)).status, "another channel's token").toBe(403);
    const master = await fetch(`${radio}?token=${await mint('radio')}`);
    expect(master.status).toBe(200);
    const uris = (await master.text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(uris.length).toBeGreaterThan(0);
    for (const uri of uris) expect(uri).toMatch(/[?&]session=/);
    const variant = new URL(uris[0] ?? '', radio).toString();
    expect((await fetch(variant)).status).toBe(200);
    expect((await fetch(variant.replace(/[?&]session=[^&]*/, ''))).status).toBe(403);
  });

  // Last: it breaks a channel and trips the gateway's refusal alert.
  it('fires the gateway and channel alerts in the real Prometheus on a wrong-key burst and a missing key Secret', async () => {
    // radio is Idle since its rotation: without its key Secret it is Failed (a reason of the channel's own).
    await cluster.kubectl(['delete', 'secret', 'radio-key', '-n', cluster.namespace]);
    await untilState('radio', 'Failed', 60_000);
    // Wrong keys in batches, spread over both replicas: under the per-address burst (10 each), so each is counted
    // as unknown_key, and more than the routed publishes of the last 10 minutes.
    const url = ingestUrls.get('news') ?? '';
    for (let batch = 0; batch < 4; batch++) {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => refused(url, `wrong-${randomBytes(8).toString('hex')}`)),
      );
      expect(results.every(Boolean), 'wrong keys refused').toBe(true);
    }
    const refusing = await waitFor(
      'LiveStreamGatewayRefusingPublishes firing',
      () => firing('LiveStreamGatewayRefusingPublishes', { namespace: operatorNamespace }),
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(Number(refusing.value)).toBeGreaterThan(0.5);
    await waitFor(
      'LiveStreamFailed firing for radio',
      () => firing('LiveStreamFailed', { namespace: cluster.namespace, livestream: 'radio' }),
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
  });
});
