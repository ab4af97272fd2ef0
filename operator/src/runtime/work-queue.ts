// A keyed work queue in the manner of client-go's workqueue: a key waits at most once (dedupe), is processed by at
// most one worker at a time (a key added while in flight is processed again afterwards), failures back off per key
// exponentially with jitter (the project's one backoff, contract/src/backoff.ts), and keys can be scheduled for later.
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';

export const defaultBackoff: BackoffPolicy = { baseMs: 500, maxMs: 5 * 60_000, jitter: 0.25 };

export type ProcessResult = { requeueAfterMs?: number } | void;

export interface WorkQueueOptions {
  concurrency: number;
  backoff?: BackoffPolicy;
  /** Called for each key; a thrown error means "retry with backoff". */
  process: (key: string) => Promise<ProcessResult>;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  onDone?: (key: string, result: 'success' | 'requeue' | 'error', seconds: number) => void;
}

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly inFlight = new Set<string>();
  /** Keys added again while in flight: processed once more when the current run ends. */
  private readonly dirty = new Set<string>();
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

  add(key: string): void {
    if (this.stopping) return;
    if (this.inFlight.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
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
      const key = this.pending.shift();
      if (key !== undefined) {
        this.queued.delete(key);
        return key;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
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
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }
}
