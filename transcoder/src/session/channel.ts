// The broadcast session of one LiveStream, run: the decisions are channel-machine.ts's (a pure transition function);
// this effect runner owns what they act on: the ladder's ffmpeg, the session's HLS output, the timers, the reports.
// Events are applied one at a time, each after the effects of the previous one have run, because stopping ffmpeg
// takes a while and a publisher may come back while it is still writing its last segment. What the channel shows
// (state, session, plan) changes once an event's effects are done: "reconnecting" means ffmpeg has stopped.
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { EventDataByType, EventType } from '../../../contract/src/reports.ts';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import type { Ingest } from '../ingest/ingest-server.ts';
import { buildFfmpegArgs, defaultThumbnail, lowLatencyPipes } from '../ladder/ffmpeg-args.ts';
import { planLadder, type LadderPlan } from '../ladder/plan-ladder.ts';
import { LlHlsLadder } from '../llhls/llhls-ladder.ts';
import type { RenditionPackager } from '../llhls/rendition-packager.ts';
import type { TranscoderMetrics } from '../telemetry/metrics.ts';
import {
  defaultPolicy,
  initialMachine,
  publicState,
  refusalForStatus,
  transition,
  type ChannelEffect,
  type ChannelEvent,
  type ChannelSettings,
  type ChannelState,
  type Machine,
  type TimerName,
} from './channel-machine.ts';
import { clearDirectory } from './hls-files.ts';
import { newSessionId } from './session-id.ts';
import { SessionOutput } from './session-output.ts';

export type { ChannelState } from './channel-machine.ts';

export interface ReportSink {
  report<T extends EventType>(type: T, session: string, data: EventDataByType[T]): void;
}

export interface ChannelOptions {
  ingest: Ingest;
  hlsDir: string;
  config: () => ResolvedConfig;
  logger: Logger;
  metrics?: TranscoderMetrics;
  reporter?: ReportSink;
  viewers?: () => number;
  peakViewers?: () => number;
  resetPeakViewers?: () => void;
  ffmpegPath?: string;
  x264Preset?: string;
  /** Seconds between thumbnail refreshes (0: no thumbnail); default defaultThumbnail's. */
  thumbnailSeconds?: number;
  heartbeatMs?: number;
  pollMs?: number;
  restartBaseDelayMs?: number;
  restartMaxDelayMs?: number;
  ladderStopGraceMs?: number; // SIGINT, then SIGKILL after this (default 8 s)
  ladderDrainMs?: number; // after the publisher left, how long ffmpeg may take to finish before SIGINT (default 1 s)
}

export interface Channel {
  state(): ChannelState;
  sessionId(): string; // '' when idle
  plan(): LadderPlan | undefined;
  segments(): Record<string, number>; // per rendition, this session
  ffmpegPid(): number | undefined;
  ffmpegRestarts(): number; // this session
  // Playlists are worth serving: a session is running, or ended so recently that players are still finishing it.
  servingPlaylists(): boolean;
  // The LL-HLS packager of a rendition while an LL-HLS session runs (the origin answers its playlists from it).
  lowLatency(rendition: string): RenditionPackager | undefined;
  // The configuration was reloaded: the reconnect window and spec.paused apply at once.
  configChanged(): void;
  settled(): Promise<void>; // resolves when queued transitions are done
  shutdown(): Promise<void>;
}

const settingsOf = (config: ResolvedConfig): ChannelSettings => ({
  reconnectWindowSeconds: config.reconnectWindowSeconds,
  paused: config.paused,
});

export class ChannelRunner implements Channel {
  private readonly options: ChannelOptions;
  private readonly logger: Logger;
  private machine: Machine;
  private queue: Promise<void> = Promise.resolve();
  private ladder: { run: number; process: FfmpegProcess } | undefined;
  private output: SessionOutput | undefined;
  private llHls: LlHlsLadder | undefined; // the session's LL-HLS packagers (spec.hls.lowLatency)
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private readonly poller: NodeJS.Timeout;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(options: ChannelOptions) {
    this.options = options;
    this.logger = options.logger;
    this.machine = initialMachine(settingsOf(options.config()), {
      ...defaultPolicy,
      restartBackoff: {
        ...defaultPolicy.restartBackoff,
        ...(options.restartBaseDelayMs !== undefined && { baseMs: options.restartBaseDelayMs }),
        ...(options.restartMaxDelayMs !== undefined && { maxMs: options.restartMaxDelayMs }),
      },
    });
    this.listen(options.ingest);
    this.poller = setInterval(() => this.output?.requestPoll(), options.pollMs ?? 100);
    this.poller.unref();
    this.heartbeat = setInterval(() => this.sendHeartbeat(), options.heartbeatMs ?? 5_000);
    this.heartbeat.unref();
  }

  state(): ChannelState {
    return publicState(this.machine);
  }

  sessionId(): string {
    return this.machine.session?.id ?? '';
  }

  plan(): LadderPlan | undefined {
    return this.machine.session?.plan;
  }

  segments(): Record<string, number> {
    return { ...this.output?.segments };
  }

  ffmpegPid(): number | undefined {
    return this.ladder?.process.pid;
  }

  ffmpegRestarts(): number {
    return this.machine.session?.restarts ?? 0;
  }

  servingPlaylists(): boolean {
    if (this.state() !== 'idle') return true;
    const { segmentSeconds, playlistLength } = this.options.config();
    const linger = segmentSeconds * playlistLength * 2 * 1000;
    return this.machine.endedAt > 0 && Date.now() - this.machine.endedAt < linger;
  }

  lowLatency(rendition: string): RenditionPackager | undefined {
    return this.llHls?.rendition(rendition);
  }

  configChanged(): void {
    this.dispatch({ type: 'config-changed', settings: settingsOf(this.options.config()) });
  }

  async settled(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.queue) {
      seen = this.queue;
      await this.queue;
    }
  }

  async shutdown(): Promise<void> {
    this.dispatch({ type: 'shutdown' });
    await this.settled();
    this.output?.close();
    this.llHls?.close();
    clearInterval(this.poller);
    clearInterval(this.heartbeat);
  }

  dispatch(event: ChannelEvent): void {
    this.queue = this.queue
      .then(() => this.apply(event))
      .catch((err: unknown) => this.logger.error({ err }, `session transition "${event.type}" failed`));
  }

  private async apply(event: ChannelEvent): Promise<void> {
    const { state, effects } = transition(this.machine, event, Date.now());
    try {
      for (const effect of effects) await this.run(effect);
    } finally {
      this.machine = state; // shown once the world matches it
    }
  }

  private listen(ingest: Ingest): void {
    ingest.events.on('publish-start', (info) =>
      this.dispatch({ type: 'publish-started', publisherId: info.publisherId, sessionId: newSessionId() }),
    );
    ingest.events.on('source-ready', (info, source) => {
      let plan: LadderPlan;
      try {
        const config = this.options.config();
        plan = { ...planLadder(config, source), settings: config.sessionSettings };
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'cannot plan the ladder for this source');
        return;
      }
      this.dispatch({ type: 'source-ready', publisherId: info.publisherId, source, plan, sessionId: newSessionId() });
    });
    ingest.events.on('publish-end', (info, { bytesIn }) =>
      this.dispatch({ type: 'publish-ended', publisherId: info.publisherId, bytesIn }),
    );
    ingest.events.on('refused', (reason) => this.dispatch({ type: 'publish-refused', reason }));
  }

  private async run(effect: ChannelEffect): Promise<void> {
    switch (effect.type) {
      case 'begin-session':
        return this.beginSession(effect.session);
      case 'start-ladder':
        return this.startLadder(effect);
      case 'stop-ladder':
        return this.stopLadder(effect.inputEnded);
      case 'end-session':
        return this.endSession(effect);
      case 'report': {
        const { type, session, data } = effect.report;
        if (type === 'ffmpeg-failed') this.options.metrics?.ffmpegRestartsTotal.inc();
        this.options.reporter?.report(type, session, data);
        return;
      }
      case 'arm-timer':
        return this.arm(effect.timer, effect.delayMs);
      case 'cancel-timer':
        clearTimeout(this.timers.get(effect.timer));
        this.timers.delete(effect.timer);
        return;
      case 'disconnect-publisher':
        return this.options.ingest.kick();
      case 'log':
        this.logger[effect.level](effect.fields ?? {}, effect.message);
        return;
    }
  }

  private arm(timer: TimerName, delayMs: number): void {
    clearTimeout(this.timers.get(timer));
    const handle = setTimeout(() => {
      this.timers.delete(timer);
      this.dispatch({ type: timer });
    }, delayMs);
    handle.unref();
    this.timers.set(timer, handle);
  }

  private async beginSession(session: string): Promise<void> {
    const { hlsDir, logger, metrics } = this.options;
    this.output?.close();
    this.llHls?.close();
    this.llHls = undefined;
    await mkdir(hlsDir, { recursive: true });
    await clearDirectory(hlsDir);
    this.output = new SessionOutput({ hlsDir, session, logger, metrics, onMasterWritten: () => this.sendHeartbeat() });
    metrics?.sessionsTotal.inc();
    this.options.resetPeakViewers?.();
    logger.info({ session }, 'session started');
  }

  private async startLadder(effect: Extract<ChannelEffect, { type: 'start-ladder' }>): Promise<void> {
    const { plan, run, session, resume } = effect;
    const { options, logger } = this;
    await this.output?.follow(plan);
    const ffmpegLog = logger.child({ component: 'ffmpeg' });
    const args = buildFfmpegArgs(plan, {
      inputUrl: options.ingest.internalRtmpUrl(),
      outDir: options.hlsDir,
      resume,
      segmentPrefix: session,
      ...(options.x264Preset !== undefined && { x264Preset: options.x264Preset }),
      ...(options.thumbnailSeconds !== undefined && {
        thumbnail:
          options.thumbnailSeconds > 0 ? { ...defaultThumbnail, everySeconds: options.thumbnailSeconds } : null,
      }),
    });
    const proc = new FfmpegProcess({
      ...(options.ffmpegPath !== undefined && { command: options.ffmpegPath }),
      args,
      ...(plan.lowLatency !== undefined && { outputPipes: lowLatencyPipes(plan).map((p) => p.fd) }),
      stopGraceMs: options.ladderStopGraceMs ?? 8_000,
      onStderrLine: (line) => ffmpegLog.debug({ ffmpeg: line }, 'ffmpeg'),
    });
    if (plan.lowLatency !== undefined) {
      this.llHls ??= new LlHlsLadder({
        hlsDir: options.hlsDir,
        session,
        plan,
        logger: logger.child({ component: 'llhls' }),
      });
      this.llHls.attach((fd) => proc.outputPipe(fd));
    }
    this.ladder = { run, process: proc };
    const renditions = [
      ...plan.videos.map((v) => `${v.name}:${v.mode}:${v.width}x${v.height}@${v.fps}`),
      ...plan.audioRenditions.map((a) => `${a.name}:${a.mode}@${a.bitrateKbps}k`),
    ];
    logger.info({ pid: proc.pid, run, resume, session, renditions }, 'ffmpeg started');
    void proc.exited.then((exit) => {
      if (this.ladder?.process === proc) this.ladder = undefined;
      if (exit.stopped) return;
      const message = proc.stderrTail(8).join('\n');
      const jitter = Math.random();
      this.dispatch({ type: 'ffmpeg-exited', run, exitCode: exit.code, signal: exit.signal, message, jitter });
    });
  }

  private async stopLadder(inputEnded: boolean): Promise<void> {
    const process = this.ladder?.process;
    this.ladder = undefined;
    if (process === undefined) return;
    const started = Date.now();
    const exit = inputEnded ? await process.finish(this.options.ladderDrainMs ?? 1_000) : await process.stop();
    this.logger.info(
      { inputEnded, stopMs: Date.now() - started, code: exit.code, signal: exit.signal },
      'ffmpeg stopped',
    );
  }

  private async endSession(effect: Extract<ChannelEffect, { type: 'end-session' }>): Promise<void> {
    const { ingest, reporter, logger } = this.options;
    const output = this.output;
    this.output = undefined;
    // ENDLIST on the LL-HLS playlists first (blocked players answered); the origin then serves them from disk.
    await this.llHls?.finish();
    this.llHls = undefined;
    await output?.finish(effect.plan);
    const live = effect.publisherConnected ? ingest.stats().bytesIn : 0;
    reporter?.report('session-ended', effect.session, {
      duration: effect.duration,
      bytesIn: effect.bytesIn + live,
      peakViewers: this.options.peakViewers?.() ?? 0,
      reason: effect.reason,
    });
    logger.info({ session: effect.session, reason: effect.reason, segments: output?.segments }, 'session ended');
  }

  private sendHeartbeat(): void {
    const st = this.options.ingest.stats();
    const refused = refusalForStatus(this.machine.session?.plan);
    this.options.reporter?.report('heartbeat', this.sessionId(), {
      state: this.state(),
      bitrateKbps: st.bitrateKbps,
      fps: st.fps,
      width: st.width,
      height: st.height,
      viewers: this.options.viewers?.() ?? 0,
      bytesIn: (this.machine.session?.bytesIn ?? 0) + st.bytesIn,
      segments: this.segments(),
      ...(this.machine.session?.plan?.settings !== undefined && { ladder: this.machine.session.plan.settings }),
      ...(refused !== undefined && { passthroughRefused: refused }),
    });
  }
}

export function createChannel(options: ChannelOptions): Channel {
  return new ChannelRunner(options);
}
