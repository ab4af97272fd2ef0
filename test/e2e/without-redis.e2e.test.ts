// The chart installed with Redis disabled, on a real node: the operator polls each transcoder pod's own report log,
// so a channel still goes Live and back to Idle from its reports. On that channel, a stream key rotation with a grace
// period: the connected encoder is never cut off (not even once its key expired), the new key is accepted within
// seconds of the Secret's change (the operator's key set reaches the pod without waiting for kubelet's resync), the
// old key works inside the grace period and is refused after it.
// Runs after livestream.e2e.test.ts (files run one at a time), whose release is uninstalled by then and whose CRD
// stays (crds.keep): this release installs without it, as a second release of the chart would.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, onTestFailed } from 'vitest';
import { publishAccepted, publishRefused, startPublisher, type Publisher } from '../support/rtmp-publisher.ts';
import { sleep, waitFor } from '../support/wait-for.ts';
import { useTestCluster } from '../support/test-namespace.ts';
import { helm, installOperator } from '../../hack/stack/operator-install.ts';
import { stackImages } from '../../hack/stack/manifests.ts';

const cluster = useTestCluster('e2e-noredis');
const images = stackImages(inject('images'));
const operatorNamespace = 'livestream-noredis';
const release = 'lso-noredis';
const name = 'radio';
const keySecret = 'radio-key';
const graceSeconds = 40;
const keys = { old: `old-${randomBytes(12).toString('hex')}`, new: `new-${randomBytes(12).toString('hex')}` };

interface View {
  status?: {
    state?: string;
    session?: { id?: string };
    ingest?: { url?: string; previousKeyExpiresAt?: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const get = async () =>
  JSON.parse(await cluster.kubectl(['get', 'livestream', name, '-n', cluster.namespace, '-o', 'json'])) as View;
const untilState = (state: string, timeoutMs: number) =>
  waitFor(`LiveStream ${name} ${state}`, async () => ((await get()).status?.state === state ? get() : undefined), {
    timeoutMs,
    intervalMs: 500,
  });
const setKey = (key: string) =>
  cluster.kubectl(
    ['apply', '-n', cluster.namespace, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: keySecret }, stringData: { streamKey: key } }),
  );

let ingestUrl = '';
let publisher: Publisher | undefined;
const publish = (key: string) => startPublisher({ url: `${ingestUrl}/${key}` });
/** Whether a publish with `key` is refused: ffmpeg exits on its own within the wait, with an error. */
const refused = (key: string): Promise<boolean> => publishRefused(() => publish(key));

beforeAll(async () => {
  await installOperator({
    kubeconfig: cluster.kubeconfig,
    images,
    namespace: operatorNamespace,
    release,
    // Without the gateway too: status gives the channel's own Service, the path of an installation without one.
    values: ['redis.enabled=false', 'crds.enabled=false', 'gateway.enabled=false'],
  });
  await setKey(keys.old);
});

afterAll(async () => {
  await publisher?.stop();
  await cluster.kubectl(['delete', 'livestream', name, '-n', cluster.namespace, '--timeout=60s']).catch(() => '');
  await helm(cluster.kubeconfig, ['uninstall', release, '--namespace', operatorNamespace]).catch(() => {});
});

beforeEach(() => {
  onTestFailed(async () => {
    for (const args of [
      ['get', 'livestream', name, '-n', cluster.namespace, '-o', 'yaml'],
      ['get', 'pods,secrets', '-n', cluster.namespace, '-o', 'wide'],
      ['logs', '-n', operatorNamespace, '-l', 'app.kubernetes.io/component=operator', '--tail=60'],
      ['logs', '-n', cluster.namespace, '-l', `app.kubernetes.io/instance=${name}`, '--all-containers', '--tail=40'],
    ]) {
      process.stderr.write(`\n----- ${args.slice(0, 2).join(' ')}\n${await cluster.kubectl(args).catch(String)}\n`);
    }
  });
});

describe('the chart without Redis, and a stream key rotation, on a real node', () => {
  it('installs no Redis, and a channel goes Live from the reports the operator polls', async () => {
    const all = ['get', 'pods,services', '-n', operatorNamespace, '-o', 'name'];
    expect(await cluster.kubectl(all)).toMatch(/operator/);
    expect((await cluster.kubectl([...all, '-l', 'app.kubernetes.io/component=redis'])).trim()).toBe('');
    const ls = {
      apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
      kind: 'LiveStream',
      metadata: { name, namespace: cluster.namespace },
      spec: {
        ladder: { preset: '360p' },
        reconnectWindowSeconds: 10,
        streamKey: { secretRef: { name: keySecret }, rotationGracePeriod: `${graceSeconds}s` },
        ingest: { serviceType: 'NodePort' },
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(ls));
    const idle = await untilState('Idle', 180_000);
    ingestUrl = idle.status?.ingest?.url ?? '';
    expect(ingestUrl).toMatch(/^rtmp:\/\//);
    publisher = publish(keys.old);
    const live = await untilState('Live', 60_000);
    expect(live.status?.conditions?.find((c) => c.type === 'Publishing')).toMatchObject({ status: 'True' });
  });

  it('keeps the encoder through a rotation, takes the new key at once and the old one only inside the grace', async () => {
    const session = (await get()).status?.session?.id;
    expect(session).toBeTruthy();
    const rotatedAt = Date.now();
    await setKey(keys.new);
    const expires = await waitFor(
      'status.ingest.previousKeyExpiresAt',
      async () => (await get()).status?.ingest?.previousKeyExpiresAt,
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(Date.parse(expires) - rotatedAt).toBeGreaterThan((graceSeconds - 5) * 1000);
    expect(Date.parse(expires) - rotatedAt).toBeLessThanOrEqual((graceSeconds + 5) * 1000);

    // The encoder on the old key stays on air: a rotation never cuts it.
    await sleep(3_000);
    expect(publisher?.process.exitCode).toBeNull();
    expect((await get()).status?.state).toBe('Live');

    // It leaves; the new key is taken inside the reconnect window, in the same session.
    await publisher?.stop();
    publisher = await publishAccepted(() => publish(keys.new), 'a publish with the new key accepted', {
      timeoutMs: 20_000,
      intervalMs: 500,
    });
    const acceptedAfterMs = Date.now() - rotatedAt;
    process.stderr.write(`e2e: the new stream key was accepted ${acceptedAfterMs} ms after the Secret changed\n`);
    expect(acceptedAfterMs).toBeLessThan(25_000);
    await waitFor(
      'Live on the new key, same session',
      async () => {
        const s = (await get()).status;
        return s?.state === 'Live' && s.session?.id === session;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    // Inside the grace the old key is still taken (the encoder that has not been moved yet).
    await publisher.stop();
    publisher = await publishAccepted(
      () => publish(keys.old),
      'a publish with the old key accepted inside the grace period',
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    expect(Date.now()).toBeLessThan(Date.parse(expires));

    // Past the expiry it is still on air (never kicked), and the key set is pruned from status.
    await sleep(Math.max(0, Date.parse(expires) - Date.now()) + 3_000);
    expect(publisher.process.exitCode).toBeNull();
    await waitFor(
      'previousKeyExpiresAt gone',
      async () => (await get()).status?.ingest?.previousKeyExpiresAt === undefined,
      {
        timeoutMs: 20_000,
        intervalMs: 500,
      },
    );

    // Once it leaves, the old key is refused and the new one taken.
    await publisher.stop();
    publisher = undefined;
    expect(await refused(keys.old)).toBe(true);
    // The refusal puts this address in the transcoder's penalty for a second (publish-guard.ts): the encoder's
    // reconnect, as OBS's, gets through once it is over.
    publisher = await publishAccepted(
      () => publish(keys.new),
      'a publish with the new key accepted after the refusal',
      { timeoutMs: 20_000, intervalMs: 1_000 },
    );
    await untilState('Live', 30_000);
  });

  it('goes Idle when the encoder stops, from the polled reports', async () => {
    await publisher?.stop();
    publisher = undefined;
    await untilState('Idle', 60_000);
  });
});
