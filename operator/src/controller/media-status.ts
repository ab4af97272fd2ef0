// Pure: the relay and recording parts of the status, from the spec, the reports and the finalize Jobs.
import {
  ConditionReason,
  ConditionType,
  type LiveStream,
  type LiveStreamCondition,
  type RecordingStatus,
  type RelayStatus,
  type SessionSummary,
} from '../../../contract/src/api/index.ts';
import {
  normalizePrefix,
  s3Uri,
  sessionPrefix,
  type S3Settings,
} from '../../../transcoder/src/recording/recording-config.ts';
import type { PublishObservation } from './publish-state.ts';

type Cond = Omit<LiveStreamCondition, 'lastTransitionTime' | 'observedGeneration'>;
const cond = (type: string, status: Cond['status'], reason: string, message: string): Cond => ({
  type,
  status,
  reason,
  message,
});

export function relaysStatus(ls: LiveStream, obs: PublishObservation | undefined): RelayStatus[] {
  return (ls.spec.relays ?? []).map((r): RelayStatus => {
    if (r.enabled === false) return { name: r.name, state: 'Disabled' };
    const seen = obs?.relays[r.name];
    if (!seen) return { name: r.name, state: 'Connecting' };
    return {
      name: r.name,
      state: seen.state,
      ...(seen.lastError ? { lastError: seen.lastError } : {}),
      bytesOut: seen.bytesOut,
      since: seen.since,
    };
  });
}

export function relaysCondition(relays: readonly RelayStatus[], live: boolean): Cond {
  const enabled = relays.filter((r) => r.state !== 'Disabled');
  if (enabled.length === 0)
    return cond(ConditionType.RelaysHealthy, 'True', ConditionReason.NoRelays, 'no relay is enabled');
  if (!live) return cond(ConditionType.RelaysHealthy, 'Unknown', ConditionReason.NotLive, 'relays run only while Live');
  const failing = enabled.filter((r) => r.state === 'Retrying');
  if (failing.length > 0) {
    const detail = failing.map((r) => `${r.name}: ${r.lastError ?? 'retrying'}`).join('; ');
    return cond(ConditionType.RelaysHealthy, 'False', ConditionReason.RelayFailing, detail);
  }
  if (enabled.every((r) => r.state === 'Active')) {
    return cond(
      ConditionType.RelaysHealthy,
      'True',
      ConditionReason.RelaysActive,
      `${enabled.length} relay(s) pushing`,
    );
  }
  return cond(ConditionType.RelaysHealthy, 'Unknown', ConditionReason.RelaysConnecting, 'relays are connecting');
}

export type JobOutcome = 'active' | 'succeeded' | 'failed';

export const maxRecordings = 20;

/**
 * status.recordings: the current session while its segments upload (Recording), each ended session until its
 * finalize Job finishes (Finalizing), then Complete with the S3 URIs, or Failed.
 */
export function recordingsStatus(
  ls: LiveStream,
  obs: PublishObservation | undefined,
  ended: readonly SessionSummary[],
  jobs: ReadonlyMap<string, JobOutcome>,
): RecordingStatus[] {
  const s3 = ls.spec.recording?.s3;
  const byId = new Map<string, RecordingStatus>();
  for (const r of ls.status?.recordings ?? []) byId.set(r.session, { ...r });
  const current = obs?.recording;
  if (ls.spec.recording?.enabled && current?.session) {
    const before = byId.get(current.session);
    if (!before || before.state === 'Recording') {
      byId.set(current.session, {
        ...before,
        session: current.session,
        ...(obs?.session === current.session && obs.sessionStartedAt !== undefined
          ? { startedAt: new Date(obs.sessionStartedAt).toISOString().replace(/\.\d+Z$/, 'Z') }
          : {}),
        segments: current.uploaded,
        state: 'Recording',
      });
    }
  }
  for (const r of byId.values()) {
    const summary = ended.find((s) => s.id === r.session);
    if (r.state === 'Recording' && summary) {
      Object.assign(r, {
        state: 'Finalizing',
        ...(summary.startedAt ? { startedAt: summary.startedAt } : {}),
        ...(summary.endedAt ? { endedAt: summary.endedAt } : {}),
        ...(summary.durationSeconds !== undefined ? { durationSeconds: summary.durationSeconds } : {}),
      });
    }
    if (r.state === 'Finalizing' && s3) {
      const outcome = jobs.get(r.session);
      if (outcome === 'succeeded') {
        const settings: S3Settings = {
          bucket: s3.bucket,
          prefix: normalizePrefix(s3.prefix ?? ''),
          region: s3.region ?? 'us-east-1',
          forcePathStyle: s3.forcePathStyle === true,
        };
        const base = sessionPrefix(settings, ls.metadata.namespace ?? '', ls.metadata.name ?? '', r.session);
        Object.assign(r, {
          state: 'Complete',
          playlistUri: s3Uri(s3.bucket, `${base}index.m3u8`),
          mp4Uri: s3Uri(s3.bucket, `${base}${r.session}.mp4`),
        });
      } else if (outcome === 'failed') {
        r.state = 'Failed';
      }
    }
  }
  return [...byId.values()]
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
    .slice(0, maxRecordings);
}

export function recordingCondition(ls: LiveStream, obs: PublishObservation | undefined, live: boolean): Cond {
  if (!ls.spec.recording?.enabled) {
    return cond(ConditionType.Recording, 'False', ConditionReason.RecordingDisabled, 'spec.recording.enabled is false');
  }
  const rec = obs?.recording;
  if (rec?.failedAt !== undefined) {
    return cond(
      ConditionType.Recording,
      'False',
      ConditionReason.UploadFailed,
      `uploads to S3 fail (${rec.pending} segment(s) spooled, ${rec.dropped} dropped): ${rec.lastError ?? 'unknown error'}`,
    );
  }
  if (!live) return cond(ConditionType.Recording, 'False', ConditionReason.NotLive, 'recording runs only while Live');
  if (!rec || rec.session !== obs?.session) {
    return cond(ConditionType.Recording, 'Unknown', ConditionReason.RecordingPending, 'no segment uploaded yet');
  }
  return cond(
    ConditionType.Recording,
    'True',
    ConditionReason.RecordingActive,
    `session ${rec.session}: ${rec.uploaded} segment(s) uploaded, ${rec.pending} pending`,
  );
}
