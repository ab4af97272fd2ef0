// The blocked playlist requests of one rendition: each waits until the timeline satisfies its directives
// (isSatisfied), or its timeout (3 target durations: then a 503), or close(). The packager calls update() after
// every part, so a request is answered in the same tick as the part that satisfies it is appended.
import { isSatisfied, type Directives } from './blocking-reload.ts';
import type { Timeline } from './part-segmenter.ts';

export type WaitOutcome = 'ready' | 'timeout' | 'closed';

interface Waiter {
  directives: Pick<Directives, 'msn' | 'part'>;
  settle: (outcome: WaitOutcome) => void;
}

export class ReloadWaiters {
  private readonly waiting = new Set<Waiter>();
  private timeline: Timeline;
  private closed = false;

  constructor(timeline: Timeline) {
    this.timeline = timeline;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves once the timeline holds what the directives ask for; 'ready' at once when it already does. */
  wait(directives: Pick<Directives, 'msn' | 'part'>, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.closed) return Promise.resolve('closed');
    if (isSatisfied(directives, this.timeline)) return Promise.resolve('ready');
    return new Promise<WaitOutcome>((resolve) => {
      const timer = setTimeout(() => waiter.settle('timeout'), timeoutMs);
      const onAbort = (): void => waiter.settle('closed'); // the viewer went away
      const waiter: Waiter = {
        directives,
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiting.delete(waiter);
          resolve(outcome);
        },
      };
      this.waiting.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The timeline after a part: every request it now satisfies is answered. */
  update(timeline: Timeline): void {
    this.timeline = timeline;
    for (const w of [...this.waiting]) if (isSatisfied(w.directives, timeline)) w.settle('ready');
  }

  /** The rendition stopped (end of stream, shutdown): every blocked request is answered now. */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiting]) w.settle('closed');
  }
}
