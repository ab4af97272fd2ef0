// The LiveStream CRD against a real API server: every rule rejects what it should with a message naming the field,
// defaults fill in what the operator and the transcoder rely on, and kubectl explains and lists LiveStreams usefully.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fullExample, minimalExample } from '../test/support/livestream-examples.ts';
import type { LiveStream } from '../contract/src/api/index.ts';
import { useTestCluster } from '../test/support/test-namespace.ts';
import { applyLiveStreamCrd } from '../test/support/livestream-crd.ts';
import { validateLiveStream } from '../contract/src/api/validate.ts';

const crdFile = join(import.meta.dirname, 'livestream.yaml');
const apiVersion = 'streaming.livestream-operator.dev/v1alpha1';

type Spec = Record<string, unknown>;

const rendition = (name: string, width = 640, height = 360) => ({ name, width, height, videoBitrateKbps: 800 });
const relay = (name: string, url = 'rtmp://live.example.com/app') => ({ name, url, keySecretRef: { name: 'k' } });
const s3 = { bucket: 'recordings', credentialsSecretRef: { name: 's3' } };

// [what is wrong, spec (or a whole manifest), what the error must say]. The field path is part of every expectation.
type Input = Spec | { manifest: Record<string, unknown> };
const invalid: Array<[string, Input, RegExp]> = [
  [
    'preset and renditions together',
    { ladder: { preset: '720p', renditions: [rendition('sd')] } },
    /spec\.ladder\.renditions: .*ladder\.preset and ladder\.renditions are mutually exclusive/,
  ],
  ['an unknown preset', { ladder: { preset: '4k' } }, /spec\.ladder\.preset: Unsupported value: "4k"/],
  ['an empty explicit ladder', { ladder: { renditions: [] } }, /spec\.ladder\.renditions: .*at least 1 items?/],
  [
    'more than 8 renditions',
    { ladder: { renditions: Array.from({ length: 9 }, (_, i) => rendition(`r${i}`)) } },
    /spec\.ladder\.renditions: Too many: 9: must have at most 8 items/,
  ],
  [
    'an odd width',
    { ladder: { renditions: [rendition('sd', 641, 360)] } },
    /spec\.ladder\.renditions\[0\]\.width: .*width must be even/,
  ],
  [
    'an odd height',
    { ladder: { renditions: [rendition('sd', 640, 361)] } },
    /spec\.ladder\.renditions\[0\]\.height: .*height must be even/,
  ],
  [
    'a width below 16',
    { ladder: { renditions: [rendition('tiny', 8, 360)] } },
    /spec\.ladder\.renditions\[0\]\.width: Invalid value: 8: .*greater than or equal to 16/,
  ],
  [
    'a height above 4320',
    { ladder: { renditions: [rendition('huge', 7680, 4322)] } },
    /spec\.ladder\.renditions\[0\]\.height: Invalid value: 4322: .*less than or equal to 4320/,
  ],
  [
    'a rendition name that is not a DNS label',
    { ladder: { renditions: [rendition('HD_720')] } },
    /spec\.ladder\.renditions\[0\]\.name: .*must be a DNS label/,
  ],
  [
    'a reserved rendition name',
    { ladder: { renditions: [rendition('source')] } },
    /spec\.ladder\.renditions\[0\]\.name: .*reserved rendition names/,
  ],
  [
    'two renditions with one name',
    { ladder: { renditions: [rendition('sd'), rendition('sd', 320, 180)] } },
    /\.spec\.ladder\.renditions: duplicate entries for key \[name="sd"\]/,
  ],
  [
    'a rendition without a bitrate',
    { ladder: { renditions: [{ name: 'sd', width: 640, height: 360 }] } },
    /spec\.ladder\.renditions\[0\]\.videoBitrateKbps: Required value/,
  ],
  [
    'a segment of 0 s',
    { hls: { segmentSeconds: 0 } },
    /spec\.hls\.segmentSeconds: Invalid value: 0: .*greater than or equal to 1/,
  ],
  [
    'a playlist of 2 segments',
    { hls: { playlistLength: 2 } },
    /spec\.hls\.playlistLength: Invalid value: 2: .*greater than or equal to 3/,
  ],
  [
    'a reconnect window above 1800 s',
    { reconnectWindowSeconds: 1801 },
    /spec\.reconnectWindowSeconds: Invalid value: 1801: .*less than or equal to 1800/,
  ],
  ['a negative reconnect window', { reconnectWindowSeconds: -1 }, /spec\.reconnectWindowSeconds: Invalid value: -1/],
  [
    'an RTMP app with a slash',
    { ingest: { app: 'live/x' } },
    /spec\.ingest\.app: Invalid value: "live\/x": .*should match/,
  ],
  [
    'a Service type ExternalName',
    { ingest: { serviceType: 'ExternalName' } },
    /spec\.ingest\.serviceType: Unsupported value: "ExternalName"/,
  ],
  [
    'a LoadBalancer for a channel reached via the gateway only',
    { ingest: { via: 'Gateway', serviceType: 'LoadBalancer' } },
    /spec\.ingest\.serviceType: Forbidden: ingest\.serviceType NodePort or LoadBalancer gives the channel an address/,
  ],
  ['an unknown ingest.via', { ingest: { via: 'Proxy' } }, /spec\.ingest\.via: Unsupported value: "Proxy"/],
  [
    'a grace period above 24h',
    { streamKey: { rotationGracePeriod: '25h' } },
    /spec\.streamKey\.rotationGracePeriod: Invalid value: .*streamKey\.rotationGracePeriod must be at most 24h/,
  ],
  [
    'a grace period of 1441 minutes',
    { streamKey: { rotationGracePeriod: '1441m' } },
    /spec\.streamKey\.rotationGracePeriod: Invalid value: .*must be at most 24h/,
  ],
  ...['10', '1d', '-5m', '1.5h', '10m1h', '10M', ' 10m'].map((bad): [string, Input, RegExp] => [
    `a grace period of ${JSON.stringify(bad)}`,
    { streamKey: { rotationGracePeriod: bad } },
    /spec\.streamKey\.rotationGracePeriod: Invalid value: .*should match/,
  ]),
  [
    'an empty grace period',
    { streamKey: { rotationGracePeriod: '' } },
    /spec\.streamKey\.rotationGracePeriod: Invalid value: "": .*at least 2 chars/,
  ],
  [
    'a relay over HTTP',
    { relays: [relay('web', 'https://live.example.com/app')] },
    /spec\.relays\[0\]\.url: .*must start with rtmp:\/\/, rtmps:\/\/ or srt:\/\//,
  ],
  [
    'a relay URL with credentials',
    { relays: [relay('yt', 'rtmp://user:secret@live.example.com/app')] },
    /spec\.relays\[0\]\.url: .*must not carry credentials/,
  ],
  [
    'a relay URL with the key in its query',
    { relays: [relay('srt', 'srt://ingest.example.com:9000?mode=caller&passphrase=hunter2hunter2')] },
    /spec\.relays\[0\]\.url: .*must not carry a key, passphrase, token or streamid in its query/,
  ],
  [
    'a relay name that is not a DNS label',
    { relays: [relay('You_Tube')] },
    /spec\.relays\[0\]\.name: .*must be a DNS label/,
  ],
  [
    'two relays with one name',
    { relays: [relay('yt'), relay('yt', 'rtmp://other.example.com/app')] },
    /\.spec\.relays: duplicate entries for key \[name="yt"\]/,
  ],
  [
    'more than 16 relays',
    { relays: Array.from({ length: 17 }, (_, i) => relay(`r${i}`)) },
    /spec\.relays: Too many: 17: must have at most 16 items/,
  ],
  ['a relay without a URL', { relays: [{ name: 'yt' }] }, /spec\.relays\[0\]\.url: Required value/],
  [
    'recording without S3',
    { recording: { enabled: true } },
    /spec\.recording\.s3: Required value: recording\.s3 \(bucket and credentialsSecretRef\) is required/,
  ],
  [
    'recording without S3 credentials',
    { recording: { enabled: true, s3: { bucket: 'recordings' } } },
    /spec\.recording\.s3\.credentialsSecretRef: Required value: .*required when recording\.enabled is true/,
  ],
  [
    'an invalid bucket name',
    { recording: { s3: { ...s3, bucket: 'My_Bucket' } } },
    /spec\.recording\.s3\.bucket: Invalid value: "My_Bucket"/,
  ],
  [
    'recording a rendition the explicit ladder lacks',
    {
      ladder: { renditions: [rendition('hd', 1280, 720), rendition('sd')] },
      recording: { enabled: true, rendition: 'uhd', s3 },
    },
    /spec\.recording\.rendition: .*recording\.rendition "uhd" is not the name of a rendition in spec\.ladder\.renditions/,
  ],
  [
    'recording a rendition the preset lacks',
    { ladder: { preset: '480p' }, recording: { enabled: true, rendition: '720p', s3 } },
    /spec\.recording\.rendition: .*"720p" is not a rendition of the 480p preset; use one of: 480p, 360p/,
  ],
  [
    'requests above limits',
    { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } },
    /spec\.resources\.requests: Invalid value: resources\.requests must not exceed resources\.limits/,
  ],
  [
    'a memory limit too small for ffmpeg',
    { resources: { limits: { memory: '10Mi' } } },
    /spec\.resources\.limits: .*resources\.limits\.memory must be at least 64Mi/,
  ],
  [
    'a quantity that is not one',
    { resources: { requests: { cpu: 'lots' } } },
    /spec\.resources\.requests\.cpu: Invalid value: "lots"/,
  ],
  ['a misspelt field', { ladder: { presets: '720p' } }, /\.spec\.ladder\.presets: field not declared in schema/],
  [
    'a password channel without its Secret',
    { audience: { visibility: 'password' } },
    /spec\.audience\.password: Required value: audience\.password \(secretName, key\) is required when audience\.visibility is password/,
  ],
  [
    'a password Secret on a private channel',
    { audience: { visibility: 'private', password: { secretName: 'pw' } } },
    /spec\.audience\.password: Forbidden: audience\.password applies only when audience\.visibility is password/,
  ],
  [
    'a password Secret with the default (public) visibility',
    { audience: { password: { secretName: 'pw' } } },
    /spec\.audience\.password: Forbidden: audience\.password applies only/,
  ],
  [
    'an unknown visibility',
    { audience: { visibility: 'secret' } },
    /spec\.audience\.visibility: Unsupported value: "secret"/,
  ],
  ['an empty title', { audience: { title: '' } }, /spec\.audience\.title: Invalid value: "": .*at least 1 chars long/],
  [
    'a title over 140 characters',
    { audience: { title: 't'.repeat(141) } },
    /spec\.audience\.title: Too long: may not be (more|longer) than 140/,
  ],
  [
    'a description over 5000 characters',
    { audience: { description: 'd'.repeat(5001) } },
    /spec\.audience\.description: Too long: may not be (more|longer) than 5000/,
  ],
  [
    'a scheduled start that is not RFC 3339',
    { audience: { scheduledStart: '24 December, 18:00' } },
    /spec\.audience\.scheduledStart: Invalid value: "24 December, 18:00": .*date-time/,
  ],
  [
    'a scheduled start without a zone',
    { audience: { scheduledStart: '2026-12-24T18:00:00' } },
    /spec\.audience\.scheduledStart: Invalid value: .*date-time/,
  ],
  [
    'more than 1000 revoked viewers',
    { audience: { revokedViewers: Array.from({ length: 1001 }, (_, i) => `v${i}`) } },
    /spec\.audience\.revokedViewers: Too many: 1001: must have at most 1000 items/,
  ],
  [
    'a revoked viewer id over 128 characters',
    { audience: { revokedViewers: ['v'.repeat(129)] } },
    /spec\.audience\.revokedViewers\[0\]: Too long: may not be (more|longer) than 128/,
  ],
  [
    'a revoked viewer listed twice',
    { audience: { revokedViewers: ['v1', 'v1'] } },
    /\.spec\.audience\.revokedViewers: duplicate entries for key \[="v1"\]/,
  ],
  [
    'a password Secret name that is not a DNS subdomain',
    { audience: { visibility: 'password', password: { secretName: 'Pass_Word' } } },
    /spec\.audience\.password\.secretName: Invalid value: "Pass_Word"/,
  ],
  [
    'a name that cannot be a Service name',
    { manifest: { apiVersion, kind: 'LiveStream', metadata: { name: '1st-channel' }, spec: {} } },
    /metadata\.name must be a DNS-1035 label of at most 48 characters/,
  ],
  [
    'a name too long for its children',
    { manifest: { apiVersion, kind: 'LiveStream', metadata: { name: 'c'.repeat(49) }, spec: {} } },
    /metadata\.name must be .*at most 48 characters/,
  ],
];

describe('LiveStream CRD', () => {
  const cluster = useTestCluster('crd');
  const apply = (obj: object) =>
    cluster.kubectl(
      ['apply', '--server-side', '--field-manager=crd-test', '-n', cluster.namespace, '-f', '-'],
      JSON.stringify(obj),
    );
  const get = async (name: string) =>
    JSON.parse(await cluster.kubectl(['get', 'livestream', name, '-n', cluster.namespace, '-o', 'json'])) as LiveStream;

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
  });

  it('is structural, with every CEL rule within the cost budget (the API server accepted it)', async () => {
    const crd = JSON.parse(
      await cluster.kubectl(['get', 'crd', 'livestreams.streaming.livestream-operator.dev', '-o', 'json']),
    ) as { status: { conditions: { type: string; status: string; message: string }[] } };
    const byType = Object.fromEntries(crd.status.conditions.map((c) => [c.type, c]));
    expect(byType.Established?.status).toBe('True');
    expect(byType.NamesAccepted?.status).toBe('True');
    expect(byType.NonStructuralSchema).toBeUndefined();
  });

  it.each(invalid)('rejects %s', async (_, input, expected) => {
    const manifest: object =
      'manifest' in input
        ? (input.manifest as object)
        : { apiVersion, kind: 'LiveStream', metadata: { name: 'invalid' }, spec: input };
    await expect(apply(manifest)).rejects.toThrow(expected);
  });

  it('rejects duplicate list keys and unknown fields on create and update too, not only with server-side apply', async () => {
    const create = (spec: Spec) =>
      cluster.kubectl(
        ['create', '-n', cluster.namespace, '-f', '-'],
        JSON.stringify({ apiVersion, kind: 'LiveStream', metadata: { name: 'created' }, spec }),
      );
    await expect(create({ ladder: { renditions: [rendition('sd'), rendition('sd', 320, 180)] } })).rejects.toThrow(
      /spec\.ladder\.renditions\[1\]: Duplicate value: .*"name":"sd"/,
    );
    await expect(create({ relays: [relay('yt'), relay('yt', 'rtmp://other.example.com/app')] })).rejects.toThrow(
      /spec\.relays\[1\]: Duplicate value: .*"name":"yt"/,
    );
    await expect(create({ ladder: { presets: '720p' } })).rejects.toThrow(/unknown field "spec\.ladder\.presets"/);
    // CEL rules hold on update as well.
    await create({});
    await expect(
      cluster.kubectl([
        'patch',
        'livestream',
        'created',
        '-n',
        cluster.namespace,
        '--type=merge',
        '-p',
        '{"spec":{"recording":{"enabled":true}}}',
      ]),
    ).rejects.toThrow(/spec\.recording\.s3: Required value/);
  });

  it.each([
    [{}, { rotationGracePeriod: '10m' }],
    [{ rotationGracePeriod: '0s' }, { rotationGracePeriod: '0s' }],
    [{ rotationGracePeriod: '24h' }, { rotationGracePeriod: '24h' }],
    [
      { rotationGracePeriod: '1h30m15s', secretRef: { name: 'k' } },
      { rotationGracePeriod: '1h30m15s', secretRef: { name: 'k', key: 'streamKey' } },
    ],
  ])('accepts the stream key %j without a required secretRef and stores %j', async (written, stored) => {
    await apply({ apiVersion, kind: 'LiveStream', metadata: { name: 'grace' }, spec: { streamKey: written } });
    expect((await get('grace')).spec.streamKey).toEqual(stored);
  });

  it.each([
    ['minimal', minimalExample],
    ['full', fullExample],
  ])('accepts the %s example and fills in the defaults the fixtures assume', async (name, example) => {
    await apply(example.written);
    const stored = await get(name);
    expect(stored.spec).toEqual(example.storedSpec);
  });

  it.each([
    ['livestream-public.yaml', 'launch'],
    ['livestream-private.yaml', 'all-hands'],
    ['livestream-password.yaml', 'webinar'],
  ])('accepts the audience example %s and stores what the standalone validator stores', async (file, name) => {
    const written = parse(await readFile(join(import.meta.dirname, 'examples', file), 'utf8')) as object;
    await apply(written);
    expect((await get(name)).spec).toEqual(validateLiveStream(written).spec);
  });

  it('accepts the audience at its limits, a past scheduled start included (CEL has no clock)', async () => {
    const audience = {
      title: 't'.repeat(140),
      description: 'd'.repeat(5000),
      visibility: 'private',
      scheduledStart: '2001-01-01T00:00:00.5+01:00',
      revokedViewers: Array.from({ length: 1000 }, (_, i) => `v${i}`.padEnd(128, 'x')),
    };
    await apply({ apiVersion, kind: 'LiveStream', metadata: { name: 'audience-limits' }, spec: { audience } });
    expect((await get('audience-limits')).spec.audience).toEqual(audience);
    // The rule holds on update: turning a channel into a password channel needs the Secret in the same write.
    await expect(
      cluster.kubectl([
        'patch',
        'livestream',
        'audience-limits',
        '-n',
        cluster.namespace,
        '--type=merge',
        '-p',
        '{"spec":{"audience":{"visibility":"password"}}}',
      ]),
    ).rejects.toThrow(/spec\.audience\.password: Required value/);
  });

  it('accepts every preset, relay scheme and a 16-relay, 8-rendition channel at the limits', async () => {
    for (const preset of ['1080p', '720p', '480p', '360p']) {
      await apply({
        apiVersion,
        kind: 'LiveStream',
        metadata: { name: `preset-${preset}` },
        spec: { ladder: { preset }, recording: { enabled: true, rendition: '360p', s3 } },
      });
    }
    await apply({
      apiVersion,
      kind: 'LiveStream',
      metadata: { name: 'c'.repeat(48) },
      spec: {
        reconnectWindowSeconds: 1800,
        hls: { segmentSeconds: 10, playlistLength: 60 },
        ladder: {
          renditions: Array.from({ length: 8 }, (_, i) => ({
            name: `r${i}`,
            width: i === 0 ? 7680 : 16,
            height: i === 0 ? 4320 : 16,
            videoBitrateKbps: 50000,
            fps: 60,
          })),
        },
        relays: Array.from({ length: 16 }, (_, i) =>
          relay(
            `r${i}`,
            ['rtmp://a.example.com/live2', 'rtmps://b.example.com:443/app', 'srt://c.example.com:9000?latency=200'][
              i % 3
            ],
          ),
        ),
        resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: 2, memory: '1Gi' } },
      },
    });
    const list = JSON.parse(await cluster.kubectl(['get', 'livestreams', '-n', cluster.namespace, '-o', 'json'])) as {
      items: LiveStream[];
    };
    expect(list.items.map((i) => i.metadata.name)).toEqual(
      expect.arrayContaining(['preset-1080p', 'preset-720p', 'preset-480p', 'preset-360p', 'c'.repeat(48)]),
    );
  });

  it('keeps status out of spec writes and validates it on the status subresource', async () => {
    await apply({ apiVersion, kind: 'LiveStream', metadata: { name: 'with-status' }, spec: {} });
    const status = {
      observedGeneration: 1,
      state: 'Live',
      viewers: 3,
      bitrateKbps: 2500,
      ingest: { url: 'rtmp://with-status.media:1935/live', streamKeySecret: 'with-status-stream-key' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: '2026-11-21T12:00:00Z',
          reason: 'Live',
          message: 'publishing 1280x720 at 30 fps',
        },
      ],
    };
    const applyStatus = (s: object) =>
      cluster.kubectl(
        [
          'apply',
          '--server-side',
          '--subresource=status',
          '--field-manager=status-test',
          '-n',
          cluster.namespace,
          '-f',
          '-',
        ],
        JSON.stringify({ apiVersion, kind: 'LiveStream', metadata: { name: 'with-status' }, status: s }),
      );
    await applyStatus(status);
    expect((await get('with-status')).status).toMatchObject(status);

    await expect(applyStatus({ ...status, state: 'Streaming' })).rejects.toThrow(
      /status\.state: Unsupported value: "Streaming"/,
    );
    const duplicate = { ...status, conditions: [status.conditions[0], status.conditions[0]] };
    await expect(applyStatus(duplicate)).rejects.toThrow(
      /\.status\.conditions: duplicate entries for key \[type="Ready"\]/,
    );

    // A spec write cannot set status (the subresource owns it).
    await apply({
      apiVersion,
      kind: 'LiveStream',
      metadata: { name: 'with-status' },
      spec: {},
      status: { state: 'Failed' },
    });
    expect((await get('with-status')).status?.state).toBe('Live');
  });

  it('lists LiveStreams with the printer columns, by short name and by category', async () => {
    // The previous test left "with-status" Live with 3 viewers at 2500 kbps.
    const wide = await cluster.kubectl(['get', 'ls', '-n', cluster.namespace, '-o', 'wide']);
    const [header, ...rows] = wide.trim().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'NAME',
      'STATE',
      'READY',
      'INGEST',
      'VIEWERS',
      'BITRATE',
      'AGE',
      'MESSAGE',
      'VISIBILITY',
      'PREVIOUS KEY EXPIRES',
    ]);
    const row = rows.find((r) => r.startsWith('with-status '));
    expect(row?.split(/\s{2,}/)).toEqual([
      'with-status',
      'Live',
      'True',
      'rtmp://with-status.media:1935/live',
      '3',
      '2500',
      expect.stringMatching(/^\d+s$/),
      'publishing 1280x720 at 30 fps',
    ]);
    const narrow = await cluster.kubectl(['get', 'lstream', 'with-status', '-n', cluster.namespace]);
    expect(narrow.split('\n')[0]).not.toContain('MESSAGE');
    const byCategory = await cluster.kubectl(['get', 'streaming', '-n', cluster.namespace, '-o', 'name']);
    expect(byCategory).toContain('livestream.streaming.livestream-operator.dev/with-status');
  });

  it('explains every field with its description', async () => {
    // The OpenAPI document of a new CRD is published a moment after it is Established.
    let spec = '';
    for (let i = 0; i < 30 && !spec.includes('reconnectWindowSeconds'); i++) {
      spec = await cluster.kubectl(['explain', 'livestream.spec']).catch(() => '');
      if (!spec.includes('reconnectWindowSeconds')) await sleep(1000);
    }
    expect(spec).toContain('Desired state of the channel.');
    for (const field of [
      'paused',
      'streamKey',
      'ingest',
      'ladder',
      'hls',
      'reconnectWindowSeconds',
      'relays',
      'recording',
      'resources',
      'audience',
    ]) {
      expect(spec).toMatch(new RegExp(`^  ${field}\\s`, 'm'));
    }
    const preset = await cluster.kubectl(['explain', 'livestream.spec.ladder.preset']);
    expect(preset).toContain('A predefined ladder.');
    expect(preset).toMatch(/ENUM:\s+1080p\s+720p\s+480p\s+360p/);
    const url = await cluster.kubectl(['explain', 'livestream.spec.relays.url']);
    expect(url).toContain('Target server URL without the key');

    // No field of the schema is left without a description.
    const crd = parse(await readFile(crdFile, 'utf8')) as {
      spec: { versions: { schema: { openAPIV3Schema: object } }[] };
    };
    expect(undescribed(crd.spec.versions[0]!.schema.openAPIV3Schema, '')).toEqual([]);
  });
});

/** Paths of schema properties without a description (metadata is described by Kubernetes itself). */
function undescribed(schema: object, path: string): string[] {
  const s = schema as { description?: string; properties?: Record<string, object>; items?: object };
  const missing = path && path !== '.metadata' && !s.description ? [path] : [];
  const props = Object.entries(s.properties ?? {}).flatMap(([k, v]) => undescribed(v, `${path}.${k}`));
  return [...missing, ...props, ...(s.items ? undescribed(s.items, `${path}[]`) : [])];
}
