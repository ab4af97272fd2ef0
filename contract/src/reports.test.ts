import { describe, expect, it } from 'vitest';
import { EventParseError, encodeEvent, isLifecycleEvent, parseEvent, type TranscoderEvent } from './reports.ts';

const heartbeat: TranscoderEvent<'heartbeat'> = {
  type: 'heartbeat',
  namespace: 'media',
  name: 'news',
  session: 's-1',
  seq: 7,
  ts: 1_700_000_000_000,
  data: {
    state: 'live',
    bitrateKbps: 3000,
    fps: 30,
    width: 1280,
    height: 720,
    viewers: 12,
    bytesIn: 123456,
    segments: { '720p': 10, '480p': 10 },
  },
};

describe('events', () => {
  it('round-trips through the Redis field list', () => {
    const fields = encodeEvent(heartbeat);
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['type', 'namespace', 'name', 'session', 'seq', 'ts', 'data']);
    expect(parseEvent(fields)).toEqual(heartbeat);
  });

  it('rejects unknown types and malformed entries with a clear error', () => {
    const fields = encodeEvent(heartbeat);
    const withField = (key: string, value: string): string[] =>
      fields.map((v, i) => (i % 2 === 1 && fields[i - 1] === key ? value : v));
    expect(() => parseEvent(withField('type', 'relay-started'))).toThrow(/unknown event type "relay-started"/);
    expect(() => parseEvent(withField('seq', 'x'))).toThrow(EventParseError);
    expect(() => parseEvent(withField('data', '{'))).toThrow(/invalid JSON/);
    expect(() => parseEvent(withField('data', '[1]'))).toThrow(/not an object/);
    expect(() => parseEvent(withField('namespace', ''))).toThrow(/namespace/);
  });

  it('treats everything but heartbeats as lifecycle events', () => {
    expect(isLifecycleEvent('heartbeat')).toBe(false);
    expect(isLifecycleEvent('session-ended')).toBe(true);
    expect(isLifecycleEvent('publish-refused')).toBe(true);
  });
});
