import { describe, expect, it } from 'vitest';
import {
  EventParseError,
  encodeEvent,
  eventSchema,
  eventTypes,
  isLifecycleEvent,
  parseEvent,
  type AnyEvent,
  type EventDataByType,
  type EventType,
  type TranscoderEvent,
} from './reports.ts';

const ts = 1_700_000_000_000;
const since = '2026-11-21T12:00:00.000Z';
const relay = { name: 'youtube', state: 'Retrying', lastError: 'Connection refused', bytesOut: 10, since } as const;

/** One valid report of each type. */
const samples: { [K in EventType]: EventDataByType[K] } = {
  'publish-started': {
    resumed: false,
    videoCodec: 'h264',
    width: 1280,
    height: 720,
    fps: 29.97,
    ladder: '0123456789ab',
  },
  'publish-ended': { reconnectWindowSeconds: 30, bytesIn: 1234 },
  'session-ended': { duration: 12.5, bytesIn: 1234, peakViewers: 3, reason: 'window-expired' },
  'publish-refused': { reason: 'bad_key' },
  'ffmpeg-failed': { exitCode: null, signal: 'SIGSEGV', restarts: 2, message: 'Invalid data found' },
  heartbeat: {
    state: 'live',
    bitrateKbps: 3000.5,
    fps: 30,
    width: 1280,
    height: 720,
    viewers: 12,
    bytesIn: 123456,
    segments: { '720p': 10, '480p': 10 },
    ladder: 'abcdef012345',
  },
  'relay-state': relay,
  'relay-heartbeat': { relays: [relay] },
  'recording-progress': { track: '720p', uploaded: 4, lastSequence: 9, pending: 1, spoolBytes: 4096, dropped: 0 },
  'recording-failed': { reason: 'upload-failed', message: 'HTTP 503', pending: 3, dropped: 0 },
};

const event = <K extends EventType>(type: K, data: EventDataByType[K] = samples[type]): TranscoderEvent<K> => ({
  type,
  namespace: 'media',
  name: 'news',
  session: 's-1',
  seq: 7,
  ts,
  data,
});

/** The Redis field list of `ev` with one field's value replaced. */
const withField = (ev: TranscoderEvent, key: string, value: string): string[] => {
  const fields = encodeEvent(ev);
  return fields.map((v, i) => (i % 2 === 1 && fields[i - 1] === key ? value : v));
};
const withData = (ev: TranscoderEvent, data: unknown) => withField(ev, 'data', JSON.stringify(data));

function parseError(fields: string[]): EventParseError {
  try {
    parseEvent(fields);
  } catch (err) {
    if (err instanceof EventParseError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('report protocol', () => {
  it.each(eventTypes)('round-trips a %s report through the Redis field list', (type) => {
    const ev = event(type);
    const fields = encodeEvent(ev);
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['type', 'namespace', 'name', 'session', 'seq', 'ts', 'data']);
    expect(parseEvent(fields)).toEqual(ev);
  });

  it('has one schema per report type', () => {
    expect(eventSchema.options.map((o) => o.shape.type.value)).toEqual([...eventTypes]);
  });

  it('rejects a session-ended report without data, naming the type and the first missing field', () => {
    const err = parseError(withData(event('session-ended'), {}));
    expect(err.type).toBe('session-ended');
    expect(err.reason).toMatch(/^data\.duration: .*expected number/);
    expect(err.reason).toMatch(/\(\+3 more\)$/);
    expect(err.message).toBe(`session-ended report: ${err.reason}`);
  });

  it.each([
    ['a negative count', 'heartbeat', { ...samples.heartbeat, viewers: -1 }, /^data\.viewers: /],
    ['a fractional width', 'heartbeat', { ...samples.heartbeat, width: 1280.5 }, /^data\.width: /],
    ['a segment count that is not a number', 'heartbeat', { ...samples.heartbeat, segments: { a: '1' } }, /segments/],
    ['a state outside the enum', 'heartbeat', { ...samples.heartbeat, state: 'paused' }, /^data\.state: /],
    ['a ladder that is not 12 hex digits', 'publish-started', { resumed: true, ladder: 'ABCDEF012345' }, /ladder/],
    ['an end reason outside the enum', 'session-ended', { ...samples['session-ended'], reason: 'x' }, /reason/],
    ['a refused reason outside the enum', 'publish-refused', { reason: 'nope' }, /^data\.reason: /],
    ['a relay since that is not RFC 3339', 'relay-state', { ...relay, since: 'yesterday' }, /since/],
    ['a relay in a heartbeat without name', 'relay-heartbeat', { relays: [{ ...relay, name: '' }] }, /relays\.0\.name/],
    ['a null where a number goes', 'publish-ended', { reconnectWindowSeconds: null, bytesIn: 1 }, /reconnectWindow/],
    ['an array as data', 'recording-progress', [1], /^data: /],
  ] as const)('rejects %s', (_what, type, data, reason) => {
    const err = parseError(withData(event(type), data));
    expect(err.type).toBe(type);
    expect(err.reason).toMatch(reason);
  });

  it('rejects a bad envelope with the type when the type is known', () => {
    const ev = event('heartbeat');
    expect(parseError(withField(ev, 'seq', 'x')).reason).toMatch(/^seq: /);
    expect(parseError(withField(ev, 'seq', '0')).reason).toMatch(/^seq: /);
    expect(parseError(withField(ev, 'ts', '')).reason).toMatch(/^ts: /);
    expect(parseError(withField(ev, 'namespace', '')).reason).toMatch(/^namespace: /);
    expect(parseEvent(withField(ev, 'session', '')).session).toBe('');
    expect(parseError(withField(event('session-ended'), 'session', '')).reason).toMatch(/^session: /);
    expect(parseError(withField(event('publish-started'), 'session', '')).reason).toMatch(/^session: /);
    expect(parseError(withField(ev, 'data', '{')).reason).toBe('data is not valid JSON');
    expect(parseError(withField(ev, 'seq', 'x')).type).toBe('heartbeat');
  });

  it('rejects an unknown type without a type, and never quotes the data', () => {
    const unknown = parseError(withField(event('heartbeat'), 'type', 'relay-started'));
    expect(unknown.type).toBeUndefined();
    expect(unknown.reason).toBe('unknown event type "relay-started"');
    expect(parseError(withField(event('heartbeat'), 'type', 'x'.repeat(1000))).reason.length).toBeLessThan(80);
    const secret = 'rtmp://a.example/live/sk-0123456789';
    for (const fields of [
      withData(event('session-ended'), { ...samples['session-ended'], reason: secret }),
      withData(event('heartbeat'), { ...samples.heartbeat, bitrateKbps: secret }),
      withField(event('heartbeat'), 'data', `{"x": "${secret}"`),
    ]) {
      expect(parseError(fields).message).not.toContain('sk-0123456789');
    }
  });

  it('accepts the optional fields absent, and drops fields it does not know (a newer writer)', () => {
    const started = { resumed: true };
    expect(parseEvent(withData(event('publish-started'), started)).data).toEqual(started);
    const { ladder: _unused, ...heartbeat } = samples.heartbeat;
    expect(parseEvent(withData(event('heartbeat'), { ...heartbeat, extra: 1 })).data).toEqual(heartbeat);
  });

  it('narrows data by type, and every written report is a parsed one', () => {
    const parsed: AnyEvent = parseEvent(encodeEvent(event('heartbeat')));
    const viewers = parsed.type === 'heartbeat' ? parsed.data.viewers : -1;
    expect(viewers).toBe(12);
    const written: AnyEvent = event('session-ended');
    expect(written.type).toBe('session-ended');
  });

  it('treats everything but heartbeats and progress as lifecycle events', () => {
    expect(eventTypes.filter((t) => !isLifecycleEvent(t))).toEqual([
      'heartbeat',
      'relay-heartbeat',
      'recording-progress',
    ]);
  });
});
