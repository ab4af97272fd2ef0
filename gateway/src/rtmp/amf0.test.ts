import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Amf0Error, decodeAmf0, decodeCommand, encodeAmf0, encodeCommand, type Amf0Value } from './amf0.ts';

const samples: Amf0Value[] = [
  0,
  -1.5,
  2 ** 40,
  true,
  false,
  '',
  'live',
  'ключ-流-🔑',
  'x'.repeat(70_000), // a long string
  null,
  undefined,
  new Date(1_700_000_000_000),
  [1, 'two', [3, null]],
  { app: 'live', tcUrl: 'rtmp://h:1935/live', fpad: false, capabilities: 15, audioCodecs: 4071 },
  { nested: { deeper: { list: [1, { a: 'b' }] } } },
];

describe('AMF0', () => {
  it.each(samples.map((v) => [v]))('round-trips %#', (value) => {
    expect(decodeAmf0(encodeAmf0(value))).toEqual([value]);
  });

  it('round-trips a sequence of every sample', () => {
    expect(decodeAmf0(encodeAmf0(...samples))).toEqual(samples);
  });

  it('measures strings in UTF-8 bytes', () => {
    const s = 'é'.repeat(40_000); // 80,000 bytes: must become a long string
    const buf = encodeAmf0(s);
    expect(buf[0]).toBe(0x0c);
    expect(decodeAmf0(buf)).toEqual([s]);
  });

  it('reads an ECMA array as an object', () => {
    const buf = Buffer.concat([
      Buffer.of(0x08, 0, 0, 0, 1),
      Buffer.of(0, 8),
      Buffer.from('duration'),
      encodeAmf0(5),
      Buffer.of(0, 0, 9),
    ]);
    expect(decodeAmf0(buf)).toEqual([{ duration: 5 }]);
  });

  it('throws Amf0Error on every truncation of a valid encoding, never anything else', () => {
    const full = encodeAmf0('connect', 1, samples[13], [1, 'x'], new Date(0));
    for (let n = 1; n < full.length; n++) {
      let thrown: unknown;
      try {
        decodeAmf0(full.subarray(0, n));
      } catch (err) {
        thrown = err;
      }
      // A cut between two values decodes the values before it; anywhere else it throws Amf0Error.
      if (thrown !== undefined) expect(thrown).toBeInstanceOf(Amf0Error);
    }
  });

  it('throws only Amf0Error on random bytes', () => {
    for (let i = 0; i < 2_000; i++) {
      try {
        decodeAmf0(randomBytes(1 + (i % 64)));
      } catch (err) {
        expect(err).toBeInstanceOf(Amf0Error);
      }
    }
  });

  it('refuses markers it does not support and nesting without bound', () => {
    expect(() => decodeAmf0(Buffer.of(0x11))).toThrow(Amf0Error);
    const nested = (n: number) =>
      Buffer.concat([...Array.from({ length: n }, () => Buffer.of(0x0a, 0, 0, 0, 1)), encodeAmf0(1)]);
    expect(decodeAmf0(nested(10))).toHaveLength(1);
    expect(() => decodeAmf0(nested(40))).toThrow(/deeply/);
    expect(() => decodeAmf0(Buffer.of(0x0a, 0xff, 0xff, 0xff, 0xff))).toThrow(Amf0Error);
  });
});

describe('commands', () => {
  it('round-trips the commands encoders send', () => {
    const commands = [
      { name: 'connect', transactionId: 1, object: { app: 'live', type: 'nonprivate' }, args: [] },
      { name: 'releaseStream', transactionId: 2, object: null, args: ['key'] },
      { name: 'createStream', transactionId: 4, object: null, args: [] },
      { name: 'publish', transactionId: 5, object: null, args: ['key?x=1', 'live'] },
    ];
    for (const c of commands) expect(decodeCommand(encodeCommand(c))).toEqual(c);
  });

  it('refuses a command without a name or a transaction id', () => {
    expect(() => decodeCommand(encodeAmf0(1, 'connect'))).toThrow(Amf0Error);
    expect(() => decodeCommand(encodeAmf0('connect'))).toThrow(Amf0Error);
    expect(() => decodeCommand(Buffer.alloc(0))).toThrow(Amf0Error);
  });
});
