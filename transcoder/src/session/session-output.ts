// The HLS output of one session, read back from the variant playlists ffmpeg writes: segments counted per rendition,
// the master playlist written once every variant it lists has a segment (so players never follow it into a 404),
// and ENDLIST on every playlist when the session ends.
//
// Until the master is out, a variant playlist appearing or changing triggers a poll at once, so the master follows
// the last rendition's first segment within milliseconds rather than up to a poll interval later (start-up
// latency). ffmpeg creates the rendition directories itself; creating them first lets them be watched before it
// starts. The interval poll stays the fallback, and does the accounting once the master is out.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { variantPlaylistPath } from '../ladder/ffmpeg-args.ts';
import { buildMasterPlaylist } from '../ladder/master-playlist.ts';
import type { LadderPlan } from '../ladder/plan-ladder.ts';
import type { TranscoderMetrics } from '../telemetry/metrics.ts';
import { appendEndlist, readPlaylistPosition, writeFileAtomic } from './hls-files.ts';

export interface SessionOutputOptions {
  hlsDir: string;
  session: string;
  logger: Logger;
  metrics?: TranscoderMetrics;
  onMasterWritten: () => void;
}

export const renditionNames = (plan: LadderPlan): string[] => [
  ...plan.videos.map((v) => v.name),
  ...plan.audioRenditions.map((a) => a.name),
];

export class SessionOutput {
  readonly segments: Record<string, number> = {};
  private readonly options: SessionOutputOptions;
  private readonly lastSequence: Record<string, number> = {};
  private plan: LadderPlan | undefined;
  private masterWritten = false;
  private closed = false;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private watchers: FSWatcher[] = [];

  constructor(options: SessionOutputOptions) {
    this.options = options;
  }

  /** The ladder about to start writes these renditions. */
  async follow(plan: LadderPlan): Promise<void> {
    this.plan = plan;
    if (!this.masterWritten) await this.watchFirstSegments(plan);
  }

  /** Reads the playlists now (coalesced: a poll asked for while one runs runs once after it). */
  requestPoll(): void {
    if (this.polling !== undefined) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.pollOnce()
      .catch((err: unknown) => this.options.logger.warn({ err }, 'segment poll failed'))
      .finally(() => {
        this.polling = undefined;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.requestPoll();
        }
      });
  }

  /** The last accounting, then ENDLIST on every playlist of the plan. */
  async finish(plan: LadderPlan | undefined): Promise<void> {
    this.stopWatching();
    this.pollAgain = false;
    await this.polling;
    await this.pollOnce();
    this.closed = true;
    if (plan === undefined) return;
    for (const name of renditionNames(plan)) await appendEndlist(variantPlaylistPath(this.options.hlsDir, name));
  }

  close(): void {
    this.closed = true;
    this.stopWatching();
  }

  private async pollOnce(): Promise<void> {
    const plan = this.plan;
    if (plan === undefined || this.closed) return;
    const { hlsDir, metrics } = this.options;
    let ready = 0;
    const names = renditionNames(plan);
    for (const name of names) {
      const pos = await readPlaylistPosition(variantPlaylistPath(hlsDir, name));
      if (pos === null) continue;
      if (pos.segments > 0) ready++;
      const last = this.lastSequence[name] ?? -1;
      if (pos.lastSequence > last) {
        const delta = pos.lastSequence - last;
        this.lastSequence[name] = pos.lastSequence;
        this.segments[name] = (this.segments[name] ?? 0) + delta;
        metrics?.segmentsTotal.inc({ rendition: name }, delta);
      }
    }
    if (!this.masterWritten && ready === names.length && !this.closed) {
      await writeFileAtomic(path.join(hlsDir, 'master.m3u8'), buildMasterPlaylist(plan));
      this.masterWritten = true;
      this.stopWatching();
      this.options.logger.info({ session: this.options.session }, 'master playlist written');
      this.options.onMasterWritten(); // the stream just became playable
    }
  }

  private async watchFirstSegments(plan: LadderPlan): Promise<void> {
    this.stopWatching();
    const { hlsDir, logger } = this.options;
    for (const name of renditionNames(plan)) {
      const dir = path.dirname(variantPlaylistPath(hlsDir, name));
      await mkdir(dir, { recursive: true });
      try {
        const watcher = watch(dir, (_event, file) => {
          if (file === null || file.endsWith('.m3u8')) this.requestPoll();
        });
        watcher.on('error', (err) => logger.warn({ err, rendition: name }, 'rendition directory watch failed'));
        this.watchers.push(watcher);
      } catch (err) {
        logger.warn({ err, rendition: name }, 'cannot watch the rendition directory: polling only');
      }
    }
  }

  private stopWatching(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }
}
