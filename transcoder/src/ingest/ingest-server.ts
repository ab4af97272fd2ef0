// RTMP ingest on node-media-server: who may publish, what the source is, and how the pod's own processes read it.
//
// - A publish is accepted only at /<app>/<key> with the key of the mounted Secret, one publisher at a time; every
//   refusal is counted by reason and repeated failures from one address are slowed down (publish-guard.ts).
// - The accepted broadcast is moved, inside node-media-server, from /<app>/<key> to /<app>/<internalStreamName>:
//   the ladder's ffmpeg, the relays and the HTTP-FLV proxy play that internal path from loopback, so the key never
//   appears in a process argument, a URL or a log line. Play is refused to anyone else, and for any other path.
// - node-media-server keeps a departed publisher's broadcast alive for a 30 s "grace" (publishGraceMs, per
//   broadcast) before it reports donePublish; we set it to 0 on every broadcast we see: the reconnect window is ours.
// - When the publisher leaves, the internal players (the ladder's ffmpeg, relays, HTTP-FLV) are ended gracefully:
//   node-media-server would keep them attached with no EOF, so an ffmpeg blocked reading them ignored SIGINT and was
//   killed 8 s later, losing its last segment. Ended, ffmpeg reads every frame already sent, then EOF, and writes
//   its last segment at once (measured in session/publish-end.int.test.ts). Chosen over feeding ffmpeg through a
//   pipe of our own: the same close serves every player, and the RTMP pull stays the one way processes read.
// - A publisher that goes silent (the network dropped, no TCP close) is disconnected after `publisherIdleMs`:
//   node-media-server 4 has no RTMP ping or timeout of its own.
// - A publisher closed in prePublish still gets postPublish and donePublish from node-media-server: refused session
//   ids are remembered (bounded) and those events ignored.
//
// The class below owns the lifecycle (listeners, the current publisher, the sampler); node-media-server's wiring is
// in nms-wiring.ts, who may publish in publish-guard.ts, what the source is in source-probe.ts, the measured rates in
// ingest-rates.ts.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { internalStreamName } from '../../../contract/src/pod-contract.ts';
import { defaultRefusalPolicy, RefusalLimiter } from '../../../contract/src/refusal-limiter.ts';
import type { SourceInfo } from '../ladder/source-info.ts';
import type { PublishRefusedReason, TranscoderMetrics } from '../telemetry/metrics.ts';
import { addSample, ingestRates, type IngestSample } from './ingest-rates.ts';
import type { NmsPacket, NmsServer, NmsSession } from './nms.ts';
import {
  createNms,
  destroyAllSessions,
  destroySession,
  endPlayers,
  hideStreamName,
  listenNms,
  moveBroadcast,
  routeNmsLogs,
  wireNmsEvents,
} from './nms-wiring.ts';
import { addressOf, decidePublish, isLoopback } from './publish-guard.ts';
import { SourceProbe } from './source-probe.ts';
import type { StreamKey } from './stream-key.ts';

export { redactStreamPaths } from './nms-wiring.ts';

export interface IngestOptions {
  port: number; // RTMP, 0 = any free port
  host?: string; // RTMP bind address, default 0.0.0.0
  flvPort?: number; // node-media-server's HTTP-FLV listener, always on 127.0.0.1; undefined = not started
  app: () => string; // the RTMP app of the current config (hot-reloadable)
  streamKey: StreamKey;
  logger: Logger;
  metrics?: TranscoderMetrics;
  /** Refused publishes per address (default: ten a minute after a burst of ten), on the clock `now`. */
  refusals?: { limiter: RefusalLimiter; now: () => number };
  audioWaitMs?: number; // after the video header, how long to wait for an audio header before deciding "no audio"
  segmentSeconds?: () => number; // of the current config: a copyable source's keyframes are measured that far
  publisherIdleMs?: number; // a publisher that sends nothing this long is disconnected (default 5 s)
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

/** The publisher currently on air. */
interface Publish {
  info: PublishInfo;
  session: NmsSession;
  probe: SourceProbe;
  samples: IngestSample[];
}

/** Refused session ids kept at most: node-media-server still reports their postPublish and donePublish. */
const refusedRemembered = 1_000;
/** An encoder sends frames many times a second: 5 s of silence is a dead connection (SRS's publish timeout). */
const defaultPublisherIdleMs = 5_000;
const idleStats: IngestStats = { publishing: false, bytesIn: 0, bitrateKbps: 0, fps: 0, width: 0, height: 0 };

/** The ingest, listening. */
export async function startIngest(options: IngestOptions): Promise<Ingest> {
  const ingest = new IngestServer(options);
  try {
    await ingest.listen();
  } catch (err) {
    await ingest.close();
    throw err;
  }
  return ingest;
}

class IngestServer implements Ingest {
  readonly events = new EventEmitter<IngestEvents>();
  private readonly options: IngestOptions;
  private readonly logger: Logger;
  private readonly metrics: TranscoderMetrics | undefined;
  private readonly refusals: { limiter: RefusalLimiter; now: () => number };
  private readonly nms: NmsServer;
  private readonly unwire: () => void;
  private readonly sampler: NodeJS.Timeout;
  private readonly refused = new Set<string>();
  private current: Publish | undefined;
  private publishApp: string; // the app of the last accepted publish: the internal path's app between publishes
  private ports: { rtmp: number; flv: number | undefined } = { rtmp: 0, flv: undefined };

  constructor(options: IngestOptions) {
    this.options = options;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.refusals = options.refusals ?? { limiter: new RefusalLimiter(defaultRefusalPolicy), now: Date.now };
    this.publishApp = options.app();
    routeNmsLogs(this.logger);
    this.nms = createNms(options.flvPort !== undefined);
    this.unwire = wireNmsEvents({
      prePublish: (s) => this.onPrePublish(s),
      postPublish: (s) => this.onPostPublish(s),
      donePublish: (s) => this.onDonePublish(s),
      prePlay: (s) => this.onPrePlay(s),
    });
    this.sampler = setInterval(() => this.sample(), 1_000);
    this.sampler.unref();
  }

  get port(): number {
    return this.ports.rtmp;
  }

  get flvPort(): number | undefined {
    return this.ports.flv;
  }

  async listen(): Promise<void> {
    const { port: rtmpPort, host = '0.0.0.0', flvPort: flv } = this.options;
    const { port, flvPort } = await listenNms(this.nms, { port: rtmpPort, host, flvPort: flv }, this.logger);
    this.ports = { rtmp: port, flv: flvPort };
    this.logger.info({ port, host, flvPort }, 'RTMP ingest listening');
  }

  internalRtmpUrl(): string {
    return `rtmp://127.0.0.1:${this.port}${this.internalPath()}`;
  }

  internalFlvUrl(): URL | undefined {
    const flvPort = this.flvPort;
    return flvPort === undefined ? undefined : new URL(`http://127.0.0.1:${flvPort}${this.internalPath()}.flv`);
  }

  publishing(): boolean {
    return this.current !== undefined;
  }

  stats(): IngestStats {
    const c = this.current;
    if (c === undefined) return idleStats;
    const source = c.probe.info;
    return {
      publishing: true,
      bytesIn: c.session.inBytes,
      ...ingestRates(c.samples),
      width: source?.width ?? (c.session.videoWidth || 0),
      height: source?.height ?? (c.session.videoHeight || 0),
    };
  }

  kick(): void {
    if (this.current !== undefined) destroySession(this.current.session);
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    destroyAllSessions();
    await this.nms.stop();
    this.unwire();
    // Let node-media-server's close handlers (donePublish after a 0 ms grace) run before we return.
    await new Promise((r) => setTimeout(r, 20));
  }

  private internalPath(): string {
    return `/${this.current?.info.app ?? this.publishApp}/${internalStreamName}`;
  }

  private onPrePublish(session: NmsSession): void {
    session.broadcast.publishGraceMs = 0;
    const address = addressOf(session.ip);
    if (session.protocol !== 'rtmp') return this.refuse(session, 'wrong_path', address);
    const app = this.options.app();
    const decision = decidePublish(
      { address, app: session.streamApp, name: session.streamName },
      {
        app,
        keyMatches: (name) => name !== internalStreamName && this.options.streamKey.matches(name),
        busy: this.current !== undefined,
      },
      this.refusals.limiter,
      this.refusals.now(),
    );
    if (!decision.accept) return this.refuse(session, decision.reason, address);
    this.accept(session, address, app);
  }

  private refuse(session: NmsSession, reason: PublishRefusedReason, address: string): void {
    this.refused.add(session.id);
    if (this.refused.size > refusedRemembered) this.refused.delete(this.refused.values().next().value!);
    hideStreamName(session);
    session.broadcast.publishGraceMs = 0;
    destroySession(session);
    this.metrics?.publishRefusedTotal.inc({ reason });
    this.logger.warn({ reason, address }, 'publish refused');
    this.events.emit('refused', reason, address);
  }

  private accept(session: NmsSession, address: string, app: string): void {
    moveBroadcast(session, `/${app}/${internalStreamName}`, (id) => this.refused.has(id));
    this.publishApp = app;
    const info: PublishInfo = { publisherId: session.id, address, app, startedAt: Date.now() };
    const audioWaitMs = this.options.audioWaitMs ?? 1_000;
    const keyframeWaitMs = Math.round(1_100 * (this.options.segmentSeconds?.() ?? 2));
    const probe = new SourceProbe(session, audioWaitMs, (source) => this.onSource(info, source), keyframeWaitMs);
    const publish: Publish = { info, session, probe, samples: [] };
    this.current = publish;
    const broadcast = session.broadcast;
    const forward = broadcast.broadcastMessage;
    broadcast.broadcastMessage = (packet: NmsPacket) => {
      forward(packet);
      if (this.current === publish) probe.observe(packet);
    };
    this.watchSilence(session);
    this.logger.info({ address, app }, 'publish accepted');
  }

  private watchSilence(session: NmsSession): void {
    const idleMs = this.options.publisherIdleMs ?? defaultPublisherIdleMs;
    session.socket?.setTimeout(idleMs, () => {
      this.logger.warn({ idleMs }, 'publisher silent: disconnected');
      destroySession(session);
    });
  }

  private onSource(info: PublishInfo, source: SourceInfo): void {
    this.metrics?.ingestWidthPixels.set(source.width);
    this.metrics?.ingestHeightPixels.set(source.height);
    this.logger.info({ source }, 'source ready');
    this.events.emit('source-ready', info, source);
  }

  private onPostPublish(session: NmsSession): void {
    if (this.current?.session !== session) return; // refused: node-media-server emits postPublish regardless
    this.metrics?.publishing.set(1);
    this.events.emit('publish-start', this.current.info);
  }

  private onDonePublish(session: NmsSession): void {
    if (this.refused.delete(session.id) || this.current?.session !== session) return;
    const ended = this.current;
    this.current = undefined;
    ended.probe.close();
    this.metrics?.publishing.set(0);
    this.metrics?.ingestBitrateKbps.set(0);
    this.metrics?.ingestFps.set(0);
    const players = endPlayers(session.broadcast);
    this.logger.info({ address: ended.info.address, bytesIn: session.inBytes, players }, 'publish ended');
    this.events.emit('publish-end', ended.info, { bytesIn: session.inBytes });
  }

  private onPrePlay(session: NmsSession): void {
    session.broadcast.publishGraceMs = 0;
    const address = addressOf(session.ip);
    if (isLoopback(address) && session.streamPath === this.internalPath()) return;
    this.logger.warn({ address, protocol: session.protocol }, 'play refused: only the pod itself plays the stream');
    hideStreamName(session);
    destroySession(session);
  }

  private sample(): void {
    const c = this.current;
    if (c === undefined) return;
    c.samples = addSample(c.samples, { t: Date.now(), bytes: c.session.inBytes, frames: c.probe.frames });
    const { bitrateKbps, fps } = ingestRates(c.samples);
    this.metrics?.ingestBitrateKbps.set(bitrateKbps);
    this.metrics?.ingestFps.set(fps);
  }
}
