// Pure: the LiveStream status from what was observed. Level-based: every call recomputes the whole status from its
// inputs; only lastTransitionTime is carried over, and only while a condition's status stays the same.
import {
  ConditionReason,
  ConditionType,
  type LiveStream,
  type LiveStreamCondition,
  type LiveStreamState,
  type LiveStreamStatus,
  type RecordingStatus,
  type SessionSummary,
} from '../../../contract/src/api/index.ts';
import { ports } from '../../../contract/src/pod-contract.ts';
import { recordingCondition, relaysCondition, relaysStatus } from './media-status.ts';
import { maxSessionHistory, type PublishObservation, type PublishPhase } from './publish-state.ts';

export interface PublishInput {
  /** Reports can be read (Redis configured and reachable). */
  reportsAvailable: boolean;
  observation: PublishObservation | undefined;
  phase: PublishPhase;
  /** status.recordings as the reconciler computed it (it creates the finalize Jobs from it). */
  recordings?: RecordingStatus[];
}

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

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The session history: what status already lists plus sessions ended since, newest first, bounded. */
export function mergeSessions(
  written: readonly SessionSummary[] | undefined,
  ended: readonly SessionSummary[] | undefined,
): SessionSummary[] {
  const byId = new Map<string, SessionSummary>();
  for (const s of [...(ended ?? []), ...(written ?? [])]) if (!byId.has(s.id)) byId.set(s.id, s);
  return [...byId.values()]
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
    .slice(0, maxSessionHistory);
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
  publish: PublishInput,
  streamKeySecret: string,
  now: string,
): LiveStreamStatus {
  const phase = publish.phase.phase;
  // A transcoder that reports is running, whatever the Deployment says yet.
  const reporting = phase === 'idle' || phase === 'live' || phase === 'reconnecting';
  const available = children.transcoderAvailable || reporting;
  const paused = ls.spec.paused === true;

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
  } else if (!available) {
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

  const obs = publish.observation;
  let publishing: Cond;
  if (!publish.reportsAvailable) {
    publishing = cond(
      ConditionType.Publishing,
      'Unknown',
      ConditionReason.ReportsUnavailable,
      'the operator cannot read the transcoder reports from Redis',
    );
  } else if (publish.phase.phase === 'stale') {
    publishing = cond(
      ConditionType.Publishing,
      'Unknown',
      ConditionReason.HeartbeatLost,
      `no report from the transcoder for ${publish.phase.lastReportAgeSeconds} s`,
    );
  } else if (publish.phase.phase === 'live') {
    publishing = cond(
      ConditionType.Publishing,
      'True',
      ConditionReason.PublishStarted,
      `an encoder is publishing (session ${obs?.session ?? '?'})`,
    );
  } else if (publish.phase.phase === 'reconnecting') {
    publishing = cond(
      ConditionType.Publishing,
      'False',
      ConditionReason.PublisherReconnecting,
      `the encoder left; the session continues if it returns before ${new Date(publish.phase.windowEndsAt).toISOString().replace(/\.\d+Z$/, 'Z')}`,
    );
  } else if (publish.phase.phase === 'unobserved') {
    publishing = cond(
      ConditionType.Publishing,
      'Unknown',
      ConditionReason.Initializing,
      'no report from the transcoder yet',
    );
  } else {
    publishing = cond(ConditionType.Publishing, 'False', ConditionReason.NoPublisher, 'no encoder is connected');
  }

  let ready: Cond;
  if (childrenReady.status !== 'True') {
    ready = cond(ConditionType.Ready, 'False', childrenReady.reason, childrenReady.message);
  } else if (
    publishing.reason === ConditionReason.ReportsUnavailable ||
    publishing.reason === ConditionReason.HeartbeatLost
  ) {
    ready = cond(ConditionType.Ready, 'False', publishing.reason, publishing.message);
  } else if (phase === 'live') {
    ready = cond(ConditionType.Ready, 'True', ConditionReason.Live, 'live: viewers can play the stream');
  } else {
    ready = cond(ConditionType.Ready, 'True', ConditionReason.WaitingForPublisher, 'ready for a publisher');
  }
  const relayList = relaysStatus(ls, obs);
  const relays = relaysCondition(relayList, phase === 'live');
  const rec = recordingCondition(ls, obs, phase === 'live');

  let state: LiveStreamState;
  if (paused) state = 'Paused';
  else if (children.missingSecrets.length > 0 || !children.applied) state = 'Failed';
  else if (!available) state = 'Pending';
  else if (phase === 'live') state = 'Live';
  else if (phase === 'reconnecting') state = 'Reconnecting';
  else if (phase === 'stale') state = 'Failed';
  else state = 'Idle';
  const inSession = (phase === 'live' || phase === 'reconnecting') && obs !== undefined && obs.session !== '';
  const figures = obs?.figures;

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
    viewers: inSession ? (figures?.viewers ?? 0) : 0,
    bitrateKbps: phase === 'live' ? Math.round(figures?.bitrateKbps ?? 0) : 0,
  };
  if (inSession && obs && figures) {
    status.session = {
      id: obs.session,
      ...(obs.sessionStartedAt !== undefined ? { startedAt: iso(obs.sessionStartedAt) } : {}),
      bitrateKbps: Math.round(figures.bitrateKbps),
      fps: Math.round(figures.fps * 100) / 100,
      width: figures.width,
      height: figures.height,
      resolution: `${figures.width}x${figures.height}`,
      viewers: figures.viewers,
      bytesIn: figures.bytesIn,
    };
  }
  const sessions = mergeSessions(ls.status?.sessions, obs?.ended);
  if (sessions.length > 0) status.sessions = sessions;
  if (relayList.length > 0) status.relays = relayList;
  if (publish.recordings && publish.recordings.length > 0) status.recordings = publish.recordings;
  if (ls.metadata.generation !== undefined) status.observedGeneration = ls.metadata.generation;
  return status;
}
