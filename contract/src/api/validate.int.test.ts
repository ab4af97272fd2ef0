// The standalone validator (validate.ts) against a real API server with the CRD installed: a manifest the API
// server refuses is refused standalone too, naming every field the API server names; one it accepts is accepted,
// with the spec the API server stores.
import { beforeAll, describe, expect, it } from 'vitest';
import { fullExample, minimalExample } from '../../../test/support/livestream-examples.ts';
import { applyLiveStreamCrd } from '../../../test/support/livestream-crd.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { apiVersion, kind, type LiveStream } from './index.ts';
import { SchemaValidationError, validateLiveStream } from './validate.ts';

const rendition = (name: string, width = 640, height = 360) => ({ name, width, height, videoBitrateKbps: 800 });
const relay = (name: string, url = 'rtmp://live.example.com/app') => ({ name, url });
const s3 = { bucket: 'recordings', credentialsSecretRef: { name: 's3' } };
const manifest = (spec: unknown, name = 'standalone') => ({ apiVersion, kind, metadata: { name }, spec });

// One thing wrong in each: the OpenAPI keywords, the list-map keys, unknown fields and every CEL rule evaluated
// standalone (spec.resources' rules are the API server's alone).
const refused: Array<[string, object]> = [
  ['preset and renditions', manifest({ ladder: { preset: '720p', renditions: [rendition('sd')] } })],
  ['an unknown preset', manifest({ ladder: { preset: '4k' } })],
  ['an empty ladder', manifest({ ladder: { renditions: [] } })],
  ['an odd width', manifest({ ladder: { renditions: [rendition('sd', 641)] } })],
  ['a width below 16', manifest({ ladder: { renditions: [rendition('sd', 8)] } })],
  ['a rendition name with capitals', manifest({ ladder: { renditions: [rendition('HD_720')] } })],
  ['a reserved rendition name', manifest({ ladder: { renditions: [rendition('source')] } })],
  ['two renditions with one name', manifest({ ladder: { renditions: [rendition('sd'), rendition('sd', 320, 180)] } })],
  ['a rendition without bitrate', manifest({ ladder: { renditions: [{ name: 'sd', width: 640, height: 360 }] } })],
  ['a fractional playlist length', manifest({ hls: { playlistLength: 6.5 } })],
  ['0 s segments', manifest({ hls: { segmentSeconds: 0 } })],
  ['a window above 1800 s', manifest({ reconnectWindowSeconds: 1801 })],
  ['LL-HLS parts of 0.1 s', manifest({ hls: { lowLatency: { enabled: true, partSeconds: 0.1 } } })],
  ['LL-HLS parts of 1.5 s', manifest({ hls: { segmentSeconds: 4, lowLatency: { enabled: true, partSeconds: 1.5 } } })],
  [
    'LL-HLS parts longer than half a segment',
    manifest({ hls: { segmentSeconds: 1, lowLatency: { enabled: true, partSeconds: 0.6 } } }),
  ],
  ['paused as a string', manifest({ paused: 'yes' })],
  ['an app with a slash', manifest({ ingest: { app: 'live/x' } })],
  ['a long app', manifest({ ingest: { app: 'a'.repeat(65) } })],
  ['an ExternalName Service', manifest({ ingest: { serviceType: 'ExternalName' } })],
  ['a key rotation grace over 24h', manifest({ streamKey: { rotationGracePeriod: '25h' } })],
  ['a key rotation grace that is no duration', manifest({ streamKey: { rotationGracePeriod: '10 minutes' } })],
  ['a relay over HTTP', manifest({ relays: [relay('web', 'https://live.example.com/app')] })],
  ['a relay URL with credentials', manifest({ relays: [relay('yt', 'rtmp://u:p@live.example.com/app')] })],
  ['a relay key in the query', manifest({ relays: [relay('srt', 'srt://i.example.com:9000?PassPhrase=x1')] })],
  ['a relay name with capitals', manifest({ relays: [relay('You_Tube')] })],
  ['two relays with one name', manifest({ relays: [relay('yt'), relay('yt', 'rtmp://other.example.com/app')] })],
  ['17 relays', manifest({ relays: Array.from({ length: 17 }, (_, i) => relay(`r${i}`)) })],
  ['a relay without URL', manifest({ relays: [{ name: 'yt' }] })],
  ['recording without S3', manifest({ recording: { enabled: true } })],
  ['recording without credentials', manifest({ recording: { enabled: true, s3: { bucket: 'recordings' } } })],
  ['a bucket with capitals', manifest({ recording: { s3: { ...s3, bucket: 'My_Bucket' } } })],
  ['a prefix with a leading slash', manifest({ recording: { s3: { ...s3, prefix: '/live' } } })],
  ['an endpoint with credentials', manifest({ recording: { s3: { ...s3, endpoint: 'http://u:p@minio:9000' } } })],
  [
    'a recorded rendition the ladder lacks',
    manifest({ ladder: { renditions: [rendition('sd')] }, recording: { enabled: true, rendition: 'hd', s3 } }),
  ],
  [
    'a recorded rendition the preset lacks',
    manifest({ ladder: { preset: '480p' }, recording: { enabled: true, rendition: '720p', s3 } }),
  ],
  ['a recorded rendition the default preset lacks', manifest({ recording: { enabled: true, rendition: '1080p', s3 } })],
  ['a quantity that is not one', manifest({ resources: { requests: { cpu: 'lots' } } })],
  ['a misspelt field', manifest({ ladder: { presets: '720p' } })],
  ['a password channel without its Secret', manifest({ audience: { visibility: 'password' } })],
  [
    'a password Secret on a private channel',
    manifest({ audience: { visibility: 'private', password: { secretName: 'p' } } }),
  ],
  ['a password Secret with the default visibility', manifest({ audience: { password: { secretName: 'p' } } })],
  ['an unknown visibility', manifest({ audience: { visibility: 'secret' } })],
  ['an empty title', manifest({ audience: { title: '' } })],
  ['a title of 141 characters', manifest({ audience: { title: 't'.repeat(141) } })],
  ['a description of 5001 characters', manifest({ audience: { description: 'd'.repeat(5001) } })],
  ['a scheduled start without a zone', manifest({ audience: { scheduledStart: '2026-12-24T18:00:00' } })],
  ['a scheduled start on 30 February', manifest({ audience: { scheduledStart: '2026-02-30T18:00:00Z' } })],
  ['a revoked viewer listed twice', manifest({ audience: { revokedViewers: ['v1', 'v1'] } })],
  ['an empty revoked viewer id', manifest({ audience: { revokedViewers: [''] } })],
  ['1001 revoked viewers', manifest({ audience: { revokedViewers: Array.from({ length: 1001 }, (_, i) => `v${i}`) } })],
  ['a name that cannot be a Service name', manifest({}, '1st-channel')],
  ['a name too long for its children', manifest({}, 'c'.repeat(49))],
];

const accepted: Array<[string, object]> = [
  ['the minimal example', minimalExample.written],
  ['the full example', fullExample.written],
  ['a ladder without a preset', manifest({ ladder: { passthrough: false } }, 'no-preset')],
  ['LL-HLS with the default part', manifest({ hls: { lowLatency: { enabled: true } } }, 'll-default')],
  [
    'LL-HLS at its limits',
    manifest({ hls: { segmentSeconds: 1, lowLatency: { enabled: true, partSeconds: 0.5 } } }, 'll-limits'),
  ],
  ['LL-HLS off with any part', manifest({ hls: { segmentSeconds: 1, lowLatency: { partSeconds: 1 } } }, 'll-off')],
  [
    'the limits',
    manifest(
      {
        reconnectWindowSeconds: 1800,
        hls: { segmentSeconds: 10, playlistLength: 60 },
        ladder: { preset: '1080p' },
        recording: {
          enabled: true,
          rendition: '1080p',
          s3: { ...s3, prefix: 'a/b/', endpoint: 'https://s3.example.com/x' },
        },
        relays: [relay('a', 'rtmps://b.example.com:443/app?latency=2')],
        resources: { requests: { cpu: 1, memory: '256Mi' } },
      },
      'c'.repeat(48),
    ),
  ],
  [
    'an audience at its limits',
    manifest(
      {
        audience: {
          title: 't'.repeat(140),
          description: 'd'.repeat(5000),
          visibility: 'password',
          scheduledStart: '2026-12-24T18:00:00.25-05:00',
          password: { secretName: 'viewers.pw' },
          revokedViewers: ['v'.repeat(128)],
        },
      },
      'audience',
    ),
  ],
];

/** The fields an API server error names: `spec.x[0].y: ...` lines and `unknown field "spec.x"`. */
function fieldsNamed(message: string): string[] {
  return [...message.matchAll(/(?:^|[\s"*])((?:metadata|spec)(?:\.[A-Za-z][A-Za-z0-9]*|\[\d+\])+)(?=[:"])/gm)].map(
    (m) => m[1] ?? '',
  );
}

function standaloneRefusal(document: object): string {
  try {
    validateLiveStream(document);
    return '';
  } catch (err) {
    if (err instanceof SchemaValidationError) return err.message;
    throw err;
  }
}

describe('the standalone validator and the API server', () => {
  const cluster = useTestCluster('standalone');
  const create = (document: object) =>
    cluster.kubectl(['create', '-n', cluster.namespace, '-o', 'json', '-f', '-'], JSON.stringify(document));

  beforeAll(async () => {
    await applyLiveStreamCrd(cluster.kubectl);
  });

  it.each(refused)('both refuse %s, naming the same fields', async (_, document) => {
    const server = await create(document).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(server, 'the API server refuses it').not.toBe('');
    const standalone = standaloneRefusal(document);
    expect(standalone, 'the standalone validator refuses it').not.toBe('');
    const fields = fieldsNamed(server);
    for (const field of fields) expect(standalone).toContain(field);
    if (fields.length === 0) expect(server).toContain(standalone.replace(/^<nil>: Invalid value: "object": /, ''));
  });

  it.each(accepted)('both accept %s, and the spec the API server stores is the standalone one', async (_, document) => {
    const stored = JSON.parse(await create(document)) as LiveStream;
    expect(validateLiveStream(document).spec).toEqual(stored.spec);
  });
});
