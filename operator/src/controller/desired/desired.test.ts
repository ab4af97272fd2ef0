import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fullExample, minimalExample, storedLiveStream } from '../../../../test/support/livestream-examples.ts';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { buildConfigMap } from './config-map.ts';
import { buildDeployment, restartHashAnnotation } from './deployment.ts';
import { childNames, selectorLabels } from './metadata.ts';
import { buildPodMonitor } from './pod-monitor.ts';
import { channelRedisUrl } from '../../../../contract/src/report-streams.ts';
import { buildRedisSecret, channelOf } from './redis-secret.ts';
import { buildService } from './service.ts';
import { buildStreamKeySecret } from './stream-key-secret.ts';
import { buildIngestKeysSecret, keySetOf } from './ingest-keys-secret.ts';
import { buildReportTokenSecret, reportTokenOf } from './report-token-secret.ts';
import { keyDigest, rollKeySet } from '../../../../contract/src/ingest-keys.ts';

const ctx: BuildContext = {
  image: 'livestream-operator/transcoder:0.1.0',
  redis: { secretName: 'livestream-redis', key: 'url' },
};
const key = 'k3y_Of-Test-0123456789abcdefXYZ';
/** A report token as the report-token step makes them (a fixed one here). */
const reportToken = 'rep0rt-T0ken_0f-Test-0123456789abcdefghijklm';
const minimal = () => storedLiveStream(minimalExample);
/** A channel credential as the redis-credential step makes it (a fixed password here). */
const channelUrl = (ls: LiveStream, operatorUrl = 'redis://:pw@redis.lso-system:6379/0') =>
  channelRedisUrl(operatorUrl, channelOf(ls), 'channel-password-0123456789');
const full = () => storedLiveStream(fullExample);

// The operator without Redis: no Redis Secret is made, so none may be referenced.
const { redis: _redis, ...ctxWithoutRedis } = ctx;

function allChildren(ls: LiveStream, build: BuildContext = ctx) {
  return [
    ...(ls.spec.streamKey ? [] : [buildStreamKeySecret(ls, { streamKey: key })]),
    ...(build.redis
      ? [buildRedisSecret(ls, { redisUrl: channelUrl(ls) })]
      : [buildReportTokenSecret(ls, { token: reportToken })]),
    buildConfigMap(ls, build),
    buildDeployment(ls, build),
    buildService(ls, build),
    buildPodMonitor(ls, build),
    buildIngestKeysSecret(ls, { keySet: { keys: [{ sha256: keyDigest(key)! }] } }),
  ];
}

describe('golden manifests', () => {
  // The files are the review surface: a change to a builder shows up as a diff of plain YAML.
  it.each([
    ['minimal', minimal, ctx],
    ['full', full, ctx],
    ['minimal-without-redis', minimal, ctxWithoutRedis],
  ])('%s LiveStream', async (name, make, build) => {
    const docs = allChildren(make(), build).map((o) =>
      stringify(o, { lineWidth: 0, aliasDuplicateObjects: false, singleQuote: true }),
    );
    await expect(docs.join('---\n')).toMatchFileSnapshot(`./__golden__/${name}.yaml`);
  });
});

describe('every child', () => {
  it.each([
    ['minimal', minimal],
    ['full', full],
  ])('of the %s LiveStream is controlled by it, labelled and in its namespace', (_, make) => {
    const ls = make();
    for (const child of allChildren(ls)) {
      expect(child.metadata?.namespace).toBe('media');
      expect(child.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
          kind: 'LiveStream',
          name: ls.metadata.name,
          uid: ls.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(child.metadata?.labels).toEqual({
        'app.kubernetes.io/name': 'livestream',
        'app.kubernetes.io/instance': ls.metadata.name,
        'app.kubernetes.io/component': 'transcoder',
        'app.kubernetes.io/managed-by': 'livestream-operator',
      });
    }
  });

  it('cannot be built from a LiveStream that was never stored (no uid)', () => {
    const ls = minimal();
    delete ls.metadata.uid;
    expect(() => buildConfigMap(ls, ctx)).toThrow(/lacks name, namespace or uid/);
  });

  it('keeps extra labels but never lets them override the selector labels', () => {
    const cm = buildConfigMap(minimal(), {
      extraLabels: { team: 'media', 'app.kubernetes.io/instance': 'spoofed' },
    });
    expect(cm.metadata?.labels?.team).toBe('media');
    expect(cm.metadata?.labels?.['app.kubernetes.io/instance']).toBe('minimal');
  });
});

describe('stream key Secret', () => {
  it('holds the key the caller passes, base64-encoded, under the default key name', () => {
    const secret = buildStreamKeySecret(minimal(), { streamKey: key });
    expect(secret.metadata?.name).toBe('minimal-stream-key');
    expect(secret.type).toBe('Opaque');
    expect(Object.keys(secret.data ?? {})).toEqual(['streamKey']);
    expect(Buffer.from(secret.data!.streamKey!, 'base64').toString()).toBe(key);
    expect(secret).not.toHaveProperty('stringData');
  });

  it('is refused when the spec names the user’s own Secret, and built with a grace period alone', () => {
    expect(() => buildStreamKeySecret(full(), { streamKey: key })).toThrow(/spec.streamKey.secretRef/);
    const graceOnly = minimal();
    graceOnly.spec.streamKey = { rotationGracePeriod: '90s' };
    expect(buildStreamKeySecret(graceOnly, { streamKey: key }).metadata?.name).toBe('minimal-stream-key');
  });

  it('rejects a weak or unusable key without echoing it', () => {
    for (const bad of ['short', 'has space in it 0123456789', 'slash/in/key/0123456789']) {
      let message = '';
      try {
        buildStreamKeySecret(minimal(), { streamKey: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/16..128 characters/);
      expect(message).not.toContain(bad);
    }
  });
});

describe('ingest keys Secret', () => {
  it('holds the key set as keys.json, digests and times only, owned by the LiveStream', () => {
    const keySet = rollKeySet(
      { keys: [{ sha256: keyDigest(key)! }] },
      keyDigest('another-key-0123456789'),
      0,
      60_000,
    ).set;
    const secret = buildIngestKeysSecret(minimal(), { keySet });
    expect(secret.metadata?.name).toBe('minimal-ingest-keys');
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'LiveStream', controller: true });
    expect(Object.keys(secret.data ?? {})).toEqual(['keys.json']);
    const text = Buffer.from(secret.data!['keys.json']!, 'base64').toString();
    expect(text).not.toContain(key);
    expect(keySetOf(secret)).toEqual(keySet);
  });

  it('reads nothing from an absent or malformed Secret', () => {
    expect(keySetOf(undefined)).toBeUndefined();
    expect(keySetOf({ data: { 'keys.json': Buffer.from('{"keys":1}').toString('base64') } })).toBeUndefined();
  });
});

describe('Redis Secret', () => {
  it('holds the channel’s own credential in the LiveStream’s namespace', () => {
    const url = channelUrl(minimal(), 'rediss://redis:6380');
    const secret = buildRedisSecret(minimal(), { redisUrl: url });
    expect(secret.metadata?.name).toBe(childNames(minimal()).redisSecret);
    expect(Buffer.from(secret.data!.url!, 'base64').toString()).toBe(url);
    expect(() => buildRedisSecret(minimal(), { redisUrl: 'rediss://:admin-pw-0123456789abc@redis:6380' })).toThrow(
      /channel's own/,
    );
    expect(() => buildRedisSecret(minimal(), { redisUrl: 'http://redis' })).toThrow(/redis:\/\//);
  });
});

describe('report token Secret', () => {
  it('holds the channel’s token in its namespace, and only a token of the shape the operator makes', () => {
    const secret = buildReportTokenSecret(minimal(), { token: reportToken });
    expect(secret.metadata).toMatchObject({ name: 'minimal-reports', namespace: 'media' });
    expect(Buffer.from(secret.data!.token!, 'base64').toString()).toBe(reportToken);
    expect(reportTokenOf(secret)).toBe(reportToken);
    for (const bad of ['', 'short', `${reportToken}!`, 'x'.repeat(129), `${reportToken.slice(1)} `]) {
      expect(() => buildReportTokenSecret(minimal(), { token: bad })).toThrow(/base64url/);
      const stored = { ...secret, data: { token: Buffer.from(bad).toString('base64') } };
      expect(reportTokenOf(stored)).toBeUndefined();
    }
    expect(reportTokenOf(undefined)).toBeUndefined();
    expect(reportTokenOf({ ...secret, data: {} })).toBeUndefined();
  });
});

describe('ConfigMap', () => {
  it('carries the identity and the spec of the LiveStream, nothing else', () => {
    const ls = full();
    const cm = buildConfigMap(ls, ctx);
    expect(cm.metadata?.name).toBe('full-config');
    const doc = JSON.parse(cm.data!['livestream.json']!) as Record<string, unknown>;
    expect(doc).toEqual({
      apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
      kind: 'LiveStream',
      metadata: { name: 'full', namespace: 'media', uid: ls.metadata.uid, generation: 1 },
      spec: fullExample.storedSpec,
    });
    expect(cm.data!['livestream.json']).not.toMatch(/managedFields|status|resourceVersion/);
  });

  it('changes with the generation so the pod sees every spec change', () => {
    const a = buildConfigMap(storedLiveStream(minimalExample, { generation: 1 }), ctx);
    const b = buildConfigMap(storedLiveStream(minimalExample, { generation: 2 }), ctx);
    expect(a.data).not.toEqual(b.data);
  });
});

describe('Deployment', () => {
  const pod = (ls: LiveStream, c: BuildContext = ctx) => buildDeployment(ls, c).spec!.template;
  const container = (ls: LiveStream, name: string) => pod(ls).spec!.containers.find((c) => c.name === name)!;

  it('runs one transcoder pod, recreated rather than rolled (one publisher endpoint)', () => {
    const d = buildDeployment(minimal(), ctx);
    expect(d.metadata?.name).toBe('minimal-transcoder');
    expect(d.spec?.replicas).toBe(1);
    expect(d.spec?.strategy).toEqual({ type: 'Recreate' });
    expect(d.spec?.selector.matchLabels).toEqual(selectorLabels(minimal()));
    expect(d.spec?.template.metadata?.labels).toMatchObject(selectorLabels(minimal()));
    expect(pod(minimal()).spec!.containers.map((c) => c.name)).toEqual(['transcoder', 'relay']);
  });

  it('scales to zero when paused and keeps the same pod template', () => {
    const paused = minimal();
    paused.spec.paused = true;
    expect(buildDeployment(paused, ctx).spec?.replicas).toBe(0);
    expect(pod(paused)).toEqual(pod(minimal()));
  });

  it('locks the pod down: non-root, read-only root, no capabilities, no token, default seccomp', () => {
    const spec = pod(full()).spec!;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of spec.containers) {
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      // Every writable path is an emptyDir.
      const writable = (c.volumeMounts ?? []).filter((m) => !m.readOnly).map((m) => m.name);
      for (const name of writable) {
        expect(spec.volumes!.find((v) => v.name === name)?.emptyDir, name).toBeDefined();
      }
      expect(c.volumeMounts?.some((m) => m.mountPath === '/tmp' && !m.readOnly)).toBe(true);
    }
  });

  it('probes /healthz and /readyz on the HTTP port and exposes RTMP and HTTP', () => {
    const t = container(minimal(), 'transcoder');
    expect(t.ports).toEqual([
      { name: 'rtmp', containerPort: 1935, protocol: 'TCP' },
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(t.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(t.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(t.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(t.command).toEqual(['node', 'transcoder/src/main.ts']);
    expect(container(minimal(), 'relay').command).toEqual(['node', 'transcoder/src/relay/main.ts']);
  });

  it('without Redis declares the report log on the transcoder container, never on the Service', () => {
    for (const ls of [minimal(), full()]) {
      const [t, relay] = buildDeployment(ls, ctxWithoutRedis).spec!.template.spec!.containers;
      expect(t!.ports).toContainEqual({ name: 'reports', containerPort: 8082, protocol: 'TCP' });
      expect(relay!.ports).toEqual([{ name: 'relay-metrics', containerPort: 8081, protocol: 'TCP' }]);
      for (const build of [ctx, ctxWithoutRedis]) {
        const service = buildService(ls, build).spec!;
        expect(service.ports!.map((p) => [p.port, p.targetPort])).toEqual([
          [1935, 'rtmp'],
          [8080, 'http'],
        ]);
      }
      // With Redis no log is served and no token given.
      const withRedis = buildDeployment(ls, ctx).spec!.template.spec!.containers;
      expect(withRedis[0]!.ports!.map((p) => p.name)).not.toContain('reports');
      for (const c of withRedis) expect(c.env!.map((e) => e.name)).not.toContain('LSO_REPORT_TOKEN');
    }
  });

  it('passes the Redis URL from the Secret of the context, never as a literal', () => {
    for (const name of ['transcoder', 'relay']) {
      const env = container(minimal(), name).env!;
      expect(env.find((e) => e.name === 'LSO_REDIS_URL')).toEqual({
        name: 'LSO_REDIS_URL',
        valueFrom: { secretKeyRef: { name: 'livestream-redis', key: 'url' } },
      });
      expect(env.find((e) => e.name === 'LSO_CONFIG')?.value).toBe('/etc/livestream/livestream.json');
    }
    expect(container(minimal(), 'transcoder').env!.find((e) => e.name === 'LSO_HLS_DIR')?.value).toBe(
      '/var/lib/livestream/hls',
    );
  });

  it('without Redis references no Redis Secret (it is never made), but the channel’s report token', () => {
    for (const ls of [minimal(), full()]) {
      const children = allChildren(ls, ctxWithoutRedis);
      const made = new Set(children.filter((c) => c.kind === 'Secret').map((c) => c.metadata?.name));
      expect(made.has(childNames(ls).redisSecret)).toBe(false);
      const spec = buildDeployment(ls, ctxWithoutRedis).spec!.template.spec!;
      for (const c of spec.containers) {
        expect(c.env!.map((e) => e.name)).not.toContain('LSO_REDIS_URL');
        // From the Secret, never a literal.
        expect(c.env!.find((e) => e.name === 'LSO_REPORT_TOKEN')).toEqual({
          name: 'LSO_REPORT_TOKEN',
          valueFrom: { secretKeyRef: { name: `${ls.metadata.name}-reports`, key: 'token' } },
        });
        // Every Secret an env var needs is one the operator makes (or optional).
        for (const ref of c.env!.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []))) {
          expect(ref.optional === true || made.has(ref.name)).toBe(true);
        }
      }
    }
  });

  it('mounts the operator key set at the contract path, never the user’s or the generated key Secret', () => {
    const mount = (ls: LiveStream) => {
      const spec = pod(ls).spec!;
      const m = container(ls, 'transcoder').volumeMounts!.find((v) => v.name === 'ingest-keys')!;
      return { path: m.mountPath, readOnly: m.readOnly, volume: spec.volumes!.find((v) => v.name === 'ingest-keys') };
    };
    const expected = (name: string) => ({
      path: '/var/run/secrets/livestream/ingest-keys',
      readOnly: true,
      volume: {
        name: 'ingest-keys',
        secret: {
          secretName: `${name}-ingest-keys`,
          items: [{ key: 'keys.json', path: 'keys.json' }],
          defaultMode: 0o440,
        },
      },
    });
    const user = full();
    user.spec.streamKey = { secretRef: { name: 'studio-key', key: 'obs' }, rotationGracePeriod: '1h' };
    for (const [ls, name] of [
      [minimal(), 'minimal'],
      [full(), 'full'],
      [user, 'full'],
    ] as const) {
      expect(mount(ls)).toEqual(expected(name));
      const secrets = pod(ls).spec!.volumes!.flatMap((v) => (v.secret ? [v.secret.secretName] : []));
      expect(secrets).not.toContain('studio-key');
      expect(secrets).not.toContain(`${name}-stream-key`);
    }
    // A rotation (or a new grace period) never touches the pod template.
    expect(pod(user)).toEqual(pod(full()));
  });

  it('mounts the operator copy of the relay keys whole, in the relay container only, whatever the relays', () => {
    const ls = full();
    const volume = pod(ls).spec!.volumes!.find((v) => v.name === 'relay-keys')!;
    expect(volume.secret).toEqual({ secretName: 'full-relay-keys', optional: true, defaultMode: 0o440 });
    expect(container(ls, 'relay').volumeMounts).toContainEqual({
      name: 'relay-keys',
      mountPath: '/var/run/secrets/livestream/relays',
      readOnly: true,
    });
    expect(container(ls, 'transcoder').volumeMounts!.map((m) => m.name)).not.toContain('relay-keys');
    expect(container(ls, 'relay').volumeMounts!.map((m) => m.name)).not.toContain('stream-key');
    // Adding or removing relays leaves the pod template as it is (no restart, no interrupted stream).
    const withoutRelays = full();
    withoutRelays.spec.relays = [];
    expect(pod(withoutRelays)).toEqual(pod(ls));
  });

  it('maps the S3 credentials to the contract file names in the transcoder only', () => {
    const ls = full();
    ls.spec.recording!.s3!.credentialsSecretRef = { name: 's3', accessKeyIdKey: 'AK', secretAccessKeyKey: 'SK' };
    const volume = pod(ls).spec!.volumes!.find((v) => v.name === 's3-credentials')!;
    expect(volume.secret).toEqual({
      secretName: 's3',
      items: [
        { key: 'AK', path: 'accessKeyId' },
        { key: 'SK', path: 'secretAccessKey' },
      ],
      defaultMode: 0o440,
      optional: true,
    });
    expect(container(ls, 'transcoder').volumeMounts).toContainEqual({
      name: 's3-credentials',
      mountPath: '/var/run/secrets/livestream/s3',
      readOnly: true,
    });
    expect(container(ls, 'relay').volumeMounts!.map((m) => m.name)).not.toContain('s3-credentials');
  });

  it('takes the transcoder resources from the spec, quantities as strings, and a default otherwise', () => {
    expect(container(full(), 'transcoder').resources).toEqual({
      requests: { cpu: '1', memory: '512Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    expect(container(minimal(), 'transcoder').resources?.requests).toEqual({ cpu: '500m', memory: '256Mi' });
  });

  it('leaves the pod template alone for changes the pod hot-reloads', () => {
    const base = full();
    const edits: Array<(ls: LiveStream) => void> = [
      (ls) => (ls.spec.relays![0]!.url = 'rtmp://b.rtmp.youtube.com/live2'),
      (ls) => (ls.spec.relays![0]!.enabled = false),
      (ls) => (ls.spec.relays![2]!.enabled = true),
      (ls) => (ls.spec.recording!.enabled = false),
      (ls) => (ls.spec.recording!.rendition = 'sd'),
      (ls) => (ls.spec.ladder = { preset: '1080p', passthrough: true }),
      (ls) => (ls.spec.hls = { segmentSeconds: 6, playlistLength: 10 }),
      (ls) => (ls.spec.reconnectWindowSeconds = 5),
      (ls) => (ls.spec.ingest.httpFlv = false),
      (ls) => (ls.metadata.generation = 7),
    ];
    for (const edit of edits) {
      const ls = full();
      edit(ls);
      expect(pod(ls), edit.toString()).toEqual(pod(base));
    }
  });

  it('changes the restart hash with the image and the resources, and only then', () => {
    const hash = (ls: LiveStream, c: BuildContext = ctx) => pod(ls, c).metadata!.annotations![restartHashAnnotation];
    const base = hash(full());
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(hash(full())).toBe(base);
    expect(hash(full(), { ...ctx, image: 'livestream-operator/transcoder:0.2.0' })).not.toBe(base);
    const moreCpu = full();
    moreCpu.spec.resources!.limits!.cpu = 3;
    expect(hash(moreCpu)).not.toBe(base);
    expect(hash(full(), { ...ctx, relayResources: { limits: { memory: '1Gi' } } })).not.toBe(base);
    // Key order is not a change.
    const reordered = full();
    reordered.spec.resources = { limits: { memory: '1Gi', cpu: 2 }, requests: { memory: '512Mi', cpu: '1' } };
    expect(hash(reordered)).toBe(base);
  });
});

describe('Service', () => {
  it('exposes RTMP and HTTP with the spec’s type and selects the transcoder pod', () => {
    const svc = buildService(full(), ctx);
    expect(svc.metadata?.name).toBe('full');
    expect(svc.spec?.type).toBe('LoadBalancer');
    expect(svc.spec?.selector).toEqual(buildDeployment(full(), ctx).spec?.selector.matchLabels);
    expect(svc.spec?.ports).toEqual([
      { name: 'rtmp', protocol: 'TCP', port: 1935, targetPort: 'rtmp' },
      { name: 'http', protocol: 'TCP', port: 8080, targetPort: 'http' },
    ]);
    expect(buildService(minimal(), ctx).spec?.type).toBe('ClusterIP');
    expect(svc.spec?.ports?.every((p) => p.nodePort === undefined)).toBe(true);
  });
});

describe('PodMonitor', () => {
  it('scrapes /metrics on the transcoder and relay ports of the pod', () => {
    const pm = buildPodMonitor(minimal(), ctx);
    expect(pm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(pm.spec.selector.matchLabels).toEqual(selectorLabels(minimal()));
    expect(pm.spec.podMetricsEndpoints).toEqual([
      { port: 'http', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
      { port: 'relay-metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
    ]);
  });
});
