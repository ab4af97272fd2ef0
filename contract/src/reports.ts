// Reports from a transcoder pod to the operator: over the channel's own Redis stream (report-streams.ts), or without
// Redis through the pod's report log (report-log.ts). Both sides import this file: the transcoder to write entries,
// the operator to parse them. Keep it free of Redis and Node APIs: its only
// dependency is zod, which validates every entry against the schemas below (the types are inferred from them).
//
// Entry fields (all strings, as Redis stores them): type, namespace, name, session, seq, ts, data (JSON).
// `seq` is monotonic per transcoder process (it restarts at 1 with the process); delivery is at-least-once and in
// seq order, so a consumer may see a (session, seq) pair twice after a Redis failover and should ignore repeats.
// No entry ever carries a stream key, relay key or credential.
import { z } from 'zod';
import type { RelayState } from './api/livestream.generated.ts';

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

export function isEventType(value: string): value is EventType {
  return (eventTypes as readonly string[]).includes(value);
}

// Events that change the stream's lifecycle: the reporter's buffer drops them only when nothing else is left to drop.
export function isLifecycleEvent(type: EventType): boolean {
  return type !== 'heartbeat' && type !== 'relay-heartbeat' && type !== 'recording-progress';
}

const count = z.number().int().nonnegative();
const amount = z.number().nonnegative(); // rates, seconds: may be fractional
/** The session-scoped settings fingerprint (contract/src/api/session-settings.ts). */
const ladderFingerprint = z.string().regex(/^[0-9a-f]{12}$/);
export const passthroughRefusedMaxLength = 200;
/**
 * Why passthrough is on and the top rung is encoded all the same, e.g. "keyframe interval 10 s exceeds segment 2 s":
 * one line made of the source's codec, profile, size, rate and keyframe interval, never a key or a URL.
 */
const passthroughRefused = z
  .string()
  .min(1)
  .max(passthroughRefusedMaxLength)
  .regex(/^[^\r\n]*$/);

export const streamStates = ['idle', 'live', 'reconnecting'] as const;
export const sessionEndReasons = ['window-expired', 'shutdown', 'paused', 'config-changed', 'error'] as const;
export const publishRefusedReasons = ['bad_key', 'wrong_path', 'busy', 'rate_limited'] as const;
// Relays (the relay container of the same pod, its own reporter and seq). States as in status.relays[].state (the
// API's RelayState).
export const relayStates = ['Connecting', 'Active', 'Retrying', 'Disabled'] as const satisfies readonly RelayState[];
export const recordingFailureReasons = ['upload-failed', 'spool-full', 'config-invalid', 'spool-error'] as const;

const publishStartedData = z.object({
  /** true when a publisher came back within the reconnect window (same session continues) */
  resumed: z.boolean(),
  videoCodec: z.string().optional(),
  audioCodec: z.string().optional(),
  width: count.optional(),
  height: count.optional(),
  fps: amount.optional(),
  /** fingerprint of the settings this session runs with */
  ladder: ladderFingerprint.optional(),
  passthroughRefused: passthroughRefused.optional(),
});

const publishEndedData = z.object({
  /** seconds the transcoder waits for the publisher to come back before ending the session */
  reconnectWindowSeconds: amount,
  bytesIn: count,
});

const sessionEndedData = z.object({
  /** seconds from the first publish of the session to its end */
  duration: amount,
  bytesIn: count,
  peakViewers: count,
  reason: z.enum(sessionEndReasons),
});

const publishRefusedData = z.object({ reason: z.enum(publishRefusedReasons) });

const ffmpegFailedData = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  /** restarts so far in this session */
  restarts: count,
  /** last stderr lines, with any RTMP URL or key scrubbed by the writer */
  message: z.string().optional(),
});

const heartbeatData = z.object({
  state: z.enum(streamStates),
  bitrateKbps: amount,
  fps: amount,
  width: count,
  height: count,
  viewers: count,
  bytesIn: count,
  /** rendition name -> segments written this session */
  segments: z.record(z.string(), count),
  ladder: ladderFingerprint.optional(),
  /** absent: the top rung is passed through, or passthrough is off */
  passthroughRefused: passthroughRefused.optional(),
});

const relayStateData = z.object({
  /** the relay's name from the spec (user-chosen, not secret) */
  name: z.string().min(1),
  state: z.enum(relayStates),
  /** sanitized: never the key nor the full target URL */
  lastError: z.string().optional(),
  /** bytes sent to the target since the relay container started */
  bytesOut: count,
  /** RFC 3339 time of the last state change */
  since: z.iso.datetime({ offset: true }),
});

const relayHeartbeatData = z.object({
  /** every configured relay, every 5 s */
  relays: z.array(relayStateData),
});

const recordingProgressData = z.object({
  /** the recorded rendition (or 'audio') */
  track: z.string().min(1),
  /** segments of this session uploaded by this process */
  uploaded: count,
  /** media sequence of the last uploaded segment */
  lastSequence: count,
  /** segments waiting in the spool (all sessions) */
  pending: count,
  spoolBytes: count,
  /** segments dropped by a full spool, this process */
  dropped: count,
});

const recordingFailedData = z.object({
  reason: z.enum(recordingFailureReasons),
  /** never carries a credential */
  message: z.string(),
  pending: count,
  dropped: count,
});

/** Each report type's data schema. */
export const eventDataSchemas = {
  'publish-started': publishStartedData,
  'publish-ended': publishEndedData,
  'session-ended': sessionEndedData,
  'publish-refused': publishRefusedData,
  'ffmpeg-failed': ffmpegFailedData,
  heartbeat: heartbeatData,
  'relay-state': relayStateData,
  'relay-heartbeat': relayHeartbeatData,
  'recording-progress': recordingProgressData,
  'recording-failed': recordingFailedData,
} satisfies Record<EventType, z.ZodType>;

export type EventDataByType = { [K in EventType]: z.infer<(typeof eventDataSchemas)[K]> };
export type StreamState = (typeof streamStates)[number];
export type SessionEndReason = (typeof sessionEndReasons)[number];
export type PublishRefusedReason = (typeof publishRefusedReasons)[number];
export type RecordingFailureReason = (typeof recordingFailureReasons)[number];
export type PublishStartedData = EventDataByType['publish-started'];
export type PublishEndedData = EventDataByType['publish-ended'];
export type SessionEndedData = EventDataByType['session-ended'];
export type PublishRefusedData = EventDataByType['publish-refused'];
export type FfmpegFailedData = EventDataByType['ffmpeg-failed'];
export type HeartbeatData = EventDataByType['heartbeat'];
export type RelayStateData = EventDataByType['relay-state'];
export type RelayHeartbeatData = EventDataByType['relay-heartbeat'];
export type RecordingProgressData = EventDataByType['recording-progress'];
export type RecordingFailedData = EventDataByType['recording-failed'];

const envelope = z.object({
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
  /** opaque id of the broadcast session ('' when none, e.g. a refused publish while idle) */
  session: z.string().max(253),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** ms since epoch, when the report was made (not when it reached Redis) */
  ts: z.number().int().nonnegative(),
});

const eventOf = <K extends EventType>(type: K) =>
  envelope.extend({ type: z.literal(type), data: eventDataSchemas[type] });
// A session starts and ends under its id: these two reports without one cannot be folded.
const sessionId = { session: z.string().min(1).max(253) };

/** The protocol: one schema per report type, discriminated on `type`. */
export const eventSchema = z.discriminatedUnion('type', [
  eventOf('publish-started').extend(sessionId),
  eventOf('publish-ended'),
  eventOf('session-ended').extend(sessionId),
  eventOf('publish-refused'),
  eventOf('ffmpeg-failed'),
  eventOf('heartbeat'),
  eventOf('relay-state'),
  eventOf('relay-heartbeat'),
  eventOf('recording-progress'),
  eventOf('recording-failed'),
]);

/** A valid report of any type; switching on `type` narrows `data`. What parseEvent returns. */
export type AnyEvent = z.infer<typeof eventSchema>;

/**
 * One report of type T, as a writer builds it. With the default T it is any report, without the narrowing of
 * AnyEvent (the shape a generic writer such as the reporter's buffer holds).
 */
export interface TranscoderEvent<T extends EventType = EventType> extends z.infer<typeof envelope> {
  type: T;
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

/** An entry that is not a valid report: `type` when the entry names a known one, and why, never the data itself. */
export class EventParseError extends Error {
  override name = 'EventParseError';
  readonly type: EventType | undefined;
  readonly reason: string;
  constructor(type: EventType | undefined, reason: string) {
    super(type ? `${type} report: ${reason}` : reason);
    this.type = type;
    this.reason = reason;
  }
}

const number = (value: string | undefined) => (value === undefined || value === '' ? undefined : Number(value));

function json(type: EventType, value: string | undefined): unknown {
  try {
    return JSON.parse(value ?? '');
  } catch {
    // Not the parser's message: it quotes the input.
    throw new EventParseError(type, 'data is not valid JSON');
  }
}

/** The first issue, as `path: message` (zod's messages name the expectation, not the value received). */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const [first] = issues;
  if (!first) return 'invalid';
  const at = first.path.length > 0 ? `${first.path.map(String).join('.')}: ` : '';
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return `${at}${first.message}${more}`.slice(0, 300);
}

// Parses and validates the flat field list XREAD/XREADGROUP returns for one entry. Unknown types (e.g. a report
// written by a newer transcoder) and invalid entries raise EventParseError so the consumer can ack and skip them.
export function parseEvent(fields: readonly string[]): AnyEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  const type = map.get('type') ?? '';
  if (!isEventType(type))
    throw new EventParseError(undefined, `unknown event type ${JSON.stringify(type.slice(0, 40))}`);
  const result = eventSchema.safeParse({
    type,
    namespace: map.get('namespace'),
    name: map.get('name'),
    session: map.get('session') ?? '',
    seq: number(map.get('seq')),
    ts: number(map.get('ts')),
    data: json(type, map.get('data')),
  });
  if (!result.success) throw new EventParseError(type, describeIssues(result.error.issues));
  return result.data;
}
