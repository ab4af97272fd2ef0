// Reports from a transcoder pod to the operator, over the Redis stream `livestream:events`. Both sides import this
// file: the transcoder to write entries, the operator to parse them. Keep it dependency-free (no Redis, no Node APIs).
//
// Entry fields (all strings, as Redis stores them): type, namespace, name, session, seq, ts, data (JSON).
// `seq` is monotonic per transcoder process (it restarts at 1 with the process); delivery is at-least-once and in
// seq order, so a consumer may see a (session, seq) pair twice after a Redis failover and should ignore repeats.
// No entry ever carries a stream key, relay key or credential.

export const eventsStream = 'livestream:events';
export const eventsStreamMaxLen = 100_000;

export const eventTypes = [
  'publish-started',
  'publish-ended',
  'session-ended',
  'publish-refused',
  'ffmpeg-failed',
  'heartbeat',
  'relay-state',
  'relay-heartbeat',
  'recording-progress',
  'recording-failed',
] as const;
export type EventType = (typeof eventTypes)[number];

// Events that change the stream's lifecycle: the reporter's buffer drops them only when nothing else is left to drop.
export function isLifecycleEvent(type: EventType): boolean {
  return type !== 'heartbeat' && type !== 'relay-heartbeat' && type !== 'recording-progress';
}

export type StreamState = 'idle' | 'live' | 'reconnecting';

export interface PublishStartedData {
  // true when a publisher came back within the reconnect window (same session continues)
  resumed: boolean;
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  fps?: number;
}

export interface PublishEndedData {
  // seconds the transcoder waits for the publisher to come back before ending the session
  reconnectWindowSeconds: number;
  bytesIn: number;
}

export type SessionEndReason = 'window-expired' | 'shutdown' | 'paused' | 'config-changed' | 'error';

export interface SessionEndedData {
  duration: number; // seconds from the first publish of the session to its end
  bytesIn: number;
  peakViewers: number;
  reason: SessionEndReason;
}

export const publishRefusedReasons = ['bad_key', 'wrong_path', 'busy', 'rate_limited'] as const;
export type PublishRefusedReason = (typeof publishRefusedReasons)[number];

export interface PublishRefusedData {
  reason: PublishRefusedReason;
}

export interface FfmpegFailedData {
  exitCode: number | null;
  signal: string | null;
  restarts: number; // restarts so far in this session
  // last stderr lines, with any RTMP URL or key scrubbed by the writer
  message?: string;
}

export interface HeartbeatData {
  state: StreamState;
  bitrateKbps: number;
  fps: number;
  width: number;
  height: number;
  viewers: number;
  bytesIn: number;
  segments: Record<string, number>; // rendition name -> segments written this session
}

// Relays (the relay container of the same pod, its own reporter and seq). States as in status.relays[].state.
export const relayStates = ['Connecting', 'Active', 'Retrying', 'Disabled'] as const;
export type RelayState = (typeof relayStates)[number];

export interface RelayStateData {
  name: string; // the relay's name from the spec (user-chosen, not secret)
  state: RelayState;
  lastError?: string; // sanitized: never the key nor the full target URL
  bytesOut: number; // bytes sent to the target since the relay container started
  since: string; // RFC 3339 time of the last state change
}

export interface RelayHeartbeatData {
  relays: RelayStateData[]; // every configured relay, every 5 s
}

export interface RecordingProgressData {
  track: string; // the recorded rendition (or 'audio')
  uploaded: number; // segments of this session uploaded by this process
  lastSequence: number; // media sequence of the last uploaded segment
  pending: number; // segments waiting in the spool (all sessions)
  spoolBytes: number;
  dropped: number; // segments dropped by a full spool, this process
}

export type RecordingFailureReason = 'upload-failed' | 'spool-full' | 'config-invalid' | 'spool-error';

export interface RecordingFailedData {
  reason: RecordingFailureReason;
  message: string; // never carries a credential
  pending: number;
  dropped: number;
}

export interface EventDataByType {
  'publish-started': PublishStartedData;
  'publish-ended': PublishEndedData;
  'session-ended': SessionEndedData;
  'publish-refused': PublishRefusedData;
  'ffmpeg-failed': FfmpegFailedData;
  heartbeat: HeartbeatData;
  'relay-state': RelayStateData;
  'relay-heartbeat': RelayHeartbeatData;
  'recording-progress': RecordingProgressData;
  'recording-failed': RecordingFailedData;
}

export interface TranscoderEvent<T extends EventType = EventType> {
  type: T;
  namespace: string;
  name: string;
  session: string; // opaque id of the broadcast session ('' when none, e.g. a refused publish while idle)
  seq: number;
  ts: number; // ms since epoch, when the report was made (not when it reached Redis)
  data: EventDataByType[T];
}

// Redis XADD field/value list, in a fixed order.
export function encodeEvent(event: TranscoderEvent): string[] {
  return [
    'type',
    event.type,
    'namespace',
    event.namespace,
    'name',
    event.name,
    'session',
    event.session,
    'seq',
    String(event.seq),
    'ts',
    String(event.ts),
    'data',
    JSON.stringify(event.data),
  ];
}

export class EventParseError extends Error {
  override name = 'EventParseError';
}

function isEventType(value: string): value is EventType {
  return (eventTypes as readonly string[]).includes(value);
}

// Parses the flat field list XREAD/XREADGROUP returns for one entry. Unknown types (e.g. relay or recording events
// written by a newer transcoder) and malformed entries raise EventParseError so the consumer can ack and skip them.
export function parseEvent(fields: readonly string[]): TranscoderEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  const type = map.get('type') ?? '';
  if (!isEventType(type)) throw new EventParseError(`unknown event type ${JSON.stringify(type)}`);
  const namespace = map.get('namespace');
  const name = map.get('name');
  if (!namespace || !name) throw new EventParseError(`${type} event without namespace/name`);
  const seq = Number(map.get('seq'));
  const ts = Number(map.get('ts'));
  if (!Number.isSafeInteger(seq) || seq < 1) throw new EventParseError(`${type} event with bad seq`);
  if (!Number.isFinite(ts)) throw new EventParseError(`${type} event with bad ts`);
  let data: unknown;
  try {
    data = JSON.parse(map.get('data') ?? '');
  } catch {
    throw new EventParseError(`${type} event with invalid JSON data`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new EventParseError(`${type} event data is not an object`);
  }
  return {
    type,
    namespace,
    name,
    session: map.get('session') ?? '',
    seq,
    ts,
    data: data as EventDataByType[EventType],
  };
}
