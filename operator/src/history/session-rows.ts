// Pure: what the session history stores, derived from the operator's own folding of the reports (publish-state.ts):
// each applied report (its transition, the observation after it, the report itself) becomes a few rows to upsert.
// A row is what this step knows of a session or of a minute of viewing; rows with the same key merge (mergeBatch,
// mirrored by the upserts in history-store.ts), so the same report applied twice, a session written open and then
// closed, or a batch replayed from the spool after a crash, all end as one row with the same figures.
import type { RecordingStatus } from '../../../contract/src/api/index.ts';
import type { AnyEvent } from '../../../contract/src/reports.ts';
import type { PublishObservation, PublishTransition } from '../controller/publish-state.ts';

export interface RelayOutcome {
  state: string;
  lastError?: string;
  /** bytes the relay container had sent at its last report (counted since that container started) */
  bytesOut: number;
  /** times it went Retrying during the session, as this operator saw it */
  failures: number;
}

/** One session as far as a step knows it; absent fields are unknown to this step (they merge, never erase). */
export interface SessionRow {
  sessionId: string;
  namespace: string;
  name: string;
  uid?: string;
  /** ms epoch */
  startedAt: number;
  endedAt?: number;
  durationSeconds?: number;
  endReason?: string;
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  /** the last heartbeat's ingest rate while open; the session's average (bytes in over duration) once closed */
  bitrateKbps?: number;
  bytesIn?: number;
  peakViewers?: number;
  relays?: Record<string, RelayOutcome>;
  recordingUris?: string[];
}

/** Viewing of one session in one minute: viewer-seconds by the report (ts) that counted them, so none counts twice. */
export interface ViewerMinute {
  namespace: string;
  name: string;
  uid?: string;
  sessionId: string;
  /** ms epoch of the minute's start */
  minute: number;
  samples: Record<string, number>;
  peakViewers: number;
}

export interface HistoryBatch {
  sessions: Record<string, SessionRow>;
  minutes: Record<string, ViewerMinute>;
}

/** What the history remembers of a channel between steps (not stored: rebuilt from the reports after a restart). */
export interface ChannelTrack {
  /** the open session written so far ('' when none) */
  session: string;
  /** ts of the session's previous heartbeat: the span its next one counts viewers for */
  lastHeartbeatAt?: number;
  relayFailures: Record<string, number>;
  /** recording URIs written, by ended session */
  uris: Record<string, string>;
}

export interface HistoryInput {
  namespace: string;
  name: string;
  uid?: string;
  transition: PublishTransition;
  /** the observation after the step (absent: nothing folded yet) */
  obs?: PublishObservation;
  /** the report applied (absent for a session the operator closed itself: expiry) */
  event?: AnyEvent;
  /** the LiveStream's status.recordings, for the URIs of ended sessions */
  recordings?: readonly RecordingStatus[];
}

export interface ViewerSpan {
  /** span counted for a session's first heartbeat seen (the transcoder's heartbeat interval) */
  firstMs: number;
  /** longest span one heartbeat counts for: a gap above it (lost reports) is not filled in */
  maxGapMs: number;
}

export const defaultViewerSpan: ViewerSpan = { firstMs: 5_000, maxGapMs: 15_000 };

export const emptyBatch = (): HistoryBatch => ({ sessions: {}, minutes: {} });
export const emptyTrack = (): ChannelTrack => ({ session: '', relayFailures: {}, uris: {} });
export const isEmptyBatch = (b: HistoryBatch): boolean =>
  Object.keys(b.sessions).length === 0 && Object.keys(b.minutes).length === 0;

const minuteMs = 60_000;
export const minuteKey = (m: Pick<ViewerMinute, 'namespace' | 'name' | 'sessionId' | 'minute'>): string =>
  `${m.namespace}/${m.name}/${m.sessionId}/${m.minute}`;

const isOpen = (obs: PublishObservation | undefined): obs is PublishObservation =>
  obs !== undefined && obs.session !== '' && (obs.state === 'live' || obs.state === 'reconnecting');

const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);

function relayOutcomes(obs: PublishObservation, failures: Record<string, number>): Record<string, RelayOutcome> {
  const out: Record<string, RelayOutcome> = {};
  for (const [name, r] of Object.entries(obs.relays)) {
    out[name] = {
      state: r.state,
      ...(r.lastError !== undefined && { lastError: r.lastError }),
      bytesOut: r.bytesOut,
      failures: failures[name] ?? 0,
    };
  }
  return out;
}

/** Sets only the fields that are known (exactOptionalPropertyTypes: no `undefined` values in rows). */
function defined<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as T;
}

/** The open session as the observation shows it now. */
function openRow(input: HistoryInput, obs: PublishObservation, track: ChannelTrack): SessionRow {
  const f = obs.figures;
  return defined({
    sessionId: obs.session,
    namespace: input.namespace,
    name: input.name,
    uid: input.uid,
    startedAt: obs.sessionStartedAt ?? obs.lastReportAt,
    width: positive(f.width),
    height: positive(f.height),
    bitrateKbps: positive(Math.round(f.bitrateKbps)),
    bytesIn: positive(f.bytesIn),
    peakViewers: positive(obs.peakViewers),
    relays: Object.keys(obs.relays).length > 0 ? relayOutcomes(obs, track.relayFailures) : undefined,
  });
}

/** A session that ended, from its summary (and the relays as they were at its end). */
function closedRow(
  input: HistoryInput,
  summary: NonNullable<PublishObservation['ended'][number]>,
  track: ChannelTrack,
): SessionRow {
  const endedAt = summary.endedAt ? Date.parse(summary.endedAt) : (input.obs?.lastReportAt ?? 0);
  const duration = summary.durationSeconds ?? 0;
  const startedAt = summary.startedAt ? Date.parse(summary.startedAt) : endedAt - duration * 1000;
  const bytesIn = summary.bytesIn ?? 0;
  const obs = input.obs;
  const mine = track.session === summary.id;
  return defined({
    sessionId: summary.id,
    namespace: input.namespace,
    name: input.name,
    uid: input.uid,
    startedAt,
    endedAt,
    durationSeconds: duration,
    endReason: summary.endReason ?? 'unknown',
    bytesIn,
    peakViewers: summary.peakViewers ?? 0,
    bitrateKbps: duration > 0 ? Math.round((bytesIn * 8) / 1000 / duration) : undefined,
    relays: obs && mine && Object.keys(obs.relays).length > 0 ? relayOutcomes(obs, track.relayFailures) : undefined,
  });
}

function addSession(batch: HistoryBatch, row: SessionRow): void {
  const before = batch.sessions[row.sessionId];
  batch.sessions[row.sessionId] = before ? mergeSession(before, row) : row;
}

function addMinute(batch: HistoryBatch, m: ViewerMinute): void {
  const key = minuteKey(m);
  const before = batch.minutes[key];
  batch.minutes[key] = before ? mergeMinute(before, m) : m;
}

/** The viewer-seconds one heartbeat of the open session counts, in the minute of its ts. */
function viewerMinute(
  input: HistoryInput,
  obs: PublishObservation,
  ev: Extract<AnyEvent, { type: 'heartbeat' }>,
  track: ChannelTrack,
  span: ViewerSpan,
): ViewerMinute | undefined {
  const viewers = ev.data.viewers;
  if (viewers <= 0) return undefined;
  const since = track.lastHeartbeatAt ?? Math.max(obs.sessionStartedAt ?? ev.ts, ev.ts - span.firstMs);
  const spanMs = Math.min(Math.max(0, ev.ts - since), span.maxGapMs);
  if (spanMs === 0) return undefined;
  return defined({
    namespace: input.namespace,
    name: input.name,
    uid: input.uid,
    sessionId: obs.session,
    minute: Math.floor(ev.ts / minuteMs) * minuteMs,
    samples: { [String(ev.ts)]: (viewers * spanMs) / 1000 },
    peakViewers: viewers,
  });
}

/** The URIs of ended sessions' recordings not written yet (the finalize Job adds the MP4 later). */
function recordingRows(input: HistoryInput, track: ChannelTrack, batch: HistoryBatch): Record<string, string> {
  const ended = new Map((input.obs?.ended ?? []).map((s) => [s.id, s]));
  const uris: Record<string, string> = {};
  for (const r of input.recordings ?? []) {
    const summary = ended.get(r.session);
    const list = [r.playlistUri, r.mp4Uri].filter((u): u is string => u !== undefined && u !== '');
    if (!summary || list.length === 0) continue;
    const joined = list.join(' ');
    uris[r.session] = joined;
    if (track.uris[r.session] !== joined)
      addSession(batch, { ...closedRow(input, summary, track), recordingUris: list });
  }
  return uris;
}

/**
 * The rows one applied report (or an expiry) adds to the history, and the channel's track after it. Pure: the same
 * input gives the same rows, and applying them twice changes nothing (the merge is idempotent).
 */
export function historyStep(
  before: ChannelTrack | undefined,
  input: HistoryInput,
  span: ViewerSpan = defaultViewerSpan,
): { track: ChannelTrack; batch: HistoryBatch } {
  const batch = emptyBatch();
  const track: ChannelTrack = { ...(before ?? emptyTrack()) };
  const { obs, event: ev, transition: t } = input;
  if (t.kind === 'relay' && t.to === 'Retrying' && isOpen(obs))
    track.relayFailures = { ...track.relayFailures, [t.name]: (track.relayFailures[t.name] ?? 0) + 1 };
  // The tracked session closed (reported, expired, or abandoned for a new one, which the transition may not say).
  const closed = track.session !== '' ? obs?.ended.find((s) => s.id === track.session) : undefined;
  if (closed) addSession(batch, closedRow(input, closed, track));
  if (t.kind === 'ended' && t.summary.id !== closed?.id) addSession(batch, closedRow(input, t.summary, track));
  if (closed || (track.session !== '' && !isOpen(obs)) || (isOpen(obs) && obs.session !== track.session)) {
    track.session = '';
    track.relayFailures = {};
    delete track.lastHeartbeatAt;
  }
  if (isOpen(obs)) {
    if (track.session !== obs.session) track.session = obs.session;
    const row = openRow(input, obs, track);
    if (ev?.type === 'publish-started' && ev.session === obs.session) {
      if (ev.data.videoCodec !== undefined) row.videoCodec = ev.data.videoCodec;
      if (ev.data.audioCodec !== undefined) row.audioCodec = ev.data.audioCodec;
    }
    addSession(batch, row);
    if (ev?.type === 'heartbeat' && ev.session === obs.session) {
      const m = viewerMinute(input, obs, ev, track, span);
      if (m) addMinute(batch, m);
      track.lastHeartbeatAt = Math.max(track.lastHeartbeatAt ?? 0, ev.ts);
    }
  }
  track.uris = recordingRows(input, track, batch);
  return { track, batch };
}

const maxOf = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/**
 * `newer` over `older`, field by field: known fields win, counts only grow, relays merge by name, URIs add up. A
 * closed session is not reopened: what an open one says of it (a report replayed after the close) is ignored.
 */
export function mergeSession(older: SessionRow, newer: SessionRow): SessionRow {
  if (older.endedAt !== undefined && newer.endedAt === undefined) return older;
  const uris = [...new Set([...(older.recordingUris ?? []), ...(newer.recordingUris ?? [])])];
  return defined({
    ...older,
    ...newer,
    startedAt: Math.min(older.startedAt, newer.startedAt),
    bytesIn: maxOf(older.bytesIn, newer.bytesIn),
    peakViewers: maxOf(older.peakViewers, newer.peakViewers),
    relays: older.relays || newer.relays ? { ...older.relays, ...newer.relays } : undefined,
    recordingUris: uris.length > 0 ? uris : undefined,
  });
}

/** Samples merge by the report that counted them (the first value kept), so a replayed heartbeat adds nothing. */
export function mergeMinute(older: ViewerMinute, newer: ViewerMinute): ViewerMinute {
  return {
    ...older,
    samples: { ...newer.samples, ...older.samples },
    peakViewers: Math.max(older.peakViewers, newer.peakViewers),
  };
}

/** Merges `newer` into `target` in place (the writer's pending rows grow by every step). */
export function mergeInto(target: HistoryBatch, newer: HistoryBatch): void {
  for (const row of Object.values(newer.sessions)) addSession(target, row);
  for (const m of Object.values(newer.minutes)) addMinute(target, m);
}

export function mergeBatch(older: HistoryBatch, newer: HistoryBatch): HistoryBatch {
  const out: HistoryBatch = { sessions: { ...older.sessions }, minutes: { ...older.minutes } };
  mergeInto(out, newer);
  return out;
}

export const batchRows = (b: HistoryBatch): number => Object.keys(b.sessions).length + Object.keys(b.minutes).length;

export const viewerSeconds = (m: ViewerMinute): number => Object.values(m.samples).reduce((a, b) => a + b, 0);
