// RTMP ingest on node-media-server: who may publish, what the source is, and how the pod's own processes read it.
//
// - A publish is accepted only at /<app>/<key> with the key of the mounted Secret, one publisher at a time; every
//   refusal is counted by reason and repeated failures from one address are slowed down (publish-guard.ts).
// - The accepted broadcast is moved, inside node-media-server, from /<app>/<key> to /<app>/<internalStreamName>:
//   the ladder's ffmpeg, the relays and the HTTP-FLV proxy play that internal path from loopback, so the key never
//   appears in a process argument, a URL or a log line. Play is refused to anyone else, and for any other path.
// - node-media-server keeps a departed publisher's broadcast alive for a 30 s "grace" (publishGraceMs, per
//   broadcast) before it reports donePublish; we set it to 0 on every broadcast we see: the reconnect window is ours.
// - A publisher closed in prePublish still gets postPublish and donePublish from node-media-server: refused session
//   ids are remembered (bounded) and those events ignored.
import { EventEmitter } from 'node:events';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import { redact } from '../../../contract/src/redact.ts';
import type { PublishRefusedReason, TranscoderMetrics } from '../telemetry/metrics.ts';
import { audioCodecName, parseAvcDecoderConfig, videoCodecName, type SourceInfo } from '../ladder/source-info.ts';
import { NodeMediaServer, nmsContext, nmsLogger, parseH264Sps, type NmsPacket, type NmsSession } from './nms.ts';
import { addressOf, decidePublish, isLoopback, PenaltyBox } from './publish-guard.ts';
import type { StreamKey } from './stream-key.ts';
import { internalStreamName } from '../../../contract/src/pod-contract.ts';

export interface IngestOptions {
  port: number; // RTMP, 0 = any free port
  host?: string; // RTMP bind address, default 0.0.0.0
  flvPort?: number; // node-media-server's HTTP-FLV listener, always on 127.0.0.1; undefined = not started
  app: () => string; // the RTMP app of the current config (hot-reloadable)
  streamKey: StreamKey;
  logger: Logger;
  metrics?: TranscoderMetrics;
  penalties?: PenaltyBox;
  audioWaitMs?: number; // after the video header, how long to wait for an audio header before deciding "no audio"
}

export interface PublishInfo {
  publisherId: string;
  address: string;
  app: string;
  startedAt: number;
}

export interface IngestStats {
  publishing: boolean;
  bytesIn: number; // of the current publisher
  bitrateKbps: number;
  fps: number; // measured over the last seconds (frames received)
  width: number;
  height: number;
}

export interface IngestEvents {
  'publish-start': [PublishInfo];
  'source-ready': [PublishInfo, SourceInfo];
  'publish-end': [PublishInfo, { bytesIn: number }];
  refused: [PublishRefusedReason, string];
}

export interface Ingest {
  readonly events: EventEmitter<IngestEvents>;
  readonly port: number;
  readonly flvPort: number | undefined;
  internalRtmpUrl(): string; // rtmp://127.0.0.1:<port>/<app>/<internal>
  internalFlvUrl(): URL | undefined;
  publishing(): boolean;
  stats(): IngestStats;
  // Disconnect the current publisher (e.g. the LiveStream was paused).
  kick(): void;
  close(): Promise<void>;
}

// node-media-server logs stream paths (which carry the key) at every level: never let its text through raw.
export function redactStreamPaths(message: string): string {
  return redact(message, { streamPaths: true });
}

function routeNmsLogs(logger: Logger): void {
  nmsLogger.level = 'trace';
  nmsLogger.log = (message: string, level = 'info') => {
    const text = redactStreamPaths(String(message));
    if (level === 'error') logger.error({ component: 'nms' }, text);
    else if (level === 'warn') logger.warn({ component: 'nms' }, text);
    else logger.trace({ component: 'nms' }, text);
  };
}

interface Current {
  info: PublishInfo;
  session: NmsSession;
  videoHeader: Buffer | null;
  videoCodecId: number | undefined;
  audioCodecId: number | undefined;
  audioHeaderSeen: boolean;
  frames: number;
  source: SourceInfo | undefined;
  sourceEmitted: boolean;
  audioTimer: NodeJS.Timeout | undefined;
  samples: Array<{ t: number; bytes: number; frames: number }>;
}

export async function startIngest(options: IngestOptions): Promise<Ingest> {
  const { logger, metrics, streamKey } = options;
  const penalties = options.penalties ?? new PenaltyBox();
  const audioWaitMs = options.audioWaitMs ?? 1_000;
  const events = new EventEmitter<IngestEvents>();
  routeNmsLogs(logger);

  const nms = new NodeMediaServer({
    rtmp: { port: 1 }, // placeholder so the server object exists: we listen ourselves below
    http: options.flvPort !== undefined ? { port: 1 } : undefined,
    webadmin: { enable: false },
    auth: { play: false, publish: false },
  });
  const ctx = nmsContext;
  const refused = new Set<string>();
  let current: Current | undefined;
  let publishApp = options.app();

  const internalPath = (): string => `/${current?.info.app ?? publishApp}/${internalStreamName}`;

  const refuse = (session: NmsSession, reason: PublishRefusedReason, address: string): void => {
    refused.add(session.id);
    if (refused.size > 1_000) refused.delete(refused.values().next().value!);
    // Forget the attempted name before node-media-server logs or stores anything about this session.
    session.streamName = '-';
    session.streamPath = `/${session.streamApp}/-`;
    session.broadcast.publishGraceMs = 0;
    destroy(session);
    metrics?.publishRefusedTotal.inc({ reason });
    logger.warn({ reason, address }, 'publish refused');
    events.emit('refused', reason, address);
  };

  const onPrePublish = (session: NmsSession): void => {
    session.broadcast.publishGraceMs = 0;
    const address = addressOf(session.ip);
    if (session.protocol !== 'rtmp') return refuse(session, 'wrong_path', address);
    const app = options.app();
    const decision = decidePublish(
      { address, app: session.streamApp, name: session.streamName },
      {
        app,
        keyMatches: (name) => name !== internalStreamName && streamKey.matches(name),
        busy: current !== undefined,
      },
      penalties,
    );
    if (!decision.accept) return refuse(session, decision.reason, address);
    accept(session, address, app);
  };

  const accept = (session: NmsSession, address: string, app: string): void => {
    const broadcast = session.broadcast;
    const aliasPath = `/${app}/${internalStreamName}`;
    const leftover = ctx.broadcasts.get(aliasPath);
    if (leftover !== undefined && leftover !== broadcast) {
      // Players of a previous publish (a stopping ffmpeg, HTTP-FLV viewers): they reconnect to the new one.
      for (const sub of leftover.subscribers.values()) destroy(sub);
    }
    ctx.broadcasts.delete(broadcast.streamPath);
    broadcast.streamPath = aliasPath;
    ctx.broadcasts.set(aliasPath, broadcast);
    session.streamName = internalStreamName;
    session.streamPath = aliasPath;
    // A refused publisher may still hold this broadcast's slot until its close is processed: free it.
    if (broadcast.publisher !== null && refused.has(broadcast.publisher.id)) broadcast.publisher = null;
    publishApp = app;
    const info: PublishInfo = { publisherId: session.id, address, app, startedAt: Date.now() };
    current = {
      info,
      session,
      videoHeader: null,
      videoCodecId: undefined,
      audioCodecId: undefined,
      audioHeaderSeen: false,
      frames: 0,
      source: undefined,
      sourceEmitted: false,
      audioTimer: undefined,
      samples: [],
    };
    const state = current;
    const forward = broadcast.broadcastMessage;
    broadcast.broadcastMessage = (packet: NmsPacket) => {
      forward(packet);
      if (current === state) observe(state, packet);
    };
    logger.info({ address, app }, 'publish accepted');
  };

  const observe = (state: Current, packet: NmsPacket): void => {
    if (packet.codec_type === 9) {
      state.videoCodecId ??= packet.codec_id;
      if (packet.flags === 2 && state.videoHeader === null) {
        state.videoHeader = Buffer.from(packet.data);
        state.audioTimer = setTimeout(() => emitSource(state), audioWaitMs);
        if (state.audioHeaderSeen) emitSource(state);
      } else if (packet.flags === 3 || packet.flags === 4) {
        state.frames++;
      }
    } else if (packet.codec_type === 8) {
      state.audioCodecId ??= packet.codec_id;
      if (packet.flags === 0 || packet.codec_id !== 10) {
        state.audioHeaderSeen = true;
        if (state.videoHeader !== null) emitSource(state);
      }
    }
  };

  const emitSource = (state: Current): void => {
    if (state.sourceEmitted || current !== state) return;
    state.sourceEmitted = true;
    clearTimeout(state.audioTimer);
    const s = state.session;
    // Legacy FLV and enhanced RTMP both put the decoder configuration record 5 bytes into the tag body.
    const avc = state.videoHeader !== null ? parseAvcDecoderConfig(state.videoHeader.subarray(5)) : null;
    const dims = avc?.sps ? parseH264Sps(avc.sps) : null;
    const source: SourceInfo = {
      videoCodec: videoCodecName(state.videoCodecId),
      audioCodec: state.audioHeaderSeen ? audioCodecName(state.audioCodecId) : null,
      width: dims?.width ?? (s.videoWidth || 0),
      height: dims?.height ?? (s.videoHeight || 0),
      fps: Number(s.videoFramerate) || 0,
      profile: avc?.profile ?? null,
      ...(avc ? { codecString: avc.codecString } : {}),
      ...(Number(s.videoDatarate) > 0 ? { videoBitrateKbps: Math.round(Number(s.videoDatarate)) } : {}),
    };
    state.source = source;
    metrics?.ingestWidthPixels.set(source.width);
    metrics?.ingestHeightPixels.set(source.height);
    logger.info({ source }, 'source ready');
    events.emit('source-ready', state.info, source);
  };

  const onPostPublish = (session: NmsSession): void => {
    if (current?.session !== session) return; // refused: node-media-server emits postPublish regardless
    metrics?.publishing.set(1);
    events.emit('publish-start', current.info);
  };

  const onDonePublish = (session: NmsSession): void => {
    if (refused.delete(session.id) || current?.session !== session) return;
    const ended = current;
    current = undefined;
    clearTimeout(ended.audioTimer);
    metrics?.publishing.set(0);
    for (const g of [metrics?.ingestBitrateKbps, metrics?.ingestFps]) g?.set(0);
    logger.info({ address: ended.info.address, bytesIn: session.inBytes }, 'publish ended');
    events.emit('publish-end', ended.info, { bytesIn: session.inBytes });
  };

  const onPrePlay = (session: NmsSession): void => {
    session.broadcast.publishGraceMs = 0;
    const address = addressOf(session.ip);
    if (isLoopback(address) && session.streamPath === internalPath()) return;
    logger.warn({ address, protocol: session.protocol }, 'play refused: only the pod itself plays the stream');
    session.streamName = '-';
    session.streamPath = `/${session.streamApp}/-`;
    destroy(session);
  };

  const listeners: Array<[string, (s: NmsSession) => void]> = [
    ['prePublish', onPrePublish],
    ['postPublish', onPostPublish],
    ['donePublish', onDonePublish],
    ['prePlay', onPrePlay],
  ];
  for (const [name, fn] of listeners) ctx.eventEmitter.on(name, fn);

  const sampler = setInterval(() => {
    const c = current;
    if (c === undefined) return;
    c.samples.push({ t: Date.now(), bytes: c.session.inBytes, frames: c.frames });
    if (c.samples.length > 6) c.samples.shift();
    const st = stats();
    metrics?.ingestBitrateKbps.set(st.bitrateKbps);
    metrics?.ingestFps.set(st.fps);
  }, 1_000);
  sampler.unref();

  const stats = (): IngestStats => {
    const c = current;
    if (c === undefined) return { publishing: false, bytesIn: 0, bitrateKbps: 0, fps: 0, width: 0, height: 0 };
    const first = c.samples[0];
    const last = c.samples[c.samples.length - 1];
    const seconds = first && last ? (last.t - first.t) / 1000 : 0;
    return {
      publishing: true,
      bytesIn: c.session.inBytes,
      bitrateKbps: seconds > 0 ? Math.round(((last!.bytes - first!.bytes) * 8) / 1000 / seconds) : 0,
      fps: seconds > 0 ? Math.round(((last!.frames - first!.frames) / seconds) * 100) / 100 : 0,
      width: c.source?.width ?? (c.session.videoWidth || 0),
      height: c.source?.height ?? (c.session.videoHeight || 0),
    };
  };

  const rtmp = nms.rtmpServer.tcpServer;
  if (rtmp === undefined) throw new Error('node-media-server did not create its RTMP server');
  const port = await listen(rtmp, options.port, options.host ?? '0.0.0.0', logger);
  let flvPort: number | undefined;
  if (options.flvPort !== undefined) {
    const http = nms.httpServer.httpServer;
    if (http === undefined) throw new Error('node-media-server did not create its HTTP server');
    // node-media-server's own error handler calls process.exit(): ours reports instead.
    http.removeAllListeners('error');
    flvPort = await listen(http, options.flvPort, '127.0.0.1', logger);
  }
  logger.info({ port, host: options.host ?? '0.0.0.0', flvPort }, 'RTMP ingest listening');

  return {
    events,
    port,
    flvPort,
    internalRtmpUrl: () => `rtmp://127.0.0.1:${port}${internalPath()}`,
    internalFlvUrl: () =>
      flvPort === undefined ? undefined : new URL(`http://127.0.0.1:${flvPort}${internalPath()}.flv`),
    publishing: () => current !== undefined,
    stats,
    kick() {
      if (current !== undefined) destroy(current.session);
    },
    async close() {
      clearInterval(sampler);
      for (const session of ctx.sessions.values()) destroy(session);
      await nms.stop();
      for (const [name, fn] of listeners) ctx.eventEmitter.off(name, fn);
      // Let node-media-server's close handlers (donePublish after a 0 ms grace) run before we return.
      await new Promise((r) => setTimeout(r, 20));
    },
  };
}

function destroy(session: NmsSession): void {
  if (session.socket !== undefined) session.socket.destroy();
  else session.close();
}

function listen(server: NetServer, port: number, host: string, logger: Logger): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error({ err, port }, 'listener error'));
      resolve((server.address() as AddressInfo).port);
    });
  });
}
