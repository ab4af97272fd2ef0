// The RTMP messages the gateway itself writes, and the handshake (RTMP 1.0 spec, sections 5.2, 5.4, 7.2). Pure:
// randomness comes in as an argument.
import { encodeCommand, type Amf0Value } from './amf0.ts';
import { messageType, type RtmpMessage } from './chunk-stream.ts';

export const handshakeSize = 1536;
const rtmpVersion = 3;

// Protocol control messages travel on chunk stream 2, message stream 0; commands on chunk stream 3.
const protocolCsid = 2;
const commandCsid = 3;

function control(typeId: number, payload: Buffer): RtmpMessage {
  return { csid: protocolCsid, timestamp: 0, typeId, streamId: 0, payload };
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

export const windowAckSize = (n: number): RtmpMessage => control(messageType.windowAckSize, u32(n));
/** limitType 2: dynamic (RTMP 5.4.5). */
export const setPeerBandwidth = (n: number): RtmpMessage =>
  control(messageType.setPeerBandwidth, Buffer.concat([u32(n), Buffer.of(2)]));
export const setChunkSize = (n: number): RtmpMessage => control(messageType.setChunkSize, u32(n));

export function command(
  streamId: number,
  name: string,
  transactionId: number,
  object: Amf0Value,
  ...args: Amf0Value[]
): RtmpMessage {
  const payload = encodeCommand({ name, transactionId, object, args });
  return { csid: commandCsid, timestamp: 0, typeId: messageType.commandAmf0, streamId, payload };
}

export function onStatus(streamId: number, level: 'status' | 'error', code: string, description: string): RtmpMessage {
  return command(streamId, 'onStatus', 0, null, { level, code, description });
}

/** What a server answers to connect: the same fields node-media-server and nginx-rtmp send. */
export function connectResult(transactionId: number, objectEncoding: number): RtmpMessage {
  return command(
    0,
    '_result',
    transactionId,
    { fmsVer: 'FMS/3,0,1,123', capabilities: 31 },
    { level: 'status', code: 'NetConnection.Connect.Success', description: 'Connection succeeded.', objectEncoding },
  );
}

export const createStreamResult = (transactionId: number, streamId: number): RtmpMessage =>
  command(0, '_result', transactionId, null, streamId);

/**
 * S0+S1+S2 for a client's C0+C1 (1 + 1536 bytes): the simple handshake (S2 echoes C1), which encoders accept when
 * they publish (ffmpeg and librtmp check the server's digest only when they play). Undefined: not RTMP version 3.
 */
export function serverHandshake(c0c1: Buffer, random: Buffer): Buffer | undefined {
  if (c0c1.length < 1 + handshakeSize || c0c1[0] !== rtmpVersion) return undefined;
  const s1 = Buffer.alloc(handshakeSize);
  random.copy(s1, 8, 0, handshakeSize - 8); // time 0, zero, random bytes
  return Buffer.concat([Buffer.of(rtmpVersion), s1, c0c1.subarray(1, 1 + handshakeSize)]);
}

/** C0+C1 of the gateway as a client of a backend. */
export function clientHello(random: Buffer): Buffer {
  const c1 = Buffer.alloc(handshakeSize);
  random.copy(c1, 8, 0, handshakeSize - 8);
  return Buffer.concat([Buffer.of(rtmpVersion), c1]);
}

/** C2 for the server's S0+S1+S2: S1 echoed. Undefined: not RTMP version 3. */
export function clientAck(s0s1s2: Buffer): Buffer | undefined {
  if (s0s1s2.length < 1 + 2 * handshakeSize || s0s1s2[0] !== rtmpVersion) return undefined;
  return Buffer.from(s0s1s2.subarray(1, 1 + handshakeSize));
}
