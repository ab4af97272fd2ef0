// Example LiveStreams, as a user writes them and as the API server stores them (defaults applied). Tests use the
// stored forms as fixtures; crds/livestream-validation.int.test.ts checks against a real API server that applying
// each written form yields exactly the stored spec, so the fixtures cannot drift from the CRD's defaults.
import type { LiveStream, LiveStreamSpec } from '../../contract/src/api/livestream.generated.ts';

export interface Example {
  /** The manifest a user applies (spec as written). */
  written: { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };
  /** spec after the API server's defaulting. */
  storedSpec: LiveStreamSpec;
}

const apiVersion = 'streaming.livestream-operator.dev/v1alpha1';

export const minimalExample: Example = {
  written: { apiVersion, kind: 'LiveStream', metadata: { name: 'minimal' }, spec: {} },
  storedSpec: {
    paused: false,
    ingest: { app: 'live', serviceType: 'ClusterIP', httpFlv: false },
    ladder: { preset: '720p', passthrough: true },
    hls: { segmentSeconds: 2, playlistLength: 6 },
    reconnectWindowSeconds: 30,
  },
};

export const fullExample: Example = {
  written: {
    apiVersion,
    kind: 'LiveStream',
    metadata: { name: 'full' },
    spec: {
      streamKey: { secretRef: { name: 'studio-key' } },
      ingest: { app: 'studio', serviceType: 'LoadBalancer', httpFlv: true },
      ladder: {
        renditions: [
          { name: 'hd', width: 1280, height: 720, videoBitrateKbps: 3000, fps: 60 },
          { name: 'sd', width: 640, height: 360, videoBitrateKbps: 800, audioBitrateKbps: 96 },
        ],
        passthrough: false,
      },
      hls: { segmentSeconds: 4 },
      reconnectWindowSeconds: 120,
      relays: [
        { name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt-key' } },
        { name: 'twitch', url: 'rtmps://live.twitch.tv:443/app', keySecretRef: { name: 'twitch', key: 'key' } },
        { name: 'backup', url: 'srt://backup.example.com:9000?latency=200000', enabled: false },
      ],
      recording: {
        enabled: true,
        rendition: 'hd',
        s3: {
          bucket: 'recordings',
          prefix: 'live',
          endpoint: 'http://minio.storage:9000',
          forcePathStyle: true,
          credentialsSecretRef: { name: 's3-creds' },
        },
      },
      resources: { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: 2, memory: '1Gi' } },
    },
  },
  storedSpec: {
    paused: false,
    streamKey: { secretRef: { name: 'studio-key', key: 'streamKey' }, rotationGracePeriod: '10m' },
    ingest: { app: 'studio', serviceType: 'LoadBalancer', httpFlv: true },
    ladder: {
      renditions: [
        { name: 'hd', width: 1280, height: 720, videoBitrateKbps: 3000, fps: 60, audioBitrateKbps: 128 },
        { name: 'sd', width: 640, height: 360, videoBitrateKbps: 800, fps: 30, audioBitrateKbps: 96 },
      ],
      passthrough: false,
    },
    hls: { segmentSeconds: 4, playlistLength: 6 },
    reconnectWindowSeconds: 120,
    relays: [
      {
        name: 'youtube',
        url: 'rtmp://a.rtmp.youtube.com/live2',
        keySecretRef: { name: 'yt-key', key: 'streamKey' },
        enabled: true,
      },
      {
        name: 'twitch',
        url: 'rtmps://live.twitch.tv:443/app',
        keySecretRef: { name: 'twitch', key: 'key' },
        enabled: true,
      },
      { name: 'backup', url: 'srt://backup.example.com:9000?latency=200000', enabled: false },
    ],
    recording: {
      enabled: true,
      rendition: 'hd',
      s3: {
        bucket: 'recordings',
        prefix: 'live',
        endpoint: 'http://minio.storage:9000',
        region: 'us-east-1',
        forcePathStyle: true,
        credentialsSecretRef: {
          name: 's3-creds',
          accessKeyIdKey: 'accessKeyId',
          secretAccessKeyKey: 'secretAccessKey',
        },
      },
    },
    resources: { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: 2, memory: '1Gi' } },
  },
};

/** A LiveStream as read from the API server (for builder and status tests). */
export function storedLiveStream(
  example: Example,
  metadata: { namespace?: string; uid?: string; generation?: number } = {},
): LiveStream {
  return {
    apiVersion,
    kind: 'LiveStream',
    metadata: {
      name: example.written.metadata.name,
      namespace: metadata.namespace ?? 'media',
      uid: metadata.uid ?? '6f1c3c52-4f0e-4d3c-9a57-1d2b3c4d5e6f',
      generation: metadata.generation ?? 1,
      resourceVersion: '4242',
      creationTimestamp: new Date('2026-11-21T12:00:00Z'),
      managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion, fieldsType: 'FieldsV1', fieldsV1: {} }],
    },
    spec: structuredClone(example.storedSpec),
    status: { state: 'Idle', viewers: 0, bitrateKbps: 0 },
  };
}
