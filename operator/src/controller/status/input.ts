// What the status rules read: the LiveStream, what the reconcile observed of its children and referenced Secrets,
// and what the transcoder reported. Plain data; the reconciler gathers it, the rules stay pure.
import type { LiveStream, LiveStreamSpec, RecordingStatus } from '../../../../contract/src/api/index.ts';
import type { IngestKeySet } from '../../../../contract/src/ingest-keys.ts';
import type { GatewayUrls } from '../gateway-address.ts';
import type { PublishObservation, PublishPhase } from '../publish-state.ts';
import type { ExternalEndpoint } from './endpoints.ts';

export interface ChildrenObservation {
  /** Every child applied (or already as desired) in this reconcile. */
  applied: boolean;
  /** Why applying failed (a failure that may pass), without secrets. */
  applyError?: string;
  /** Why the API server rejected a child built from this generation of the spec; not retried until it changes. */
  invalidSpec?: string;
  /** The transcoder Deployment has an available replica. */
  transcoderAvailable: boolean;
  /** Cluster DNS name of the Service, and where it is reached from outside when it is (endpoints.ts). */
  serviceHost: string;
  external?: ExternalEndpoint;
}

/** Referenced Secrets (or keys in them) that do not exist, each described as "Secret x" or "key k of Secret x". */
export interface MissingSecrets {
  /** spec.streamKey.secretRef: the channel cannot take a publisher without it. */
  streamKey?: string;
  /** Enabled relays whose keySecretRef is missing, by relay name: only that relay is affected. */
  relays: Readonly<Record<string, string>>;
  /** spec.recording.s3.credentialsSecretRef while recording is enabled: only the recording is affected. */
  s3Credentials?: string;
}

/** The transcoder's own health, as its reports tell it (absent fields: not reported). */
export interface TranscoderHealth {
  /** ffmpeg exits of the ladder in the current session, the last one's time (ms) and stderr tail (scrubbed). */
  ffmpeg?: { failures: number; lastAt: number; message?: string };
  /** When the ladder last wrote a new segment (ms), in the current session. */
  segmentsGrewAt?: number;
  /** sessionSettingsFingerprint of the settings the running session was started with. */
  ladder?: string;
}

export interface StatusInput {
  ls: LiveStream;
  /** Now, in ms since the epoch. */
  nowMs: number;
  children: ChildrenObservation;
  missing: MissingSecrets;
  /** Reports can be read (Redis configured and reachable). */
  reportsAvailable: boolean;
  observation: PublishObservation | undefined;
  phase: PublishPhase;
  health: TranscoderHealth;
  /** status.recordings as the reconcile computed it (it creates the finalize Jobs from it). */
  recordings?: RecordingStatus[];
  /** The session-scoped settings the running session uses, when the operator saw a spec with its fingerprint. */
  sessionSettings?: Partial<Pick<LiveStreamSpec, 'ladder' | 'hls'>>;
  /** The key set applied in this reconcile; absent: not computed (status keeps what it says, while it holds). */
  ingestKeys?: IngestKeySet;
  /** The gateway's URLs when the operator was installed with one. */
  gateway?: GatewayUrls;
  /** Viewers through the gateway now (summed over its replicas); absent: none. */
  gatewayViewers?: number;
}

export const isLive = (input: Pick<StatusInput, 'phase'>): boolean => input.phase.phase === 'live';

/** A transcoder that reports is running, whatever the Deployment says yet. */
export const isReporting = (input: Pick<StatusInput, 'phase'>): boolean =>
  input.phase.phase === 'idle' || input.phase.phase === 'live' || input.phase.phase === 'reconnecting';
