// One LL-HLS rendition of a session, packaged as ffmpeg writes it: the fragmented MP4 on its pipe split into the
// init segment and fragments (fmp4-fragment-reader.ts), each fragment one part on the segment grid
// (part-segmenter.ts), written into the rendition's directory under the names the origin serves:
//   <prefix>_init<n>.mp4   the init segment of the n-th ffmpeg run of the session (EXT-X-MAP)
//   <prefix>_<msn>.<i>.m4s part i of segment msn          <prefix>_<msn>.m4s the whole segment (its parts' bytes)
//   index.m3u8             the full playlist, for what reads the directory (segment counts, ENDLIST, the recorder)
// The timeline stays in memory: the origin answers playlist requests from it (blocking reload, delta updates), and
// blocked requests are woken in the tick the part that satisfies them is on disk. A file is written before any
// playlist names it; segments that left the window are deleted after a margin (players may still be fetching them).
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { blockTimeoutMs, decide, parseDirectives } from './blocking-reload.ts';
import { Fmp4FragmentReader, type Fragment, type ReaderOutput } from './fmp4-fragment-reader.ts';
import { renderMediaPlaylist, type RenditionReport } from './media-playlist.ts';
import {
  appendPart,
  closeOpenSegment,
  emptyTimeline,
  lastPart,
  partNames,
  restartTimeline,
  type LlSegment,
  type PartNames,
  type PartPosition,
  type SegmenterOptions,
  type Timeline,
} from './part-segmenter.ts';
import { ReloadWaiters } from './reload-waiters.ts';

export interface RenditionPackagerOptions {
  rendition: string;
  dir: string; // <hlsDir>/<rendition>
  prefix: string; // unique per session (its id): parts and segments are served immutable
  targetDuration: number;
  partTarget: number;
  windowSegments: number;
  deleteMarginSegments: number;
  keyframesOnGrid: boolean;
  renditionReports: () => RenditionReport[]; // the siblings' newest parts, at render time
  onPart?: (rendition: string) => void;
  logger: Logger;
}

export type PlaylistAnswer = { status: 200; body: string; blocked: boolean } | { status: 400 | 503; body: string };

export const playlistFile = 'index.m3u8';

export class RenditionPackager {
  readonly names: PartNames;
  private readonly options: RenditionPackagerOptions;
  private readonly segmenter: SegmenterOptions;
  private timeline: Timeline;
  private readonly waiters: ReloadWaiters;
  private openBytes: Uint8Array[] = []; // the open segment's parts, concatenated into its file when it closes
  private retired: LlSegment[] = []; // out of the window, files not deleted yet
  private runs = 0;
  private ended = false;
  private reading: Promise<void> = Promise.resolve();
  private rendered: { key: string; text: string } | undefined;
  private version = 0;

  constructor(options: RenditionPackagerOptions) {
    this.options = options;
    this.names = partNames(options.prefix);
    this.segmenter = {
      targetDuration: options.targetDuration,
      partTarget: options.partTarget,
      windowSegments: options.windowSegments,
      names: this.names,
      keyframesOnGrid: options.keyframesOnGrid,
    };
    this.timeline = emptyTimeline(this.initName(1));
    this.waiters = new ReloadWaiters(this.timeline);
  }

  get rendition(): string {
    return this.options.rendition;
  }

  /** The newest part (for the siblings' EXT-X-RENDITION-REPORT). */
  lastPart(): PartPosition | undefined {
    return lastPart(this.timeline);
  }

  /** Changes with every part (for a render cache over several renditions). */
  get timelineVersion(): number {
    return this.version;
  }

  /** Reads one ffmpeg run's fMP4 from its pipe, after the previous run's stream has been read to its end. */
  attach(stream: AsyncIterable<Uint8Array>): Promise<void> {
    this.reading = this.reading
      .then(() => this.read(stream))
      .catch((err: unknown) => this.options.logger.error({ err, rendition: this.rendition }, 'LL-HLS pipe failed'));
    return this.reading;
  }

  /** The session ended: the open segment closed, ENDLIST, every blocked request answered. */
  async finish(): Promise<void> {
    await this.reading;
    if (this.ended) return;
    await this.closeOpen();
    this.ended = true;
    this.bump();
    await this.writePlaylistFile();
    this.waiters.close();
  }

  /** Stops waking anyone (the session's directory is being cleared for another). */
  close(): void {
    this.ended = true;
    this.waiters.close();
  }

  /** The answer to `index.m3u8?<query>`: at once, or once the part asked for exists (RFC 8216bis 6.2.5.2). */
  async playlist(query: string, signal?: AbortSignal): Promise<PlaylistAnswer> {
    const parsed = parseDirectives(query);
    if (!parsed.ok) return { status: 400, body: `${parsed.reason}\n` };
    const d = parsed.directives;
    const decision = decide(d, this.timeline, this.options.partTarget, this.ended);
    if (decision.kind === 'bad-request') return { status: 400, body: `${decision.reason}\n` };
    if (decision.kind === 'wait') {
      const outcome = await this.waiters.wait(d, blockTimeoutMs(this.options.targetDuration), signal);
      if (outcome === 'timeout') {
        return { status: 503, body: 'the part asked for did not appear within 3 target durations\n' };
      }
    }
    return { status: 200, body: this.render(d.skip), blocked: d.msn !== undefined };
  }

  /**
   * Before a part or segment file of this session is served: waits (at most 3 target durations) while it is the
   * hinted part or one just ahead of it, so a player that follows EXT-X-PRELOAD-HINT gets it as it is written.
   * Resolves at once for anything else; the caller then serves what is on disk (a 404 for a name never written).
   */
  async waitForFile(file: string, signal?: AbortSignal): Promise<void> {
    const position = this.positionOf(file);
    if (position === undefined) return;
    if (decide(position, this.timeline, this.options.partTarget, this.ended).kind !== 'wait') return;
    await this.waiters.wait(position, blockTimeoutMs(this.options.targetDuration), signal);
  }

  private positionOf(file: string): { msn: number; part?: number; skip: false } | undefined {
    const prefix = `${this.options.prefix}_`;
    if (!file.startsWith(prefix)) return undefined;
    const m = /^(\d{5,})(?:\.(\d{1,4}))?\.m4s$/.exec(file.slice(prefix.length));
    if (!m) return undefined;
    return { msn: Number(m[1]), ...(m[2] !== undefined && { part: Number(m[2]) }), skip: false };
  }

  private render(skip: boolean): string {
    const reports = this.options.renditionReports();
    const key = `${this.version}:${skip}:${reports.map((r) => `${r.last?.msn}.${r.last?.part}`).join(',')}`;
    if (this.rendered?.key === key) return this.rendered.text;
    const text = renderMediaPlaylist(this.timeline, {
      ...this.segmenter,
      skip,
      renditionReports: reports,
      endlist: this.ended,
    });
    this.rendered = { key, text };
    return text;
  }

  private initName(run: number): string {
    return `${this.options.prefix}_init${run}.mp4`;
  }

  // A reader error (a part above PART-TARGET, a corrupt box) stops the packaging of this run, but the pipe is read
  // to its end all the same: a full pipe would stall ffmpeg's every output, the other renditions' too.
  private async read(stream: AsyncIterable<Uint8Array>): Promise<void> {
    const { logger, rendition } = this.options;
    const reader = new Fmp4FragmentReader();
    let failed = false;
    for await (const chunk of stream) {
      if (failed || this.ended) continue;
      try {
        for (const item of reader.push(chunk)) await this.onItem(item);
      } catch (err) {
        failed = true;
        logger.error({ err: (err as Error).message, rendition }, 'LL-HLS packaging of this rendition stopped');
      }
    }
    if (!failed) {
      try {
        reader.end();
      } catch (err) {
        logger.warn({ err: (err as Error).message, rendition }, 'LL-HLS stream ended inside a fragment');
      }
    }
    if (!this.ended) {
      await this.closeOpen(); // the writer stopped: what it wrote is a complete segment; the playlist stays live
      await this.writePlaylistFile();
    }
  }

  private async onItem(item: ReaderOutput): Promise<void> {
    if (item.kind === 'fragment') return this.onFragment(item);
    this.runs += 1;
    const uri = this.initName(this.runs);
    await mkdir(this.options.dir, { recursive: true });
    await writeAtomic(path.join(this.options.dir, uri), item.bytes);
    if (this.runs > 1) this.timeline = restartTimeline(this.timeline, this.options.windowSegments, uri).timeline;
  }

  private async onFragment(f: Fragment): Promise<void> {
    const input = { startTime: f.startTime, duration: f.duration, independent: f.keyframe, byteLength: f.bytes.length };
    const result = appendPart(this.timeline, this.segmenter, input, Date.now());
    const { part, completed } = result;
    await writeAtomic(path.join(this.options.dir, part.uri), f.bytes);
    if (completed !== undefined && completed.msn !== part.msn) {
      await this.writeSegment(completed); // closed by this part, which starts the next segment
      this.openBytes = [f.bytes];
    } else {
      this.openBytes.push(f.bytes);
      if (completed !== undefined) await this.writeSegment(completed);
    }
    this.timeline = result.timeline;
    this.bump();
    this.waiters.update(this.timeline); // before the playlist file: the blocked viewers are the latency that counts
    this.options.onPart?.(this.options.rendition);
    await this.retire(result.evicted);
    await this.writePlaylistFile();
  }

  private async writeSegment(segment: LlSegment): Promise<void> {
    await writeAtomic(path.join(this.options.dir, segment.uri), concat(this.openBytes));
    this.openBytes = [];
  }

  private async closeOpen(): Promise<void> {
    const open = this.timeline.open;
    if (open === undefined) return;
    await this.writeSegment(open);
    const closed = closeOpenSegment(this.timeline, this.options.windowSegments);
    this.timeline = closed.timeline;
    this.bump();
    this.waiters.update(this.timeline);
    await this.retire(closed.evicted);
  }

  private async retire(evicted: readonly LlSegment[]): Promise<void> {
    this.retired.push(...evicted);
    const gone = this.retired.splice(0, Math.max(0, this.retired.length - this.options.deleteMarginSegments));
    const files = gone.flatMap((s) => [s.uri, ...s.parts.map((p) => p.uri)]);
    await Promise.all(files.map((f) => rm(path.join(this.options.dir, f), { force: true })));
  }

  private async writePlaylistFile(): Promise<void> {
    await writeAtomic(path.join(this.options.dir, playlistFile), this.render(false));
  }

  private bump(): void {
    this.version += 1;
  }
}

// Through a temporary name and a rename, so the origin never reads half a file.
async function writeAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
