// A keyed work queue in the manner of client-go's workqueue: a key waits at most once (dedupe), is processed by at
// most one worker at a time (a key added while in flight is processed again afterwards), failures back off per key
// exponentially with jitter (the project's one backoff, contract/src/backoff.ts), and keys can be scheduled for later.
// Three lanes, each taken only when the ones above it are empty: urgent (a state transition a user waits to see),
// normal (heartbeats, children's events), low (the periodic resync: a safety net for missed events). At fleet size a
// transition does not wait behind a thousand figure updates, and a channel whose pod just became available does not
// wait behind a resync of 5,000 converged ones (controller-runtime's priority queue ranks resyncs low the same way).
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';

export const defaultBackoff: BackoffPolicy = { baseMs: 500, maxMs: 5 * 60_000, jitter: 0.25 };

export type ProcessResult = { requeueAfterMs?: number } | void;

export type Lane = 'urgent' | 'normal' | 'low';

/** The lanes in the order they are taken. */
const lanes: readonly Lane[] = ['urgent', 'normal', 'low'];
const rank = (lane: Lane): number => lanes.indexOf(lane);
/** The more pressing of two lanes. */
const ahead = (a: Lane | undefined, b: Lane): Lane => (a !== undefined && rank(a) < rank(b) ? a : b);

export interface WorkQueueOptions {
  concurrency: number;
  backoff?: BackoffPolicy;
  /** Called for each key; a thrown error means "retry with backoff". */
  process: (key: string) => Promise<ProcessResult>;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  onDone?: (key: string, result: 'success' | 'requeue' | 'error', seconds: number) => void;
}

export class WorkQueue {
  /** Keys in the order added, per lane; an entry whose key has since moved to a lane ahead is skipped. */
  private readonly pending: Record<Lane, string[]> = { urgent: [], normal: [], low: [] };
  /** The lane each waiting key will be taken from. */
  private readonly queued = new Map<string, Lane>();
  private readonly inFlight = new Set<string>();
  /** Keys added again while in flight, with the lane they go to when the current run ends. */
  private readonly dirty = new Map<string, Lane>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: (() => void)[] = [];
  private readonly workers: Promise<void>[] = [];
  private readonly opts: Required<Omit<WorkQueueOptions, 'onError' | 'onDone'>> &
    Pick<WorkQueueOptions, 'onError' | 'onDone'>;
  private stopping = false;

  constructor(options: WorkQueueOptions) {
    this.opts = { backoff: defaultBackoff, ...options };
  }

  /** Keys waiting or scheduled (the queue-depth metric). */
  get depth(): number {
    return this.queued.size + this.timers.size;
  }

  /** Queues `key` (once however often added); an add in a lane ahead of the one it waits in moves it there. */
  add(key: string, lane: Lane = 'normal'): void {
    if (this.stopping) return;
    if (this.inFlight.has(key)) {
      this.dirty.set(key, ahead(this.dirty.get(key), lane));
      return;
    }
    const waiting = this.queued.get(key);
    if (waiting !== undefined && rank(waiting) <= rank(lane)) return;
    this.queued.set(key, lane);
    this.pending[lane].push(key);
    this.waiters.shift()?.();
  }

  /** Adds `key` after `ms`; an earlier schedule for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Forgets the failure count of `key` (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  start(): void {
    for (let i = 0; i < this.opts.concurrency; i++) this.workers.push(this.work());
  }

  /** Stops taking keys and waits for the runs in flight. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    while (this.waiters.length > 0) this.waiters.shift()?.();
    await Promise.all(this.workers);
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopping) {
      for (const lane of lanes) {
        const key = this.take(lane);
        if (key !== undefined) return key;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return undefined;
  }

  private take(lane: Lane): string | undefined {
    const entries = this.pending[lane];
    for (let key = entries.shift(); key !== undefined; key = entries.shift()) {
      if (this.queued.get(key) !== lane) continue;
      this.queued.delete(key);
      return key;
    }
    return undefined;
  }

  private async work(): Promise<void> {
    for (let key = await this.next(); key !== undefined; key = await this.next()) {
      this.inFlight.add(key);
      const started = performance.now();
      let result: 'success' | 'requeue' | 'error' = 'success';
      try {
        const out = await this.opts.process(key);
        this.forget(key);
        if (out && out.requeueAfterMs !== undefined) {
          result = 'requeue';
          this.addAfter(key, out.requeueAfterMs);
        }
      } catch (err) {
        result = 'error';
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, failures);
        const delay = backoffDelay(failures, this.opts.backoff);
        this.opts.onError?.(key, err, delay);
        this.addAfter(key, delay);
      } finally {
        this.inFlight.delete(key);
        this.opts.onDone?.(key, result, (performance.now() - started) / 1000);
        const again = this.dirty.get(key);
        if (again !== undefined) {
          this.dirty.delete(key);
          this.add(key, again);
        }
      }
    }
  }
}
