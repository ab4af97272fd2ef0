import { describe, expect, it } from 'vitest';
import { fullExample, minimalExample } from '../../../test/support/livestream-examples.ts';
import {
  celRuleCoverage,
  SchemaValidationError,
  validateLiveStream,
  validateS3Destination,
  specWarnings,
  validateSpec,
} from './validate.ts';

const rendition = (name: string, width = 640, height = 360) => ({ name, width, height, videoBitrateKbps: 800 });
const relay = (name: string, url = 'rtmp://live.example.com/app') => ({ name, url });
const s3 = { bucket: 'recordings', credentialsSecretRef: { name: 's3' } };

function refusal(spec: unknown): string[] {
  try {
    validateSpec(spec);
  } catch (err) {
    if (err instanceof SchemaValidationError) return [...err.causes];
    throw err;
  }
  throw new Error('accepted');
}

describe('validateLiveStream', () => {
  it.each([
    ['minimal', minimalExample],
    ['full', fullExample],
  ])('fills in the defaults the API server stores for the %s example', (_, example) => {
    const stored = validateLiveStream(example.written);
    // The stored forms are checked against a real API server (crds/livestream-validation.int.test.ts).
    expect(stored.spec).toEqual(example.storedSpec);
    expect(example.written.spec).not.toHaveProperty('paused'); // the input is not written to
  });

  it('fills apiVersion and kind, drops status, and requires metadata.name', () => {
    const stored = validateLiveStream({ metadata: { name: 'demo' }, status: { state: 'Live' } });
    expect(stored).toMatchObject({ apiVersion: 'streaming.livestream-operator.dev/v1alpha1', kind: 'LiveStream' });
    expect(stored).not.toHaveProperty('status');
    expect(() => validateLiveStream({ spec: {} })).toThrow(/^metadata: Required value$/);
    expect(() => validateLiveStream({ metadata: { name: '1st' } })).toThrow(
      /^<nil>: Invalid value: "object": metadata.name must be a DNS-1035 label of at most 48/,
    );
    expect(() => validateLiveStream({ metadata: { name: 'a', namespace: 'No' } })).toThrow(
      /metadata\.namespace: Invalid value: "string": .*should match/,
    );
    expect(() => validateLiveStream({ kind: 'Pod', metadata: { name: 'a' } })).toThrow(
      /kind: Unsupported value: "string": supported values: "LiveStream"/,
    );
  });

  it('refuses unknown fields, naming them as kubectl does', () => {
    expect(refusal({ ladder: { presets: '720p' }, typo: 1 }).sort()).toEqual([
      'unknown field "spec.ladder.presets"',
      'unknown field "spec.typo"',
    ]);
  });

  // [what is wrong, spec, what the error must say]: each keyword of the schema and each CEL rule evaluated here.
  it.each<[string, unknown, RegExp]>([
    ['a wrong type', { paused: 'yes' }, /^spec\.paused: Invalid value: "string": .*must be of type boolean/],
    ['an unknown enum value', { ladder: { preset: '4k' } }, /^spec\.ladder\.preset: Unsupported value: .*"720p"/],
    ['a pattern', { ingest: { app: 'li/ve' } }, /^spec\.ingest\.app: Invalid value: "string": .*should match/],
    ['a minimum', { hls: { segmentSeconds: 0 } }, /^spec\.hls\.segmentSeconds: Invalid value: 0: .*or equal to 1$/],
    ['a maximum', { reconnectWindowSeconds: 1801 }, /^spec\.reconnectWindowSeconds: Invalid value: 1801: .*1800$/],
    ['a fraction', { hls: { playlistLength: 6.5 } }, /^spec\.hls\.playlistLength: .*must be of type integer/],
    ['a maxLength', { ingest: { app: 'a'.repeat(65) } }, /^spec\.ingest\.app: Too long: may not be more than 64/],
    ['a minItems', { ladder: { renditions: [] } }, /^spec\.ladder\.renditions: .*should have at least 1 items$/],
    [
      'a maxItems',
      { relays: Array.from({ length: 17 }, (_, i) => relay(`r${i}`)) },
      /^spec\.relays: Too many: 17: must have at most 16 items$/,
    ],
    [
      'a required field',
      { ladder: { renditions: [{ name: 'sd', width: 640, height: 360 }] } },
      /^spec\.ladder\.renditions\[0\]\.videoBitrateKbps: Required value$/,
    ],
    [
      'an int-or-string quantity',
      { resources: { requests: { cpu: 'lots' } } },
      /^spec\.resources\.requests\.cpu: Invalid value: "string": .*should match/,
    ],
    [
      'a duplicate list-map key',
      { ladder: { renditions: [rendition('sd'), rendition('sd', 320, 180)] } },
      /^spec\.ladder\.renditions\[1\]: Duplicate value: \{"name":"sd"\}$/,
    ],
    [
      'preset and renditions together',
      { ladder: { preset: '720p', renditions: [rendition('sd')] } },
      /^spec\.ladder\.renditions: Forbidden: ladder\.preset and ladder\.renditions are mutually exclusive/,
    ],
    [
      'an odd width',
      { ladder: { renditions: [rendition('sd', 641, 360)] } },
      /^spec\.ladder\.renditions\[0\]\.width: Invalid value: "integer": width must be even/,
    ],
    [
      'a rendition name that is not a DNS label',
      { ladder: { renditions: [rendition('HD_720')] } },
      /^spec\.ladder\.renditions\[0\]\.name: Invalid value: "string": must be a DNS label/,
    ],
    [
      'a reserved rendition name',
      { ladder: { renditions: [rendition('audio')] } },
      /^spec\.ladder\.renditions\[0\]\.name: Forbidden: source and audio are reserved/,
    ],
    [
      'a relay over HTTP',
      { relays: [relay('web', 'https://live.example.com/app')] },
      /^spec\.relays\[0\]\.url: Invalid value: "string": url must start with rtmp:\/\//,
    ],
    [
      'a relay URL with credentials',
      { relays: [relay('yt', 'rtmp://user:secret@live.example.com/app')] },
      /^spec\.relays\[0\]\.url: Forbidden: url must not carry credentials/,
    ],
    [
      'a relay URL with the key in its query, whatever its case',
      { relays: [relay('srt', 'srt://ingest.example.com:9000?mode=caller&PassPhrase=hunter2hunter2')] },
      /^spec\.relays\[0\]\.url: Forbidden: url must not carry a key/,
    ],
    [
      'a NodePort for a channel reached via the gateway only',
      { ingest: { via: 'Gateway', serviceType: 'NodePort' } },
      /^spec\.ingest\.serviceType: Forbidden: ingest\.serviceType NodePort or LoadBalancer gives the channel an address/,
    ],
    [
      'recording without S3',
      { recording: { enabled: true } },
      /^spec\.recording\.s3: Required value: recording\.s3 \(bucket and credentialsSecretRef\) is required/,
    ],
    [
      'recording without S3 credentials',
      { recording: { enabled: true, s3: { bucket: 'recordings' } } },
      /^spec\.recording\.s3\.credentialsSecretRef: Required value: /,
    ],
    [
      'recording a rendition the explicit ladder lacks',
      { ladder: { renditions: [rendition('sd')] }, recording: { enabled: true, rendition: 'hd', s3 } },
      /^spec\.recording\.rendition: Invalid value: "object": recording\.rendition is not a rendition of the ladder$/,
    ],
    [
      'recording a rendition the preset lacks',
      { ladder: { preset: '480p' }, recording: { enabled: true, rendition: '720p', s3 } },
      /^spec\.recording\.rendition: .*not a rendition of the ladder's preset$/,
    ],
    [
      'recording a rendition the default preset lacks',
      { ladder: {}, recording: { enabled: true, rendition: '1080p', s3 } },
      /^spec\.recording\.rendition: .*not a rendition of the ladder's preset$/,
    ],
    [
      'a password channel without its Secret',
      { audience: { visibility: 'password' } },
      /^spec\.audience\.password: Required value: audience\.password \(secretName, key\) is required/,
    ],
    [
      'a password Secret on a channel that is not a password channel',
      { audience: { visibility: 'private', password: { secretName: 'pw' } } },
      /^spec\.audience\.password: Forbidden: audience\.password applies only when audience\.visibility is password/,
    ],
    [
      'a password Secret with the default visibility',
      { audience: { password: { secretName: 'pw' } } },
      /^spec\.audience\.password: Forbidden: /,
    ],
    ['an unknown visibility', { audience: { visibility: 'secret' } }, /^spec\.audience\.visibility: Unsupported value/],
    ['an empty title', { audience: { title: '' } }, /^spec\.audience\.title: .*at least 1 chars long$/],
    [
      'a title over 140 characters',
      { audience: { title: 't'.repeat(141) } },
      /^spec\.audience\.title: Too long: may not be more than 140/,
    ],
    [
      'a description over 5000 characters',
      { audience: { description: 'd'.repeat(5001) } },
      /^spec\.audience\.description: Too long: may not be more than 5000/,
    ],
    [
      'a scheduled start that is not RFC 3339',
      { audience: { scheduledStart: '24 December, 18:00' } },
      /^spec\.audience\.scheduledStart: Invalid value: "string": must match format "date-time"$/,
    ],
    [
      'a scheduled start without a zone',
      { audience: { scheduledStart: '2026-12-24T18:00:00' } },
      /^spec\.audience\.scheduledStart: .*date-time/,
    ],
    [
      'a scheduled start on a day that does not exist',
      { audience: { scheduledStart: '2026-02-30T18:00:00Z' } },
      /^spec\.audience\.scheduledStart: .*date-time/,
    ],
    [
      'more than 1000 revoked viewers',
      { audience: { revokedViewers: Array.from({ length: 1001 }, (_, i) => `v${i}`) } },
      /^spec\.audience\.revokedViewers: Too many: 1001: must have at most 1000 items$/,
    ],
    [
      'a revoked viewer id over 128 characters',
      { audience: { revokedViewers: ['v'.repeat(129)] } },
      /^spec\.audience\.revokedViewers\[0\]: Too long: may not be more than 128/,
    ],
    [
      'a revoked viewer listed twice (a set)',
      { audience: { revokedViewers: ['v1', 'v2', 'v1'] } },
      /^spec\.audience\.revokedViewers\[2\]: Duplicate value: "string"$/,
    ],
    [
      'an LL-HLS part below 0.2 s',
      { hls: { lowLatency: { enabled: true, partSeconds: 0.1 } } },
      /^spec\.hls\.lowLatency\.partSeconds: Invalid value: 0\.1: .*greater than or equal to 0\.2$/,
    ],
    [
      'an LL-HLS part above 1 s',
      { hls: { segmentSeconds: 4, lowLatency: { enabled: true, partSeconds: 1.5 } } },
      /^spec\.hls\.lowLatency\.partSeconds: Invalid value: 1\.5: .*less than or equal to 1$/,
    ],
    [
      'an LL-HLS switch that is not a boolean',
      { hls: { lowLatency: { enabled: 'yes' } } },
      /^spec\.hls\.lowLatency\.enabled: Invalid value: "string": .*must be of type boolean/,
    ],
    [
      'an LL-HLS part longer than half a segment',
      { hls: { segmentSeconds: 1, lowLatency: { enabled: true, partSeconds: 0.6 } } },
      /^spec\.hls\.lowLatency\.partSeconds: Invalid value: "object": hls\.lowLatency\.partSeconds must be at most half of hls\.segmentSeconds/,
    ],
    [
      'a password Secret name that is not a DNS subdomain',
      { audience: { visibility: 'password', password: { secretName: 'Pass_Word' } } },
      /^spec\.audience\.password\.secretName: .*should match/,
    ],
  ])('refuses %s with the field named', (_, spec, expected) => {
    const causes = refusal(spec);
    expect(causes).toHaveLength(1);
    expect(causes[0]).toMatch(expected);
  });

  it('lists every error of the OpenAPI schema at once, and never repeats a string value back', () => {
    const causes = refusal({
      ingest: { serviceType: 'ExternalName' },
      hls: { segmentSeconds: 11 },
      recording: { s3: { bucket: 'x', endpoint: 'http://user:hunter2@minio' } },
    });
    expect([...new Set(causes.map((c) => c.split(':')[0]))]).toEqual([
      'spec.ingest.serviceType',
      'spec.hls.segmentSeconds',
      'spec.recording.s3.bucket',
      'spec.recording.s3.endpoint',
    ]);
    expect(causes.join('\n')).not.toContain('hunter2');
  });

  it('accepts the limits and leaves spec.resources rules to the API server', () => {
    const spec = validateSpec({ ladder: { preset: '1080p' }, recording: { enabled: true, rendition: '1080p', s3 } });
    expect(spec.recording?.rendition).toBe('1080p');
    expect(() => validateSpec({ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } })).not.toThrow();
  });
});

describe('spec.hls.lowLatency', () => {
  it('is absent unless written (classic HLS), and defaults to off with parts of 0.5 s when written', () => {
    expect(validateSpec({}).hls).toEqual({ segmentSeconds: 2, playlistLength: 6 });
    expect(validateSpec({ hls: { lowLatency: {} } }).hls.lowLatency).toEqual({ enabled: false, partSeconds: 0.5 });
    expect(validateSpec({ hls: { lowLatency: { enabled: true } } }).hls.lowLatency).toEqual({
      enabled: true,
      partSeconds: 0.5,
    });
  });

  it('accepts the limits: 0.2 s parts, and 1 s parts in 2 s segments; a switched-off part is not checked', () => {
    expect(() => validateSpec({ hls: { lowLatency: { enabled: true, partSeconds: 0.2 } } })).not.toThrow();
    expect(() => validateSpec({ hls: { segmentSeconds: 1, lowLatency: { enabled: true } } })).not.toThrow();
    expect(() => validateSpec({ hls: { lowLatency: { enabled: true, partSeconds: 1 } } })).not.toThrow();
    expect(() => validateSpec({ hls: { segmentSeconds: 1, lowLatency: { partSeconds: 1 } } })).not.toThrow();
  });
});

describe('spec.audience', () => {
  it('defaults the visibility to public and the password key to "password"', () => {
    expect(validateSpec({ audience: { title: 'Launch' } }).audience).toEqual({ title: 'Launch', visibility: 'public' });
    expect(validateSpec({ audience: { visibility: 'password', password: { secretName: 'pw' } } }).audience).toEqual({
      visibility: 'password',
      password: { secretName: 'pw', key: 'password' },
    });
  });

  it('accepts the limits: 140 characters of title, 5000 of description, 1000 revoked viewers, RFC 3339 offsets', () => {
    const audience = {
      title: 't'.repeat(140),
      description: 'd'.repeat(5000),
      visibility: 'private',
      scheduledStart: '2026-12-24T18:00:00.5+01:00',
      revokedViewers: Array.from({ length: 1000 }, (_, i) => `v${i}`.padEnd(128, 'x')),
    };
    expect(validateSpec({ audience }).audience).toEqual(audience);
  });

  it('warns about a scheduled start more than 24 h in the past, which the CRD cannot see (no clock in CEL)', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    const at = (scheduledStart: string) => specWarnings({ audience: { visibility: 'public', scheduledStart } }, now);
    expect(at('2026-12-24T18:00:00Z')).toEqual([]);
    expect(at('2026-12-01T12:00:00Z')).toEqual([]); // exactly a day ago: a start that slipped is still shown
    expect(at('2026-12-01T11:59:59Z')).toEqual([expect.stringMatching(/^spec\.audience\.scheduledStart is more/)]);
    expect(specWarnings({}, now)).toEqual([]);
  });
});

describe('celRuleCoverage', () => {
  it('evaluates every CEL rule of the CRD but those that only a cluster needs', () => {
    const coverage = celRuleCoverage();
    expect(coverage.filter((c) => c.standalone === 'missing')).toEqual([]);
    expect(coverage.filter((c) => c.standalone === 'cluster-only').map((c) => c.at)).toEqual([
      'spec.resources',
      'spec.resources',
      'spec.resources',
    ]);
    expect(coverage.filter((c) => c.standalone === 'evaluated').length).toBeGreaterThanOrEqual(14);
  });
});

describe('validateS3Destination', () => {
  it('applies the defaults of spec.recording.s3 and names the fields under the given path', () => {
    expect(validateS3Destination({ bucket: 'recordings' })).toEqual({
      bucket: 'recordings',
      region: 'us-east-1',
      forcePathStyle: false,
    });
    expect(() => validateS3Destination({ bucket: 'Bad_Bucket', region: '' }, 'S3 settings')).toThrow(
      /^S3 settings\.bucket: Invalid value: "string": .*should match .*; S3 settings\.region: .*at least 1 chars long/,
    );
  });
});
