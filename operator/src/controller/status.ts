// Pure: the LiveStream status from what was observed. Level-based: every call recomputes the whole status from its
// inputs; only lastTransitionTime is carried over, and only while a condition's status stays the same.
import {
  ConditionReason,
  ConditionType,
  type LiveStream,
  type LiveStreamCondition,
  type LiveStreamState,
  type LiveStreamStatus,
} from '../api/v1alpha1/index.ts';
import { ports } from './desired/pod-contract.ts';

export interface ChildrenObservation {
  /** Every child applied (or already as desired) in this reconcile. */
  applied: boolean;
  /** Why applying failed, without secrets. */
  applyError?: string;
  /** Referenced Secrets (or keys in them) that do not exist, e.g. "Secret my-key (key streamKey)". */
  missingSecrets: string[];
  /** The transcoder Deployment has an available replica. */
  transcoderAvailable: boolean;
  /** Cluster DNS name of the Service, and its external address when it has one. */
  serviceHost: string;
  externalHost?: string;
  externalRtmpPort?: number;
}

type Cond = Omit<LiveStreamCondition, 'lastTransitionTime' | 'observedGeneration'>;

function cond(type: string, status: Cond['status'], reason: string, message: string): Cond {
  return { type, status, reason, message };
}

/** Keeps lastTransitionTime when the status did not flip; stamps `now` otherwise. */
export function mergeConditions(
  previous: readonly LiveStreamCondition[] | undefined,
  next: readonly Cond[],
  generation: number | undefined,
  now: string,
): LiveStreamCondition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    return {
      ...c,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : now,
    };
  });
}

export function ingestUrl(ls: LiveStream, children: ChildrenObservation): string {
  const app = ls.spec.ingest?.app ?? 'live';
  const host = children.externalHost ?? children.serviceHost;
  const port = children.externalHost ? (children.externalRtmpPort ?? ports.rtmp) : ports.rtmp;
  return `rtmp://${host}:${port}/${app}`;
}

export function playbackUrl(children: ChildrenObservation): string {
  return `http://${children.externalHost ?? children.serviceHost}:${ports.http}/hls/master.m3u8`;
}

/** The whole status for this observation. `now` is an RFC 3339 time with second precision. */
export function computeStatus(
  ls: LiveStream,
  children: ChildrenObservation,
  streamKeySecret: string,
  now: string,
): LiveStreamStatus {
  const paused = ls.spec.paused === true;
  const relaysEnabled = (ls.spec.relays ?? []).some((r) => r.enabled !== false);
  const recording = ls.spec.recording?.enabled === true;

  let childrenReady: Cond;
  if (children.missingSecrets.length > 0) {
    childrenReady = cond(
      ConditionType.ChildrenReady,
      'False',
      ConditionReason.StreamKeyMissing,
      `waiting for ${children.missingSecrets.join(', ')} in namespace ${ls.metadata.namespace}`,
    );
  } else if (!children.applied) {
    childrenReady = cond(
      ConditionType.ChildrenReady,
      'False',
      ConditionReason.ApplyFailed,
      children.applyError ?? 'applying children failed',
    );
  } else if (paused) {
    childrenReady = cond(ConditionType.ChildrenReady, 'False', ConditionReason.Paused, 'spec.paused is true');
  } else if (!children.transcoderAvailable) {
    childrenReady = cond(
      ConditionType.ChildrenReady,
      'False',
      ConditionReason.DeploymentUnavailable,
      'the transcoder pod is not available yet',
    );
  } else {
    childrenReady = cond(
      ConditionType.ChildrenReady,
      'True',
      ConditionReason.ChildrenAvailable,
      'all children exist and the transcoder is available',
    );
  }

  const publishing = cond(ConditionType.Publishing, 'False', ConditionReason.NoPublisher, 'no encoder is connected');
  const ready =
    childrenReady.status === 'True'
      ? cond(ConditionType.Ready, 'True', ConditionReason.WaitingForPublisher, 'ready for a publisher')
      : cond(ConditionType.Ready, 'False', childrenReady.reason, childrenReady.message);
  const relays = relaysEnabled
    ? cond(ConditionType.RelaysHealthy, 'Unknown', ConditionReason.NotLive, 'relays run only while Live')
    : cond(ConditionType.RelaysHealthy, 'True', ConditionReason.NoRelays, 'no relay is enabled');
  const rec = recording
    ? cond(ConditionType.Recording, 'False', ConditionReason.NotLive, 'recording runs only while Live')
    : cond(ConditionType.Recording, 'False', ConditionReason.RecordingDisabled, 'spec.recording.enabled is false');

  let state: LiveStreamState;
  if (paused) state = 'Paused';
  else if (children.missingSecrets.length > 0 || !children.applied) state = 'Failed';
  else if (!children.transcoderAvailable) state = 'Pending';
  else state = 'Idle';

  const status: LiveStreamStatus = {
    state,
    conditions: mergeConditions(
      ls.status?.conditions,
      [ready, childrenReady, publishing, relays, rec],
      ls.metadata.generation,
      now,
    ),
    ingest: { url: ingestUrl(ls, children), streamKeySecret },
    playback: { url: playbackUrl(children) },
    viewers: 0,
    bitrateKbps: 0,
  };
  if (ls.metadata.generation !== undefined) status.observedGeneration = ls.metadata.generation;
  return status;
}
