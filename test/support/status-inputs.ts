// Inputs for the operator's status rules in unit tests: a stored LiveStream, the observation of a live session, and
// a StatusInput of a healthy Live channel that each test changes where its case differs.
import type { LiveStream, LiveStreamSpec } from '../../contract/src/api/index.ts';
import { sessionSettingsFingerprint } from '../../contract/src/api/session-settings.ts';
import type { PublishObservation } from '../../operator/src/controller/publish-state.ts';
import type { StatusInput } from '../../operator/src/controller/status/index.ts';

/** The time every input is observed at. */
export const statusNow = Date.parse('2026-12-01T12:00:00Z');

/** A spec as the API server stores it (defaults applied). */
export const storedSpec: LiveStreamSpec = {
  paused: false,
  ingest: { app: 'live', serviceType: 'ClusterIP', httpFlv: false },
  ladder: { preset: '720p', passthrough: true },
  hls: { segmentSeconds: 2, playlistLength: 6 },
  reconnectWindowSeconds: 30,
};

export function liveStreamWith(spec: Partial<LiveStreamSpec> = {}, status?: LiveStream['status']): LiveStream {
  return {
    apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
    kind: 'LiveStream',
    metadata: { name: 'show', namespace: 'tv', uid: 'u1', generation: 4 },
    spec: { ...storedSpec, ...spec },
    ...(status ? { status } : {}),
  };
}

/** Session s1, live for a minute, last report a second ago. */
export function liveObservation(over: Partial<PublishObservation> = {}): PublishObservation {
  return {
    state: 'live',
    session: 's1',
    sessionStartedAt: statusNow - 60_000,
    lastReportAt: statusNow - 1_000,
    lastSeq: 9,
    figures: { bitrateKbps: 2500, fps: 30, width: 1280, height: 720, viewers: 4, bytesIn: 1e6 },
    peakViewers: 4,
    ended: [],
    refused: {},
    relays: {},
    ...over,
  };
}

/** A Live channel with everything in order: children applied, no Secret missing, segments flowing, the session
 * started with the ladder and HLS settings of `storedSpec`. */
export function statusInput(over: Partial<StatusInput> = {}): StatusInput {
  return {
    ls: liveStreamWith(),
    nowMs: statusNow,
    children: { applied: true, transcoderAvailable: true, serviceHost: 'show.tv.svc' },
    missing: { relays: {} },
    reportsAvailable: true,
    observation: liveObservation(),
    phase: { phase: 'live' },
    health: { segmentsGrewAt: statusNow - 2_000, ladder: sessionSettingsFingerprint(storedSpec) },
    ...over,
  };
}
