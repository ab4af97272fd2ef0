// Pure: the LiveStream status from what was observed. Level-based: every call recomputes the whole status from its
// inputs; only lastTransitionTime is carried over, and only while a condition's status stays the same. Each
// condition comes from its own rule list (one file each); `state` comes from the conditions (state.ts).
import {
  ConditionReason,
  streamKeySecretName,
  type LiveStreamCondition,
  type LiveStreamStatus,
  type SessionSummary,
} from '../../../../contract/src/api/index.ts';
import { previousKeyExpiry } from '../../../../contract/src/ingest-keys.ts';
import { ports } from '../../../../contract/src/pod-contract.ts';
import { rfc3339 } from '../../../../contract/src/time.ts';
import { gatewayIngestUrl, gatewayPlaybackUrl } from '../gateway-address.ts';
import { ingestVia, throughGateway, throughService } from '../ingest-via.ts';
import { relaysStatus } from '../media-status.ts';
import { maxSessionHistory } from '../publish-state.ts';
import { childrenReadyCondition } from './children-ready.ts';
import type { ExternalEndpoint } from './endpoints.ts';
import { isLive, type ChildrenObservation, type StatusInput } from './input.ts';
import { publishingCondition } from './publishing.ts';
import { readyCondition } from './ready.ts';
import { recordingCondition } from './recording.ts';
import { relaysHealthyCondition } from './relays-healthy.ts';
import type { Cond } from './rules.ts';
import { specAppliedCondition } from './spec-applied.ts';
import { deriveState } from './state.ts';
import { transcodingCondition } from './transcoding.ts';

export type { ChildrenObservation, MissingSecrets, StatusInput, TranscoderHealth } from './input.ts';
export type { Cond } from './rules.ts';
export { externalEndpoint, type ExternalEndpoint } from './endpoints.ts';
export { onlyFiguresDiffer } from './figures.ts';

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

/** The RTMP URL of the channel's own Service. */
export function ingestUrl(input: Pick<StatusInput, 'ls' | 'children'>): string {
  const app = input.ls.spec.ingest?.app ?? 'live';
  const { host, rtmpPort } = reachedAt(input.children);
  return `rtmp://${host}:${rtmpPort}/${app}`;
}

/** The master playlist on the channel's own Service. */
export function playbackUrl(children: ChildrenObservation): string {
  const { host, httpPort } = reachedAt(children);
  return `http://${host}:${httpPort}/hls/master.m3u8`;
}

/**
 * status.ingest and status.playback without the key expiry: the addresses streamers and viewers really use. Through
 * the gateway, its URLs (the channel's Service ones as serviceUrl too with Both); without a gateway address (via
 * Gateway on an installation without one) the Service's, which the gateway would have used as its backend anyway,
 * while ChildrenReady says why.
 */
export function channelUrls(input: Pick<StatusInput, 'ls' | 'children' | 'gateway'>) {
  const via = ingestVia(input.ls.spec, input.gateway !== undefined);
  const service = { ingest: ingestUrl(input), playback: playbackUrl(input.children) };
  const { namespace = '', name = '' } = input.ls.metadata;
  if (input.gateway === undefined || !throughGateway(via)) {
    return { ingest: { url: service.ingest, via }, playback: { url: service.playback } };
  }
  const both = throughService(via);
  return {
    ingest: {
      url: gatewayIngestUrl(input.gateway, input.ls.spec.ingest?.app ?? 'live'),
      via,
      ...(both ? { serviceUrl: service.ingest } : {}),
    },
    playback: {
      url: gatewayPlaybackUrl(input.gateway, namespace, name),
      ...(both ? { serviceUrl: service.playback } : {}),
    },
  };
}

/** status.ingest.previousKeyExpiresAt: while a superseded stream key is still accepted, when the last one expires. */
export function previousKeyExpiresAt(input: Pick<StatusInput, 'ls' | 'nowMs' | 'ingestKeys'>): string | undefined {
  if (input.ingestKeys) return previousKeyExpiry(input.ingestKeys, input.nowMs);
  const shown = input.ls.status?.ingest?.previousKeyExpiresAt;
  return shown !== undefined && Date.parse(shown) > input.nowMs ? shown : undefined;
}

/** The external endpoint when the Service has one, else the cluster DNS name with the pod contract's ports. */
const reachedAt = (children: ChildrenObservation): ExternalEndpoint =>
  children.external ?? { host: children.serviceHost, rtmpPort: ports.rtmp, httpPort: ports.http };

/** Every condition, in the order status lists them. */
export function computeConditions(input: StatusInput) {
  const childrenReady = childrenReadyCondition(input);
  const publishing = publishingCondition(input);
  const transcoding = transcodingCondition(input);
  const ready = readyCondition({ childrenReady, publishing, transcoding });
  const relays = relaysStatus(input.ls, input.observation);
  return {
    ready,
    childrenReady,
    publishing,
    transcoding,
    relaysHealthy: relaysHealthyCondition({ relays, missing: input.missing, live: isLive(input) }),
    recording: recordingCondition(input),
    specApplied: specAppliedCondition(input),
    relays,
  };
}

/** The whole status for this observation. */
export function computeStatus(input: StatusInput): LiveStreamStatus {
  const { ls, observation: obs, phase } = input;
  const { relays, ...conditions } = computeConditions(input);
  const state = deriveState({ ...conditions, ...(ls.status?.state ? { previous: ls.status.state } : {}) });
  const inSession =
    (phase.phase === 'live' || phase.phase === 'reconnecting') && obs !== undefined && obs.session !== '';
  const figures = obs?.figures;
  const expiresAt = previousKeyExpiresAt(input);
  const urls = channelUrls(input);
  // The transcoder counts who plays from its own Service; the gateway's replicas who play through them.
  const viewers = (figures?.viewers ?? 0) + (input.gatewayViewers ?? 0);
  const status: LiveStreamStatus = {
    state,
    conditions: mergeConditions(
      ls.status?.conditions,
      Object.values(conditions),
      ls.metadata.generation,
      rfc3339(input.nowMs),
    ),
    ingest: {
      ...urls.ingest,
      streamKeySecret: streamKeySecretName(ls),
      ...(expiresAt !== undefined ? { previousKeyExpiresAt: expiresAt } : {}),
    },
    playback: urls.playback,
    viewers: inSession ? viewers : 0,
    bitrateKbps: isLive(input) ? Math.round(figures?.bitrateKbps ?? 0) : 0,
  };
  if (inSession && obs && figures) {
    status.session = {
      id: obs.session,
      ...(obs.sessionStartedAt !== undefined ? { startedAt: rfc3339(obs.sessionStartedAt) } : {}),
      bitrateKbps: Math.round(figures.bitrateKbps),
      fps: Math.round(figures.fps * 100) / 100,
      width: figures.width,
      height: figures.height,
      resolution: `${figures.width}x${figures.height}`,
      viewers,
      bytesIn: figures.bytesIn,
    };
  }
  const sessions = mergeSessions(ls.status?.sessions, obs?.ended);
  if (sessions.length > 0) status.sessions = sessions;
  if (relays.length > 0) status.relays = relays;
  if (input.recordings && input.recordings.length > 0) status.recordings = input.recordings;
  const generation = observedGeneration(input, conditions.specApplied);
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** The generation this status may claim: not one whose session-scoped settings wait for the next session. */
function observedGeneration(input: StatusInput, specApplied: Cond): number | undefined {
  if (specApplied.reason === ConditionReason.WaitingForNextSession) return input.ls.status?.observedGeneration;
  return input.ls.metadata.generation;
}
