// Pure: status.relays and status.recordings, from the spec, the reports and the finalize Jobs. (Their conditions
// are rules in status/relays-healthy.ts and status/recording.ts.)
import type { LiveStream, RecordingStatus, RelayStatus, SessionSummary } from '../../../contract/src/api/index.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import { s3Settings, s3Uri, sessionPrefix } from '../../../contract/src/recording-layout.ts';
import type { PublishObservation } from './publish-state.ts';

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

export type JobOutcome = 'active' | 'succeeded' | 'failed';

export const maxRecordings = 20;

/** A Finalizing recording can get its Job while the spec still says where it is (recording turned off or not). */
export const canFinalize = (ls: LiveStream): boolean => ls.spec.recording?.s3?.credentialsSecretRef !== undefined;

/**
 * status.recordings: the current session while its segments upload (Recording), each ended session until its
 * finalize Job finishes (Finalizing), then Complete with the S3 URIs, or Failed with a message. Turning recording
 * off never strands a session: its Job is still created from spec.recording.s3, and only when that is gone too the
 * recording is closed as Failed, saying so.
 */
export function recordingsStatus(
  ls: LiveStream,
  obs: PublishObservation | undefined,
  ended: readonly SessionSummary[],
  jobs: ReadonlyMap<string, JobOutcome>,
): RecordingStatus[] {
  const byId = new Map<string, RecordingStatus>();
  for (const r of ls.status?.recordings ?? []) byId.set(r.session, { ...r });
  const current = currentRecording(ls, obs, byId);
  if (current) byId.set(current.session, current);
  for (const r of byId.values()) {
    const summary = ended.find((s) => s.id === r.session);
    if (r.state === 'Recording' && summary) Object.assign(r, finalizing(summary));
    if (r.state === 'Finalizing') Object.assign(r, finalized(ls, r.session, jobs.get(r.session)));
  }
  return [...byId.values()]
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
    .slice(0, maxRecordings);
}

/** The entry of the session being recorded now, from its progress reports (undefined when none or already ended). */
function currentRecording(
  ls: LiveStream,
  obs: PublishObservation | undefined,
  written: ReadonlyMap<string, RecordingStatus>,
): RecordingStatus | undefined {
  const current = obs?.recording;
  if (!ls.spec.recording?.enabled || !current?.session) return undefined;
  const before = written.get(current.session);
  if (before && before.state !== 'Recording') return undefined;
  return {
    ...before,
    session: current.session,
    ...(obs?.session === current.session && obs.sessionStartedAt !== undefined
      ? { startedAt: rfc3339(obs.sessionStartedAt) }
      : {}),
    segments: current.uploaded,
    state: 'Recording',
  };
}

function finalizing(summary: SessionSummary): Partial<RecordingStatus> {
  return {
    state: 'Finalizing',
    ...(summary.startedAt ? { startedAt: summary.startedAt } : {}),
    ...(summary.endedAt ? { endedAt: summary.endedAt } : {}),
    ...(summary.durationSeconds !== undefined ? { durationSeconds: summary.durationSeconds } : {}),
  };
}

/** What a Finalizing recording becomes given its Job's outcome (nothing while the Job runs or is to be created). */
function finalized(ls: LiveStream, session: string, outcome: JobOutcome | undefined): Partial<RecordingStatus> {
  if (outcome === 'succeeded') return { state: 'Complete', ...vodUris(ls, session) };
  if (outcome === 'failed') return { state: 'Failed', message: 'the finalize Job failed: see the logs of its pod' };
  if (outcome === undefined && !canFinalize(ls)) {
    return {
      state: 'Failed',
      message:
        'spec.recording.s3 was removed before the finalize Job was created: the uploaded segments stay in S3, not finalized',
    };
  }
  return {};
}

function vodUris(ls: LiveStream, session: string): Pick<RecordingStatus, 'playlistUri' | 'mp4Uri'> {
  const s3 = ls.spec.recording?.s3;
  if (!s3) return {};
  const base = sessionPrefix(s3Settings(s3), ls.metadata.namespace ?? '', ls.metadata.name ?? '', session);
  return { playlistUri: s3Uri(s3.bucket, `${base}index.m3u8`), mp4Uri: s3Uri(s3.bucket, `${base}${session}.mp4`) };
}
