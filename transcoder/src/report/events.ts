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
] as const;
export type EventType = (typeof eventTypes)[number];

// Events that change the stream's lifecycle: the reporter's buffer drops them only when nothing else is left to drop.
export function isLifecycleEvent(type: EventType): boolean {
  return type !== 'heartbeat';
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

export interface EventDataByType {
  'publish-started': PublishStartedData;
  'publish-ended': PublishEndedData;
  'session-ended': SessionEndedData;
  'publish-refused': PublishRefusedData;
  'ffmpeg-failed': FfmpegFailedData;
  heartbeat: HeartbeatData;
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
