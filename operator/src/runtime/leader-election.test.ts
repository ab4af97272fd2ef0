import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkTimings,
  defaultTimings,
  LeaderElector,
  mayTake,
  observe,
  type StepDownReason,
} from './leader-election.ts';
import type { LeaseApi } from './lease-api.ts';

const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = defaultTimings;
const latencyMs = 50;

type Hang = 'no' | 'until-aborted' | 'forever';

/** One Lease in memory with the API server's rules: resourceVersion-guarded writes, a conflict for a lost race. */
class FakeLeaseServer {
  lease: V1Lease | undefined;
  private rv = 0;
  /** Every request that reached the server: who, what, when (fake monotonic clock). */
  readonly log: { who: string; op: 'read' | 'write'; at: number; ok: boolean }[] = [];
  aborted = 0;
  /** When renewAs last wrote. */
  renewedAsAt = 0;

  client(who: string): LeaseApi & { hang: Hang } {
    const call = <T>(op: 'read' | 'write', signal: AbortSignal, run: () => T) => {
      const at = performance.now();
      if (this.hang(who) !== 'no') return this.hung<T>(who, signal);
      return new Promise<T>((resolve) =>
        setTimeout(() => {
          const result = run();
          this.log.push({ who, op, at, ok: result !== 'conflict' });
          resolve(result);
        }, latencyMs),
      );
    };
    const api = {
      hang: 'no' as Hang,
      read: (signal: AbortSignal) => call('read', signal, () => structuredClone(this.lease)),
      write: (body: V1Lease, signal: AbortSignal) => call('write', signal, () => this.write(body)),
    };
    this.clients.set(who, api);
    return api;
  }

  private readonly clients = new Map<string, { hang: Hang }>();

  private hang(who: string): Hang {
    return this.clients.get(who)?.hang ?? 'no';
  }

  /** A call that never answers: it rejects when aborted, or (`forever`) not even then. */
  private hung<T>(who: string, signal: AbortSignal): Promise<T> {
    return new Promise<T>((_resolve, reject) => {
      if (this.hang(who) === 'forever') return;
      signal.addEventListener('abort', () => {
        this.aborted++;
        reject(signal.reason as Error);
      });
    });
  }

  write(body: V1Lease): V1Lease | 'conflict' {
    const expected = body.metadata?.resourceVersion;
    if (expected === undefined ? this.lease !== undefined : expected !== this.lease?.metadata?.resourceVersion) {
      return 'conflict';
    }
    this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }

  /** A holder that is not an elector renews, stamping renewTime from a clock `skewMs` off ours. */
  renewAs(holder: string, skewMs: number): void {
    this.renewedAsAt = performance.now();
    const renewTime = new V1MicroTime(Date.now() + skewMs);
    const rv = this.lease?.metadata?.resourceVersion;
    this.write({
      metadata: { name: 'lso', namespace: 'ns', ...(rv ? { resourceVersion: rv } : {}) },
      spec: { holderIdentity: holder, leaseDurationSeconds: leaseDurationMs / 1000, renewTime, acquireTime: renewTime },
    });
  }

  /** When the try that produced `who`'s last successful write began (its read reached the server). */
  lastSuccessfulTryStart(who: string): number {
    const mine = this.log.filter((e) => e.who === who);
    const lastWrite = mine.findLastIndex((e) => e.op === 'write' && e.ok);
    const read = mine.slice(0, lastWrite).findLast((e) => e.op === 'read');
    if (!read) throw new Error(`${who} never wrote the Lease`);
    return read.at;
  }
}

interface Transition {
  who: string;
  what: 'started' | 'stopped';
  at: number;
  reason?: StepDownReason;
}

function candidate(server: FakeLeaseServer, who: string, transitions: Transition[]) {
  const api = server.client(who);
  const elector = new LeaderElector({
    api,
    namespace: 'ns',
    name: 'lso',
    identity: who,
    onStartedLeading: () => transitions.push({ who, what: 'started', at: performance.now() }),
    onStoppedLeading: (reason) => {
      transitions.push({ who, what: 'stopped', at: performance.now(), reason });
    },
  });
  return { api, elector };
}

/** Stops electors while the fake clock runs (a release is a Lease call, with latency). */
async function stopAll(...electors: LeaderElector[]): Promise<void> {
  const stopped = Promise.all(electors.map((e) => e.stop()));
  await vi.advanceTimersByTimeAsync(defaultTimings.tryTimeoutMs);
  await stopped;
}

/** A fake server on which elector `a` has led for a second. */
async function withLeader() {
  const server = new FakeLeaseServer();
  const transitions: Transition[] = [];
  const a = candidate(server, 'a', transitions);
  a.elector.start();
  await vi.advanceTimersByTimeAsync(1_000);
  return { server, transitions, a };
}

const at = (transitions: Transition[], who: string, what: Transition['what']) =>
  transitions.find((t) => t.who === who && t.what === what)?.at;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LeaderElector with an API that hangs', () => {
  it.each(['until-aborted', 'forever'] as const)(
    'stops the old leader before anyone else can take the Lease (a call that hangs %s)',
    async (hang) => {
      const { server, transitions, a } = await withLeader();
      const b = candidate(server, 'b', transitions);
      b.elector.start();
      await vi.advanceTimersByTimeAsync(4_000);
      expect(a.elector.isLeader).toBe(true);
      expect(b.elector.isLeader).toBe(false);

      a.api.hang = hang; // a's requests reach nothing from here on; b's still work
      await vi.advanceTimersByTimeAsync(30_000);

      const lastRenewal = server.lastSuccessfulTryStart('a');
      const aStopped = at(transitions, 'a', 'stopped');
      const bStarted = at(transitions, 'b', 'started');
      // a stops at its renew deadline, on its own timer, although its request never answers.
      expect(aStopped).toBe(lastRenewal + renewDeadlineMs);
      // b leads only after a full lease duration with no change it could observe, which a's last write bounds.
      expect(bStarted).toBeGreaterThanOrEqual(lastRenewal + leaseDurationMs);
      expect(bStarted).toBeLessThanOrEqual(lastRenewal + leaseDurationMs + retryPeriodMs + 3 * latencyMs);
      expect(bStarted! - aStopped!).toBeGreaterThanOrEqual(leaseDurationMs - renewDeadlineMs);
      expect(transitions.filter((t) => t.what === 'started').map((t) => t.who)).toEqual(['a', 'b']);
      expect(a.elector.isLeader).toBe(false);
      expect(b.elector.isLeader).toBe(true);
      expect(server.lease?.spec?.holderIdentity).toBe('b');
      if (hang === 'until-aborted') expect(server.aborted).toBeGreaterThan(0);
      await stopAll(a.elector, b.elector);
    },
  );

  it('leads again once its API answers, if nobody took the Lease meanwhile', async () => {
    const { transitions, a } = await withLeader();
    a.api.hang = 'until-aborted';
    await vi.advanceTimersByTimeAsync(renewDeadlineMs + retryPeriodMs);
    expect(transitions.map((t) => `${t.what}:${t.reason ?? ''}`)).toEqual(['started:', 'stopped:renew-deadline']);
    a.api.hang = 'no';
    await vi.advanceTimersByTimeAsync(retryPeriodMs + defaultTimings.tryTimeoutMs);
    expect(a.elector.isLeader).toBe(true);
    expect(transitions.filter((t) => t.what === 'started')).toHaveLength(2);
    await stopAll(a.elector);
  });
});

describe('LeaderElector judging expiry by its own clock', () => {
  it('never takes a Lease whose holder keeps renewing with a clock minutes behind ours', async () => {
    const server = new FakeLeaseServer();
    const transitions: Transition[] = [];
    server.renewAs('x', -5 * 60_000);
    const renewing = setInterval(() => server.renewAs('x', -5 * 60_000), retryPeriodMs);
    const c = candidate(server, 'c', transitions);
    c.elector.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(transitions).toEqual([]);
    expect(server.lease?.spec?.holderIdentity).toBe('x');
    expect(server.log.filter((e) => e.who === 'c' && e.op === 'write')).toEqual([]);
    clearInterval(renewing);
    await stopAll(c.elector);
  });

  it('takes a Lease after leaseDuration without an observed change, though the holder stamped the future', async () => {
    const server = new FakeLeaseServer();
    const transitions: Transition[] = [];
    const skewMs = 5 * 60_000; // the old rule (renewTime + duration < our wall clock) would wait 5 more minutes
    server.renewAs('x', skewMs);
    const renewing = setInterval(() => server.renewAs('x', skewMs), retryPeriodMs);
    await vi.advanceTimersByTimeAsync(100);
    const c = candidate(server, 'c', transitions);
    c.elector.start();
    await vi.advanceTimersByTimeAsync(10_000);
    clearInterval(renewing); // the holder dies
    const lastRenewal = server.renewedAsAt;
    await vi.advanceTimersByTimeAsync(leaseDurationMs + 2 * retryPeriodMs);
    const started = at(transitions, 'c', 'started');
    expect(started).toBeGreaterThanOrEqual(lastRenewal + leaseDurationMs);
    expect(started).toBeLessThanOrEqual(lastRenewal + leaseDurationMs + retryPeriodMs + 3 * latencyMs);
    expect(server.lease?.spec?.holderIdentity).toBe('c');
    expect(server.lease?.spec?.leaseTransitions).toBe(1);
    await stopAll(c.elector);
  });

  it('takes a released Lease at once and releases its own on stop, after the work stopped', async () => {
    const { server, transitions, a } = await withLeader();
    await stopAll(a.elector);
    expect(server.lease?.spec?.holderIdentity).toBeUndefined();
    const stoppedAt = at(transitions, 'a', 'stopped')!;
    const release = server.log.findLast((e) => e.who === 'a' && e.op === 'write');
    expect(release!.at).toBeGreaterThanOrEqual(stoppedAt);

    const b = candidate(server, 'b', transitions);
    b.elector.start();
    await vi.advanceTimersByTimeAsync(3 * latencyMs);
    expect(b.elector.isLeader).toBe(true);
    await stopAll(b.elector);
  });
});

describe('observe and mayTake', () => {
  const lease = (holder: string | undefined, renewTime: string, rv: string): V1Lease => ({
    metadata: { resourceVersion: rv },
    spec: { holderIdentity: holder, leaseDurationSeconds: 10, renewTime: new V1MicroTime(renewTime) },
  });
  const t = '2026-12-01T12:00:00.000000Z';

  it('moves the observation time only when holder, renewTime or resourceVersion change', () => {
    const first = observe(undefined, lease('x', t, '1'), 1_000);
    expect(observe(first, lease('x', t, '1'), 9_000).observedAt).toBe(1_000);
    expect(observe(first, lease('x', t, '2'), 9_000).observedAt).toBe(9_000);
    expect(observe(first, lease('y', t, '1'), 9_000).observedAt).toBe(9_000);
    expect(observe(first, lease('x', '2026-12-01T12:00:02.000000Z', '1'), 9_000).observedAt).toBe(9_000);
  });

  it.each([
    ['a free Lease', undefined, 0, true],
    ['our own Lease', 'me', 0, true],
    ['a held Lease seen changing 9.9 s ago', 'x', 9_900, false],
    ['a held Lease unchanged for 10 s', 'x', 10_000, true],
  ])('%s: may take = %s', (_what, holder, sinceChange, expected) => {
    const obs = observe(undefined, lease(holder, t, '1'), 5_000);
    expect(mayTake(obs, 'me', 5_000 + sinceChange)).toBe(expected);
  });
});

describe('checkTimings', () => {
  it('accepts the defaults', () => {
    expect(checkTimings(defaultTimings)).toEqual(defaultTimings);
  });
  it.each([
    [{ renewDeadlineMs: 10_000 }, 'shorter than leaseDuration'],
    [{ renewDeadlineMs: 2_000 }, 'exceed 1.2 × retryPeriod'],
    [{ leaseDurationMs: 10_500 }, 'whole seconds'],
    [{ tryTimeoutMs: 8_000 }, 'tryTimeout'],
    [{ retryPeriodMs: 0 }, 'positive'],
  ])('rejects %o', (change, message) => {
    expect(() => checkTimings({ ...defaultTimings, ...change })).toThrow(message);
    const api = new FakeLeaseServer().client('a');
    const options = { api, namespace: 'ns', name: 'lso', identity: 'a', onStartedLeading: () => {} };
    expect(() => new LeaderElector({ ...options, onStoppedLeading: () => {}, timings: change })).toThrow(message);
  });
});
