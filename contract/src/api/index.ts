// The LiveStream API for the operator's code: the generated types, the names of the resource, the condition types
// and reasons (constants, one CamelCase word each), and the ladder presets.
import type { LadderPreset, LiveStream, RenditionSpec } from './livestream.generated.ts';

export type * from './livestream.generated.ts';

export const group = 'streaming.livestream-operator.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'LiveStream';
export const listKind = 'LiveStreamList';
export const plural = 'livestreams';
export const singular = 'livestream';
export const crdName = `${plural}.${group}`;

export interface LiveStreamList {
  apiVersion: typeof apiVersion;
  kind: typeof listKind;
  metadata: { resourceVersion?: string; continue?: string };
  items: LiveStream[];
}

/** Condition types of status.conditions. Ready summarizes the others. */
export const ConditionType = {
  /** The channel accepts publishers and serves viewers (or is Live); the summary for `kubectl get`. */
  Ready: 'Ready',
  /** An encoder is publishing (True), the reconnect window is running (False, PublisherReconnecting), or none. */
  Publishing: 'Publishing',
  /** The stream key Secret, ConfigMap, Deployment and Service exist and the transcoder pod is available. */
  ChildrenReady: 'ChildrenReady',
  /** Every enabled relay is pushing (only meaningful while Live). */
  RelaysHealthy: 'RelaysHealthy',
  /** The current session is being recorded to S3. */
  Recording: 'Recording',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Reasons of conditions: one CamelCase word, stable (alerts and tests match on them). */
export const ConditionReason = {
  // Any condition
  /** First visit: nothing observed yet. */
  Initializing: 'Initializing',
  /** spec.paused is true. */
  Paused: 'Paused',
  /** The spec passed the schema but cannot be used (e.g. a referenced Secret lacks the key); not retried until it changes. */
  InvalidSpec: 'InvalidSpec',
  // Ready
  /** Children ready, waiting for a publisher. */
  WaitingForPublisher: 'WaitingForPublisher',
  /** Children ready and an encoder is publishing. */
  Live: 'Live',
  /** Children are being created or rolled out. */
  ChildrenNotReady: 'ChildrenNotReady',
  // ChildrenReady
  /** Every child exists and the transcoder Deployment is available. */
  ChildrenAvailable: 'ChildrenAvailable',
  /** The transcoder Deployment has no available replica yet. */
  DeploymentUnavailable: 'DeploymentUnavailable',
  /** Applying a child failed (the message says which and why). */
  ApplyFailed: 'ApplyFailed',
  /** The stream key Secret named by spec.streamKey.secretRef is missing or lacks its key. */
  StreamKeyMissing: 'StreamKeyMissing',
  // Publishing
  /** An encoder is publishing. */
  PublishStarted: 'PublishStarted',
  /** No encoder is connected. */
  NoPublisher: 'NoPublisher',
  /** The encoder left; the reconnect window is running. */
  PublisherReconnecting: 'PublisherReconnecting',
  /** The transcoder stopped sending heartbeats; what it last said is no longer trusted. */
  HeartbeatLost: 'HeartbeatLost',
  /** The operator has no Redis to read the transcoders' reports from (or cannot reach it): publish state unknown. */
  ReportsUnavailable: 'ReportsUnavailable',
  /** The ladder's ffmpeg keeps failing. */
  TranscoderFailed: 'TranscoderFailed',
  // RelaysHealthy
  /** Every enabled relay is pushing. */
  RelaysActive: 'RelaysActive',
  /** At least one enabled relay is retrying after an error. */
  RelayFailing: 'RelayFailing',
  /** Enabled relays are starting or waiting for bytes to flow. */
  RelaysConnecting: 'RelaysConnecting',
  /** No relay is configured or enabled. */
  NoRelays: 'NoRelays',
  /** Relays and recording only run while Live. */
  NotLive: 'NotLive',
  // Recording
  /** Segments of the current session are uploaded to S3. */
  RecordingActive: 'RecordingActive',
  /** spec.recording.enabled is false or absent. */
  RecordingDisabled: 'RecordingDisabled',
  /** Recording is enabled; no segment uploaded yet for the current session. */
  RecordingPending: 'RecordingPending',
  /** Uploads to S3 fail (the message has the S3 error, never credentials). */
  UploadFailed: 'UploadFailed',
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/** Reasons of Kubernetes Events on a LiveStream (sparingly: transitions only). */
export const EventReason = {
  PublishStarted: 'PublishStarted',
  PublishEnded: 'PublishEnded',
  SessionEnded: 'SessionEnded',
  StreamKeyRejected: 'StreamKeyRejected',
  StreamKeyGenerated: 'StreamKeyGenerated',
  RelayFailed: 'RelayFailed',
  RelayRecovered: 'RelayRecovered',
  RecordingFinalized: 'RecordingFinalized',
  RecordingFailed: 'RecordingFailed',
  TranscoderFailed: 'TranscoderFailed',
  ApplyFailed: 'ApplyFailed',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** A rendition with every field filled in. */
export type Rendition = Required<RenditionSpec>;

/** The preset ladders, highest rung first (pure data; the CRD's description and CEL rules list the same names). */
export const presets: Readonly<Record<LadderPreset, readonly Readonly<Rendition>[]>> = {
  '1080p': [
    { name: '1080p', width: 1920, height: 1080, videoBitrateKbps: 5000, fps: 30, audioBitrateKbps: 128 },
    { name: '720p', width: 1280, height: 720, videoBitrateKbps: 2800, fps: 30, audioBitrateKbps: 128 },
    { name: '480p', width: 854, height: 480, videoBitrateKbps: 1400, fps: 30, audioBitrateKbps: 128 },
    { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, fps: 30, audioBitrateKbps: 128 },
  ],
  '720p': [
    { name: '720p', width: 1280, height: 720, videoBitrateKbps: 2800, fps: 30, audioBitrateKbps: 128 },
    { name: '480p', width: 854, height: 480, videoBitrateKbps: 1400, fps: 30, audioBitrateKbps: 128 },
    { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, fps: 30, audioBitrateKbps: 128 },
  ],
  '480p': [
    { name: '480p', width: 854, height: 480, videoBitrateKbps: 1400, fps: 30, audioBitrateKbps: 128 },
    { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, fps: 30, audioBitrateKbps: 128 },
  ],
  '360p': [{ name: '360p', width: 640, height: 360, videoBitrateKbps: 800, fps: 30, audioBitrateKbps: 96 }],
};

export const defaultPreset: LadderPreset = '720p';

/** The ladder a spec asks for: its explicit renditions, else its preset, else the default preset. */
export function ladderRenditions(
  ladder:
    | {
        preset?: LadderPreset;
        passthrough?: boolean;
        renditions?: readonly (Pick<RenditionSpec, 'name' | 'width' | 'height' | 'videoBitrateKbps'> &
          Partial<RenditionSpec>)[];
      }
    | undefined,
): Rendition[] {
  if (ladder?.renditions && ladder.renditions.length > 0) {
    return ladder.renditions.map((r) => ({ ...r, fps: r.fps ?? 30, audioBitrateKbps: r.audioBitrateKbps ?? 128 }));
  }
  return presets[ladder?.preset ?? defaultPreset].map((r) => ({ ...r }));
}

/** Name of the Secret holding the stream key: the one the spec names, else the generated "<name>-stream-key". */
export function streamKeySecretName(ls: Pick<LiveStream, 'metadata' | 'spec'>): string {
  return ls.spec.streamKey?.secretRef.name ?? `${ls.metadata.name}-stream-key`;
}

/** Key of the stream key in that Secret. */
export function streamKeySecretKey(ls: Pick<LiveStream, 'spec'>): string {
  return ls.spec.streamKey?.secretRef.key ?? 'streamKey';
}
