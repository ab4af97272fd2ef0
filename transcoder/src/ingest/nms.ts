// Typed access to node-media-server 4.4.3 (CommonJS, no bundled types): only the parts the ingest uses.
//
// We construct NodeMediaServer but never call its run(): run() would also open its JSON store (which records every
// stream path, keys included, under ./data) and start its record/relay/history services. We listen on its RTMP and
// HTTP-FLV servers ourselves, which also lets the HTTP-FLV listener stay on loopback while RTMP is public.
import { createRequire } from 'node:module';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { EventEmitter } from 'node:events';

const require = createRequire(import.meta.url);

export interface NmsPacket {
  codec_type: number; // 8 audio, 9 video, 18 script
  codec_id: number;
  flags: number; // 0 audio header, 1 audio frame, 2 video header, 3 keyframe, 4 frame, 5 metadata
  pts: number;
  dts: number;
  size: number;
  data: Buffer;
}

export interface NmsBroadcast {
  streamPath: string;
  publisher: NmsSession | null;
  subscribers: Map<string, NmsSession>;
  publishGraceMs: number;
  flvVideoHeader: Buffer | null;
  flvAudioHeader: Buffer | null;
  broadcastMessage: (packet: NmsPacket) => void;
}

export interface NmsSession {
  id: string;
  ip: string; // "address:port"
  protocol: string; // 'rtmp' | 'flv' | ...
  isPublisher: boolean;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, unknown>;
  createTime: number;
  endTime: number;
  inBytes: number;
  outBytes: number;
  videoCodec: number | string;
  videoWidth: number;
  videoHeight: number;
  videoFramerate: number;
  videoDatarate: number;
  audioCodec: number | string;
  audioChannels: number;
  audioSamplerate: number;
  audioDatarate: number;
  broadcast: NmsBroadcast;
  socket?: Socket;
  close: () => void;
}

export interface NmsContext {
  config: Record<string, unknown>;
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: EventEmitter;
}

interface NmsLogger {
  level: string;
  log: (message: string, level?: string) => void;
}

export interface NmsServer {
  rtmpServer: { tcpServer?: NetServer; stop(): void };
  httpServer: { httpServer?: HttpServer; stop(): void };
  stop(): Promise<void>;
}

type NmsConstructor = new (config: Record<string, unknown>) => NmsServer;

export const NodeMediaServer = require('node-media-server') as NmsConstructor;
export const nmsContext = require('node-media-server/src/core/context.js') as NmsContext;
export const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLogger;
export const { parseH264Sps } = require('node-media-server/src/protocol/sps_info.js') as {
  parseH264Sps: (sps: Buffer) => { width: number; height: number } | null;
};
