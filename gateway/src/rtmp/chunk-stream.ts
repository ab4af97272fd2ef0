// The RTMP chunk stream (RTMP 1.0 spec, section 5.3): messages cut into chunks of at most the sender's chunk size,
// each chunk headed by its chunk stream id and a header that may reuse the previous chunk's fields on that chunk
// stream (formats 1-3). The gateway parses only what routing needs: the encoder's commands until publish, and the
// backend's few messages towards the encoder; the media itself is never parsed (it is relayed as bytes).
// `ChunkReader` keeps the per-chunk-stream state (so it is a class); `encodeMessage` is pure.

export interface RtmpMessage {
  csid: number;
  timestamp: number;
  typeId: number;
  streamId: number;
  payload: Buffer;
}

export const messageType = {
  setChunkSize: 1,
  abort: 2,
  acknowledgement: 3,
  userControl: 4,
  windowAckSize: 5,
  setPeerBandwidth: 6,
  audio: 8,
  video: 9,
  dataAmf3: 15,
  commandAmf3: 17,
  dataAmf0: 18,
  commandAmf0: 20,
  aggregate: 22,
} as const;

export class ChunkError extends Error {}

export const defaultChunkSize = 128;
const maxChunkSize = 1 << 24;

interface StreamState {
  timestamp: number;
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  extended: boolean; // the last header carried an extended timestamp (a format-3 chunk repeats it)
  parts: Buffer[];
  received: number;
  started: boolean; // a header of format 0 or 1 was seen: formats 2 and 3 have something to reuse
}

export interface ChunkReaderOptions {
  /** Messages above this size are refused: before publish only commands arrive, and they are small. */
  maxMessageBytes: number;
}

export class ChunkReader {
  private pending: Buffer = Buffer.alloc(0);
  private chunkSize = defaultChunkSize;
  private readonly streams = new Map<number, StreamState>();
  private readonly maxMessageBytes: number;

  constructor(options: ChunkReaderOptions) {
    this.maxMessageBytes = options.maxMessageBytes;
  }

  /** The complete messages `data` finishes, in order; a Set Chunk Size message applies at once. Throws ChunkError. */
  push(data: Buffer): RtmpMessage[] {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const out: RtmpMessage[] = [];
    for (;;) {
      const used = this.readChunk(out);
      if (used === 0) break;
      this.pending = this.pending.subarray(used);
    }
    return out;
  }

  // One chunk from the front of `pending`: the bytes it took (0: not all there yet).
  private readChunk(out: RtmpMessage[]): number {
    const buf = this.pending;
    if (buf.length < 1) return 0;
    const fmt = buf[0]! >> 6;
    let csid = buf[0]! & 0x3f;
    let pos = 1;
    if (csid === 0 || csid === 1) {
      const extra = csid === 0 ? 1 : 2;
      if (buf.length < 1 + extra) return 0;
      csid = 64 + buf[1]! + (csid === 1 ? buf[2]! * 256 : 0);
      pos += extra;
    }
    const headerSize = [11, 7, 3, 0][fmt]!;
    if (buf.length < pos + headerSize) return 0;
    const s = this.streams.get(csid) ?? this.newStream(csid);
    if (fmt >= 2 && !s.started) throw new ChunkError(`chunk stream ${csid} starts without a full header`);
    const continuing = s.received > 0;
    if (continuing && fmt !== 3) throw new ChunkError(`chunk stream ${csid} interrupts a message`);
    let ts = 0;
    if (fmt <= 2) ts = buf.readUIntBE(pos, 3);
    const header = { length: s.length, typeId: s.typeId, streamId: s.streamId };
    if (fmt <= 1) Object.assign(header, { length: buf.readUIntBE(pos + 3, 3), typeId: buf[pos + 6]! });
    if (fmt === 0) header.streamId = buf.readUInt32LE(pos + 7);
    pos += headerSize;
    const extended = fmt === 3 ? s.extended : ts === 0xffffff;
    if (extended) {
      if (buf.length < pos + 4) return 0;
      ts = buf.readUInt32BE(pos);
      pos += 4;
    }
    if (header.length > this.maxMessageBytes) throw new ChunkError(`a message of ${header.length} bytes is too large`);
    const take = Math.min(this.chunkSize, header.length - s.received);
    if (buf.length < pos + take) return 0;
    // The whole chunk is there: only now does its header change the stream's state.
    Object.assign(s, header, { extended, started: true });
    if (!continuing) this.applyTimestamp(s, fmt, ts);
    s.parts.push(buf.subarray(pos, pos + take));
    s.received += take;
    if (s.received >= s.length) out.push(this.complete(csid, s));
    return pos + take;
  }

  private newStream(csid: number): StreamState {
    const s: StreamState = {
      timestamp: 0,
      delta: 0,
      length: 0,
      typeId: 0,
      streamId: 0,
      extended: false,
      parts: [],
      received: 0,
      started: false,
    };
    this.streams.set(csid, s);
    return s;
  }

  private applyTimestamp(s: StreamState, fmt: number, ts: number): void {
    if (fmt === 0) {
      s.timestamp = ts;
      s.delta = 0;
    } else if (fmt === 3) {
      s.timestamp = (s.timestamp + s.delta) >>> 0;
    } else {
      s.delta = ts;
      s.timestamp = (s.timestamp + ts) >>> 0;
    }
  }

  private complete(csid: number, s: StreamState): RtmpMessage {
    const payload = Buffer.concat(s.parts);
    s.parts = [];
    s.received = 0;
    const message = { csid, timestamp: s.timestamp, typeId: s.typeId, streamId: s.streamId, payload };
    if (s.typeId === messageType.setChunkSize) this.setChunkSize(payload);
    return message;
  }

  private setChunkSize(payload: Buffer): void {
    if (payload.length < 4) throw new ChunkError('Set Chunk Size without its size');
    const size = payload.readUInt32BE(0) & 0x7fffffff;
    if (size < 1 || size > maxChunkSize) throw new ChunkError(`chunk size ${size} is out of range`);
    this.chunkSize = size;
  }
}

function basicHeader(fmt: number, csid: number): Buffer {
  if (csid < 2 || csid > 65599) throw new ChunkError(`chunk stream id ${csid} is out of range`);
  if (csid < 64) return Buffer.of((fmt << 6) | csid);
  if (csid < 320) return Buffer.of(fmt << 6, csid - 64);
  return Buffer.of((fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8);
}

/** One message as chunks of `chunkSize`: a format-0 header, then format-3 continuations. */
export function encodeMessage(message: RtmpMessage, chunkSize: number): Buffer {
  const { payload } = message;
  const extended = message.timestamp >= 0xffffff;
  const header = Buffer.alloc(11);
  header.writeUIntBE(extended ? 0xffffff : message.timestamp, 0, 3);
  header.writeUIntBE(payload.length, 3, 3);
  header[6] = message.typeId;
  header.writeUInt32LE(message.streamId, 7);
  const ext = Buffer.alloc(extended ? 4 : 0);
  if (extended) ext.writeUInt32BE(message.timestamp >>> 0, 0);
  const parts: Buffer[] = [basicHeader(0, message.csid), header, ext];
  const continuation = Buffer.concat([basicHeader(3, message.csid), ext]);
  for (let off = 0; off < payload.length || off === 0; off += chunkSize) {
    if (off > 0) parts.push(continuation);
    parts.push(payload.subarray(off, off + chunkSize));
    if (payload.length === 0) break;
  }
  return Buffer.concat(parts);
}
