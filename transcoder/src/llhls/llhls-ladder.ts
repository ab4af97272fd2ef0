// The LL-HLS output of one session: a RenditionPackager per rendition of the ladder plan, fed by each ffmpeg run of
// the session from its output pipes (one fMP4 stream per rendition, ladder/ffmpeg-args.ts's lowLatencyPipes). The
// packagers outlive an ffmpeg run: a restart or a publisher back within the reconnect window continues the same
// media sequence with a discontinuity and a new init segment. The channel creates one per LL-HLS session, attaches
// every ffmpeg it starts and finishes it when the session ends; the origin looks renditions up by name.
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { deleteMargin, lowLatencyPipes } from '../ladder/ffmpeg-args.ts';
import type { LadderPlan } from '../ladder/plan-ladder.ts';
import { siblingPlaylistUris } from './media-playlist.ts';
import { RenditionPackager } from './rendition-packager.ts';

export interface LlHlsLadderOptions {
  hlsDir: string;
  session: string; // the file-name prefix
  plan: LadderPlan; // with lowLatency set
  logger: Logger;
  onPart?: (rendition: string) => void;
}

export class LlHlsLadder {
  private readonly packagers = new Map<string, RenditionPackager>();
  private readonly plan: LadderPlan;

  constructor(options: LlHlsLadderOptions) {
    const { plan } = options;
    const partSeconds = plan.lowLatency?.partSeconds;
    if (partSeconds === undefined) throw new Error('LlHlsLadder needs a plan with lowLatency');
    this.plan = plan;
    const names = lowLatencyPipes(plan).map((p) => p.rendition);
    const copied = new Set(plan.videos.filter((v) => v.mode === 'copy').map((v) => v.name));
    for (const rendition of names) {
      const uris = siblingPlaylistUris(rendition, names);
      const siblings = names.filter((n) => n !== rendition);
      this.packagers.set(
        rendition,
        new RenditionPackager({
          rendition,
          dir: path.join(options.hlsDir, rendition),
          prefix: options.session,
          targetDuration: plan.segmentSeconds,
          partTarget: partSeconds,
          windowSegments: plan.playlistLength,
          deleteMarginSegments: deleteMargin(plan),
          // Encoded rungs have keyframes forced on the grid; a copied source's fall where its encoder put them.
          keyframesOnGrid: !copied.has(rendition),
          renditionReports: () =>
            siblings.map((name, i) => ({ uri: uris[i]!, last: this.packagers.get(name)?.lastPart() })),
          ...(options.onPart !== undefined && { onPart: options.onPart }),
          logger: options.logger,
        }),
      );
    }
  }

  /** The packager of a rendition of this session, for the origin. */
  rendition(name: string): RenditionPackager | undefined {
    return this.packagers.get(name);
  }

  /** One ffmpeg run: each rendition's pipe to its packager (`pipeOf` is FfmpegProcess.outputPipe). */
  attach(pipeOf: (fd: number) => Readable): void {
    for (const { rendition, fd } of lowLatencyPipes(this.plan)) {
      void this.packagers.get(rendition)?.attach(pipeOf(fd));
    }
  }

  /** The session ended: every rendition's open segment closed and ENDLIST written. */
  async finish(): Promise<void> {
    await Promise.all([...this.packagers.values()].map((p) => p.finish()));
  }

  close(): void {
    for (const p of this.packagers.values()) p.close();
  }
}
