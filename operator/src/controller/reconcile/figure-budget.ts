// Live figures (viewers, bitrate, fps, relay bytes, uploaded segments) change with every heartbeat; writing each
// change into status would put ~100 writes/s into etcd at 500 live streams. Transitions always go out at once; a
// status change that is only figures waits for both (1) the stream's own interval, max(5 s, live streams / (0.9 budget)),
// so the interval grows with the fleet instead of the write rate, and (2) a token of one cluster-wide bucket of
// `perSecond` tokens, which bounds bursts of streams whose intervals line up. Metrics carry the figures at full
// rate, on every reconcile.

/** Default cluster-wide budget of figure-only status writes per second (LSO_STATUS_FIGURE_WRITES_PER_SECOND). */
export const defaultFigureWritesPerSecond = 10;
/** A stream's figures are written at most this often, however few streams are live. */
export const minFigureIntervalMs = 5_000;
/**
 * The share of the budget the streams' own intervals aim at: the steady rate sits below the budget, so transitions
 * (never delayed) and the drift of intervals that happen to line up stay inside it.
 */
export const figureIntervalShare = 0.9;

export class FigureBudget {
  readonly perSecond: number;
  private tokens: number;
  private refilledAt: number | undefined;

  constructor(perSecond: number = defaultFigureWritesPerSecond) {
    if (!(perSecond > 0)) throw new Error('the figure write budget must be positive');
    this.perSecond = perSecond;
    // Burst: one second's worth.
    this.tokens = perSecond;
  }

  /** How long one stream waits between figure writes while `liveStreams` streams are live. */
  intervalMs(liveStreams: number): number {
    return Math.max(minFigureIntervalMs, Math.ceil((liveStreams / (this.perSecond * figureIntervalShare)) * 1000));
  }

  /** Takes a token at `nowMs`: 0 when taken, else how many ms until one is there. */
  take(nowMs: number): number {
    const elapsed = this.refilledAt === undefined ? 0 : Math.max(0, nowMs - this.refilledAt);
    this.tokens = Math.min(this.perSecond, this.tokens + (elapsed / 1000) * this.perSecond);
    this.refilledAt = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

/**
 * Whether a figure-only change of one stream may be written now: 0 when it may (a token was taken), else the ms to
 * wait. `lastWriteAt` is the stream's last status write of any kind.
 */
export function figureWriteDelay(
  budget: FigureBudget,
  liveStreams: number,
  lastWriteAt: number | undefined,
  nowMs: number,
): number {
  const due = (lastWriteAt ?? -Infinity) + budget.intervalMs(liveStreams);
  if (nowMs < due) return due - nowMs;
  return budget.take(nowMs);
}
