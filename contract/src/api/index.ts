// The LiveStream API for the operator's code: the generated types, the names of the resource, the condition types
// and reasons (constants, one CamelCase word each), and the ladder presets.
import { defaultRotationGracePeriod, maxRotationGraceMs, parseDuration } from '../ingest-keys.ts';
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

/** Condition types of status.conditions. Ready summarizes the others; `state` is derived from them. */
export const ConditionType = {
  /** The channel accepts publishers and serves viewers (or is Live); the summary for `kubectl get`. */
  Ready: 'Ready',
  /** The stream key Secret, ConfigMap, Deployment and Service exist and the transcoder pod is available. */
  ChildrenReady: 'ChildrenReady',
  /** An encoder is publishing (True), the reconnect window is running (False, PublisherReconnecting), or none. */
  Publishing: 'Publishing',
  /** While Live: the ladder turns the ingest into HLS segments (False when ffmpeg keeps failing or stalls). */
  Transcoding: 'Transcoding',
  /** Every enabled relay is pushing (only meaningful while Live). */
  RelaysHealthy: 'RelaysHealthy',
  /** The current session is being recorded to S3. */
  Recording: 'Recording',
  /** The running session uses the spec's session-scoped settings (ladder, hls); False while a change waits. */
  SpecApplied: 'SpecApplied',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/**
 * Reasons of conditions: one CamelCase word, stable (alerts and tests match on them), each meaning one thing. Every
 * reason is produced by a rule of operator/src/controller/status/ (a unit test checks it). Ready repeats the reason of
 * the condition that keeps it False.
 */
export const ConditionReason = {
  // Several conditions
  /** spec.paused is true: the transcoder is scaled to zero. */
  Paused: 'Paused',
  /** What the condition watches runs only while Live (relays, recording, the ladder). */
  NotLive: 'NotLive',
  // Ready
  /** Children ready, waiting for a publisher. */
  WaitingForPublisher: 'WaitingForPublisher',
  /** Children ready, an encoder is publishing and the ladder produces HLS. */
  Live: 'Live',
  // ChildrenReady
  /** Every child exists and the transcoder Deployment is available. */
  ChildrenAvailable: 'ChildrenAvailable',
  /** The transcoder Deployment has no available replica yet. */
  DeploymentUnavailable: 'DeploymentUnavailable',
  /** Applying a child failed for a reason that may pass (the message says which and why); retried with backoff. */
  ApplyFailed: 'ApplyFailed',
  /** The API server rejected a child built from this spec (a rule the CRD schema cannot express); not retried until
   * the spec changes. */
  InvalidSpec: 'InvalidSpec',
  /** The stream key Secret (spec.streamKey.secretRef) is missing or lacks its key: no publisher can be accepted. */
  StreamKeyMissing: 'StreamKeyMissing',
  /** spec.ingest.via is Gateway or Both and the operator was installed without the gateway: no gateway address. */
  GatewayNotInstalled: 'GatewayNotInstalled',
  // Publishing
  /** No report from the transcoder yet. */
  Initializing: 'Initializing',
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
  // Transcoding
  /** The ladder's ffmpeg exited repeatedly in this session and has written no segment since. */
  TranscoderFailed: 'TranscoderFailed',
  /** The ladder runs but has written no new HLS segment for a while. */
  SegmentsStalled: 'SegmentsStalled',
  /** The session has just started: no segment written yet. */
  WaitingForSegments: 'WaitingForSegments',
  /** New HLS segments keep being written. */
  SegmentsWritten: 'SegmentsWritten',
  // RelaysHealthy
  /** Every enabled relay is pushing. */
  RelaysActive: 'RelaysActive',
  /** At least one enabled relay is retrying after an error. */
  RelayFailing: 'RelayFailing',
  /** Enabled relays are starting or waiting for bytes to flow. */
  RelaysConnecting: 'RelaysConnecting',
  /** No relay is configured or enabled. */
  NoRelays: 'NoRelays',
  /** The key Secret of an enabled relay (spec.relays[].keySecretRef) is missing or lacks its key: that relay cannot
   * push; the channel itself is unaffected. */
  RelayKeyMissing: 'RelayKeyMissing',
  // Recording
  /** Segments of the current session are uploaded to S3. */
  RecordingActive: 'RecordingActive',
  /** spec.recording.enabled is false or absent. */
  RecordingDisabled: 'RecordingDisabled',
  /** Recording is enabled; no segment uploaded yet for the current session. */
  RecordingPending: 'RecordingPending',
  /** Uploads to S3 fail (the message has the S3 error, never credentials). */
  UploadFailed: 'UploadFailed',
  /** The S3 credentials Secret (spec.recording.s3.credentialsSecretRef) is missing or lacks a key: nothing is
   * recorded; the channel itself is unaffected. */
  S3CredentialsMissing: 'S3CredentialsMissing',
  // SpecApplied
  /** No session is running: the next one starts with the current spec. */
  NoSessionRunning: 'NoSessionRunning',
  /** The running session was started with the spec's session-scoped settings. */
  SessionMatchesSpec: 'SessionMatchesSpec',
  /** The spec's session-scoped settings changed during the session: they apply when the next session starts. */
  WaitingForNextSession: 'WaitingForNextSession',
  /** The transcoder did not report which settings the running session uses. */
  SessionSettingsUnknown: 'SessionSettingsUnknown',
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/** Reasons of Kubernetes Events on a LiveStream (sparingly: transitions only), each produced somewhere. */
export const EventReason = {
  /** A new session started (report-events.ts). */
  PublishStarted: 'PublishStarted',
  /** A session ended; the message says after how long and why (report-events.ts). */
  PublishEnded: 'PublishEnded',
  /** A publish with a wrong stream key was refused (report-events.ts). */
  StreamKeyRejected: 'StreamKeyRejected',
  /** The operator generated the stream key Secret (reconcile). */
  StreamKeyGenerated: 'StreamKeyGenerated',
  /** The key in the stream key Secret changed; the message says until when the previous key works (reconcile). */
  StreamKeyRotated: 'StreamKeyRotated',
  /** A relay started retrying (report-events.ts). */
  RelayFailed: 'RelayFailed',
  /** A retrying relay pushes again (report-events.ts). */
  RelayRecovered: 'RelayRecovered',
  /** A session's finalize Job completed: the VOD is in S3 (reconcile). */
  RecordingFinalized: 'RecordingFinalized',
  /** A session's recording could not be finalized (reconcile). */
  RecordingFailed: 'RecordingFailed',
  /** The ladder's ffmpeg exited (report-events.ts). */
  TranscoderFailed: 'TranscoderFailed',
  /** Applying a child failed (reconcile). */
  ApplyFailed: 'ApplyFailed',
  /** The API server rejected a child built from the spec (reconcile). */
  InvalidSpec: 'InvalidSpec',
  /** A password channel's password Secret (spec.audience.password) is missing or lacks a usable password: the
   * gateway lets nobody watch until it is there (gateway-routes-runner.ts). */
  ViewerPasswordMissing: 'ViewerPasswordMissing',
  /** spec.audience.scheduledStart is more than 24 h in the past: not shown (audience-warnings.ts, ADR 0015). */
  ScheduledStartIgnored: 'ScheduledStartIgnored',
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
  return ls.spec.streamKey?.secretRef?.name ?? `${ls.metadata.name}-stream-key`;
}

/** Key of the stream key in that Secret. */
export function streamKeySecretKey(ls: Pick<LiveStream, 'spec'>): string {
  return ls.spec.streamKey?.secretRef?.key ?? 'streamKey';
}

/** spec.streamKey.rotationGracePeriod in milliseconds (the CRD's default when absent), at most the CRD's maximum. */
export function rotationGraceMs(ls: Pick<LiveStream, 'spec'>): number {
  return Math.min(
    parseDuration(ls.spec.streamKey?.rotationGracePeriod ?? defaultRotationGracePeriod),
    maxRotationGraceMs,
  );
}
