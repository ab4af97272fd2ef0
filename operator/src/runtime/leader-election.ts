// Leader election on a coordination.k8s.io Lease with client-go's semantics (leaderelection.go):
// - every try (read, then create or replace guarded by resourceVersion) is aborted at its deadline: a hung call can
//   never hold a leader past the moment it must stop;
// - a leader that has not renewed within renewDeadline of the start of its last successful try stops leading, by a
//   timer of its own. A candidate only takes the Lease leaseDuration after it *observed* the version that leader
//   wrote, which it cannot have observed before that try started: with renewDeadline < leaseDuration the old leader
//   has stopped before anyone else can lead, whatever the clocks say (only their rates must roughly agree);
// - expiry is judged on our own monotonic clock (when we last saw the Lease change), never by comparing the holder's
//   renewTime with our wall clock, so a holder whose clock is minutes off keeps its Lease while it renews.
// After stepping down the elector campaigns again (the process decides whether to stay: see main.ts).
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { LeaseApi } from './lease-api.ts';

export interface LeaderElectionTimings {
  /** How long a candidate waits, after it last saw the Lease change, before taking it. Whole seconds. */
  leaseDurationMs: number;
  /** How long a leader keeps leading without a successful renewal (counted from that try's start). */
  renewDeadlineMs: number;
  /** The pause between tries. */
  retryPeriodMs: number;
  /** The most one try (read + write) may take; a leader's try is also cut at its renew deadline. */
  tryTimeoutMs: number;
}

/** A killed leader is replaced within about leaseDuration + 2 retry periods (~14 s). */
export const defaultTimings: LeaderElectionTimings = {
  leaseDurationMs: 10_000,
  renewDeadlineMs: 7_000,
  retryPeriodMs: 2_000,
  tryTimeoutMs: 4_000,
};

/** The checks of client-go's NewLeaderElector, plus ours for the per-try timeout. Throws on the first violation. */
export function checkTimings(t: LeaderElectionTimings): LeaderElectionTimings {
  const fail = (why: string) => {
    throw new Error(`leader election timings: ${why}`);
  };
  if (!(t.leaseDurationMs > 0 && t.renewDeadlineMs > 0 && t.retryPeriodMs > 0 && t.tryTimeoutMs > 0)) {
    fail('every duration must be positive');
  }
  if (t.leaseDurationMs % 1000 !== 0) fail('leaseDuration must be whole seconds (the Lease stores seconds)');
  if (t.renewDeadlineMs >= t.leaseDurationMs) fail('renewDeadline must be shorter than leaseDuration');
  if (t.renewDeadlineMs <= 1.2 * t.retryPeriodMs) fail('renewDeadline must exceed 1.2 × retryPeriod');
  if (t.tryTimeoutMs > t.renewDeadlineMs) fail('tryTimeout must not exceed renewDeadline');
  return t;
}

/** What we last saw of the Lease, and when (our monotonic clock, ms) we first saw that version. */
export interface Observation {
  holder: string | undefined;
  version: string;
  leaseDurationMs: number;
  observedAt: number;
}

/** Pure: the observation after reading `lease` at `now`; the time moves only when holder, renewTime or version do. */
export function observe(prev: Observation | undefined, lease: V1Lease, now: number): Observation {
  const spec = lease.spec ?? {};
  const holder = spec.holderIdentity || undefined;
  const renewed = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
  const version = `${holder ?? ''}|${renewed}|${lease.metadata?.resourceVersion ?? ''}`;
  const leaseDurationMs = (spec.leaseDurationSeconds ?? defaultTimings.leaseDurationMs / 1000) * 1000;
  const observedAt = prev?.version === version ? prev.observedAt : now;
  return { holder, version, leaseDurationMs, observedAt };
}

/** Pure: may `identity` write the Lease it observed? Free, ours, or unchanged for a whole lease duration. */
export function mayTake(obs: Observation, identity: string, now: number): boolean {
  return obs.holder === undefined || obs.holder === identity || now - obs.observedAt >= obs.leaseDurationMs;
}

/** Pure: the Lease `identity` writes to take or renew `current` (absent: create it) at wall time `at`. */
export function leaseBody(
  current: V1Lease | undefined,
  ref: { namespace: string; name: string; identity: string; leaseDurationMs: number },
  at: Date,
): V1Lease {
  const keep = current?.spec?.holderIdentity === ref.identity;
  const rv = current?.metadata?.resourceVersion;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: ref.name, namespace: ref.namespace, ...(rv ? { resourceVersion: rv } : {}) },
    spec: {
      holderIdentity: ref.identity,
      leaseDurationSeconds: ref.leaseDurationMs / 1000,
      acquireTime: new V1MicroTime(keep && current?.spec?.acquireTime ? current.spec.acquireTime : at),
      renewTime: new V1MicroTime(at),
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (keep ? 0 : 1),
    },
  };
}

/** Pure: the Lease that gives `current` up (client-go's release: no holder, 1 s duration). */
export function releasedBody(current: V1Lease, at: Date): V1Lease {
  return {
    ...current,
    spec: {
      ...current.spec,
      holderIdentity: undefined,
      leaseDurationSeconds: 1,
      acquireTime: new V1MicroTime(at),
      renewTime: new V1MicroTime(at),
    },
  };
}

/** Rejects with the signal's reason once it aborts, even if `work` ignores the signal. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export type StepDownReason = 'renew-deadline' | 'taken' | 'stopped';

export interface LeaderElectorOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  timings?: Partial<LeaderElectionTimings>;
  /** Called when this replica starts leading; must not block (start work in the background). */
  onStartedLeading: () => void;
  /** Called when it stops; the elector campaigns again only after the returned promise settles. */
  onStoppedLeading: (reason: StepDownReason) => Promise<void> | void;
  onError?: (err: unknown) => void;
}

/** Runs `work` with a signal that aborts after `ms` (or with `also`), and gives up then even if `work` hangs on. */
function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, also?: AbortSignal): Promise<T> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`Lease call timed out after ${ms} ms`)), ms);
  const signal = also ? AbortSignal.any([timeout.signal, also]) : timeout.signal;
  return untilAborted(work(signal), signal).finally(() => clearTimeout(timer));
}

export class LeaderElector {
  readonly timings: LeaderElectionTimings;
  private readonly opts: LeaderElectorOptions;
  private readonly stopping = new AbortController();
  private observed: Observation | undefined;
  private leading = false;
  /** Our monotonic time at which leadership ends unless a renewal succeeds first. */
  private leaderUntil = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private steppingDown: Promise<void> = Promise.resolve();
  private running = false;
  private loop: Promise<void> | undefined;

  /** Throws when the timings break client-go's rules (renewDeadline < leaseDuration, among others). */
  constructor(opts: LeaderElectorOptions) {
    this.opts = opts;
    this.timings = checkTimings({ ...defaultTimings, ...opts.timings });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** From our stepping down to the earliest moment another replica can take the Lease: work must end within it. */
  get handoverMarginMs(): number {
    return this.timings.leaseDurationMs - this.timings.renewDeadlineMs;
  }

  start(): void {
    if (this.running || this.stopping.signal.aborted) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader stops leading (awaiting onStoppedLeading) and then releases the Lease. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort(new Error('leader election stopped'));
    await this.loop;
    this.stepDown('stopped');
    await this.steppingDown;
    if (this.observed?.holder !== this.opts.identity) return;
    await this.release().catch((err: unknown) => this.opts.onError?.(err));
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.steppingDown;
      if (!this.running) break;
      const startedAt = performance.now();
      if ((await this.attempt(startedAt)) && this.running) this.renewed(startedAt);
      await this.pause(this.timings.retryPeriodMs);
    }
  }

  /** One try, cut at the per-try timeout and, for a leader, at its renew deadline. */
  private async attempt(startedAt: number): Promise<boolean> {
    const { tryTimeoutMs } = this.timings;
    const budget = this.leading ? Math.min(tryTimeoutMs, this.leaderUntil - startedAt) : tryTimeoutMs;
    if (budget <= 0) return false;
    try {
      return await withDeadline(budget, (signal) => this.tryAcquireOrRenew(signal), this.stopping.signal);
    } catch (err) {
      if (this.running) this.opts.onError?.(err);
      return false;
    }
  }

  /** Read, decide, write. False when another holder is current or another writer won the race. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { api, identity } = this.opts;
    const current = await api.read(signal);
    if (current) {
      const now = performance.now();
      this.observed = observe(this.observed, current, now);
      if (this.leading && this.observed.holder !== identity) {
        this.stepDown('taken');
        return false;
      }
      if (!mayTake(this.observed, identity, now)) return false;
    }
    const { namespace, name } = this.opts;
    const ref = { namespace, name, identity, leaseDurationMs: this.timings.leaseDurationMs };
    const written = await api.write(leaseBody(current, ref, new Date()), signal);
    if (written === 'conflict') return false;
    this.observed = observe(this.observed, written, performance.now());
    return true;
  }

  /** A try that started at `startedAt` succeeded: lead (on) until renewDeadline after that start. */
  private renewed(startedAt: number): void {
    const until = startedAt + this.timings.renewDeadlineMs;
    const left = until - performance.now();
    if (left <= 0) return; // the answer came too late to lead on
    this.leaderUntil = until;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.stepDown('renew-deadline'), left);
    if (this.leading) return;
    this.leading = true;
    this.opts.onStartedLeading();
  }

  /** Synchronous: isLeader is false and onStoppedLeading has been called when this returns. */
  private stepDown(reason: StepDownReason): void {
    clearTimeout(this.deadlineTimer);
    if (!this.leading) return;
    this.leading = false;
    this.steppingDown = (async () => this.opts.onStoppedLeading(reason))().catch((err: unknown) =>
      this.opts.onError?.(err),
    );
  }

  private pause(ms: number): Promise<void> {
    const { signal } = this.stopping;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Gives the Lease up so a successor need not wait for it to expire; bounded by the per-try timeout. */
  private release(): Promise<void> {
    const { api, identity } = this.opts;
    return withDeadline(this.timings.tryTimeoutMs, async (signal) => {
      const current = await api.read(signal);
      if (current?.spec?.holderIdentity !== identity) return;
      await api.write(releasedBody(current, new Date()), signal);
    });
  }
}
