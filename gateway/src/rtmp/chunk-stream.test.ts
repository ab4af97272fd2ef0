import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChunkError, ChunkReader, encodeMessage, messageType, type RtmpMessage } from './chunk-stream.ts';

const msg = (csid: number, size: number, timestamp = 0, typeId: number = messageType.video): RtmpMessage => ({
  csid,
  timestamp,
  typeId,
  streamId: 1,
  payload: randomBytes(size),
});

const chunkSizeMessage = (n: number): RtmpMessage => {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(n);
  return { csid: 2, timestamp: 0, typeId: messageType.setChunkSize, streamId: 0, payload };
};

// Every split of `bytes` into pieces of `step` gives the same messages.
function readInPieces(bytes: Buffer, step: number): RtmpMessage[] {
  const reader = new ChunkReader({ maxMessageBytes: 1 << 20 });
  const out: RtmpMessage[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...reader.push(bytes.subarray(i, i + step)));
  return out;
}

describe('chunk stream', () => {
  const messages = [
    msg(3, 0, 0, messageType.commandAmf0),
    msg(4, 1, 10),
    msg(5, 127, 20),
    msg(5, 128, 30),
    msg(6, 129, 40),
    msg(63, 5000, 50),
    msg(64, 300, 60), // two-byte basic header
    msg(319, 300, 70),
    msg(320, 300, 80), // three-byte basic header
    msg(65599, 10, 90),
    msg(7, 1000, 0xffffff), // extended timestamp
    msg(7, 1000, 0xfffffffe),
  ];

  it.each([128, 4096, 60000])('reads back what it writes at chunk size %i, however the bytes arrive', (size) => {
    const bytes = Buffer.concat([
      encodeMessage(chunkSizeMessage(size), 128),
      ...messages.map((m) => encodeMessage(m, size)),
    ]);
    for (const step of [1, 7, 128, 1500, bytes.length]) {
      const read = readInPieces(bytes, step);
      expect(read.slice(1)).toEqual(messages);
    }
  });

  it('reuses headers of formats 1, 2 and 3 as ffmpeg writes them (deltas added up)', () => {
    const payload = randomBytes(10);
    const bytes = Buffer.concat([
      Buffer.of(0x04, 0, 0, 100, 0, 0, 10, 9, 1, 0, 0, 0), // fmt 0, csid 4, ts 100, len 10, video, stream 1
      payload,
      Buffer.of(0x44, 0, 0, 33, 0, 0, 10, 8), // fmt 1: delta 33, audio
      payload,
      Buffer.of(0x84, 0, 0, 20), // fmt 2: delta 20
      payload,
      Buffer.of(0xc4), // fmt 3: the same delta again
      payload,
    ]);
    const read = readInPieces(bytes, 3);
    expect(read.map((m) => [m.timestamp, m.typeId, m.streamId, m.payload.length])).toEqual([
      [100, 9, 1, 10],
      [133, 8, 1, 10],
      [153, 8, 1, 10],
      [173, 8, 1, 10],
    ]);
  });

  it('interleaves messages of several chunk streams', () => {
    const a = msg(4, 300, 1);
    const b = msg(5, 300, 2);
    const ea = encodeMessage(a, 128); // 1+11+128, 1+128, 1+44
    const eb = encodeMessage(b, 128);
    const bytes = Buffer.concat([ea.subarray(0, 140), eb.subarray(0, 140), ea.subarray(140), eb.subarray(140)]);
    expect(readInPieces(bytes, 50)).toEqual([a, b]);
  });

  it('refuses what is not a chunk stream with ChunkError', () => {
    const big = encodeMessage(msg(4, 70_000), 128);
    expect(() => new ChunkReader({ maxMessageBytes: 65_536 }).push(big)).toThrow(ChunkError);
    expect(() => new ChunkReader({ maxMessageBytes: 65_536 }).push(Buffer.of(0xc5, 1, 2))).toThrow(ChunkError);
    expect(() => new ChunkReader({ maxMessageBytes: 65_536 }).push(Buffer.of(0x85, 0, 0, 1))).toThrow(ChunkError);
    const zero = { ...chunkSizeMessage(0) };
    expect(() => new ChunkReader({ maxMessageBytes: 65_536 }).push(encodeMessage(zero, 128))).toThrow(ChunkError);
    for (let i = 0; i < 500; i++) {
      try {
        new ChunkReader({ maxMessageBytes: 65_536 }).push(randomBytes(200));
      } catch (err) {
        expect(err).toBeInstanceOf(ChunkError);
      }
    }
  });
});
