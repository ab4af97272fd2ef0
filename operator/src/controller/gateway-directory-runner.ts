// Pushes the portal's directory (every channel's listing, gateway-directory.ts) to every gateway replica while this
// replica leads: POST /admin/directory with the admin token (contract/src/portal-directory.ts). The gateway pods and
// the token are found the way the viewers poller finds them (gateway-viewers.ts).
// - A change (`changed()` at each LiveStream event, notifyLiveStreamEvents) is pushed at most debounceMs later: the first change of a burst
//   starts the timer and later ones do not push it back, so a steady stream of reconciles cannot starve it.
// - Each replica has its own bookkeeping (what it holds, its sequence) and at most one request in flight: a slow or
//   hung replica (every request has a deadline) never holds back another one.
// - A replica first seen, one that answered 409 (it restarted, or missed an update) and one that failed and is back
//   are sent a reset with every listing: after a failure we cannot know what it applied.
// - At each listing of the pods (discoverMs), a replica sent nothing for half that long is sent an empty update,
//   so one that restarted while nothing changed is found (409) and refilled within about discoverMs.
// - A request holds at most limits.maxItems listings and deletes (a reset of many channels: a reset, then updates
//   that continue it).
// - Each discovery tick first runs `prepare` (bounded by discoverMs): the recordings' presigned URLs are signed there
//   when new or half-expired (recording-presign.ts), and the tick's refresh pushes what changed.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import {
  adminDirectoryPath,
  parseDirectoryAnswer,
  type ChannelListing,
  type DirectoryUpdate,
} from '../../../contract/src/portal-directory.ts';
import type { GatewayTarget } from '../config.ts';
import { describeApiError } from '../k8s/client.ts';
import type { WatchSpec } from '../runtime/controller.ts';
import { within } from '../runtime/within.ts';
import type { OperatorMetrics } from '../telemetry/metrics.ts';
import { batchDiff, diffListings, listingsById, type BatchLimits, type ListingMemo } from './gateway-directory.ts';
import { gatewayAdminToken, listGatewayReplicas, type GatewayReplica } from './gateway-viewers.ts';
import { RecordingVods } from './recording-presign.ts';

export type DirectoryMetrics = Pick<
  OperatorMetrics,
  'gatewayDirectoryPushes' | 'gatewayDirectoryPushDuration' | 'gatewayDirectoryListings' | 'gatewayDirectoryReplicas'
>;

export interface GatewayDirectoryOptions {
  /** Every channel's listing now, by channel id (e.g. listingsById over the controller's cache). */
  listings: () => ReadonlyMap<string, ChannelListing>;
  /** The replicas now (listGatewayReplicas); a failure keeps the previous list. */
  replicas: () => Promise<GatewayReplica[]>;
  /** The admin token (gatewayAdminToken); asked until it answers, kept until a replica refuses it. */
  token: () => Promise<string>;
  logger: Logger;
  metrics?: DirectoryMetrics;
  /** This run's id in every update; a new leader's runner has another, so replicas see it as a reset. */
  generation?: string;
  /** Longest wait from a change to its push; default 500 ms. */
  debounceMs?: number;
  /** Deadline of one request (connect, answer, body); default 2 s. */
  timeoutMs?: number;
  /** Between listings of the gateway pods, each also a heartbeat to the replicas that were sent nothing; default 5 s. */
  discoverMs?: number;
  limits?: BatchLimits;
  /** Work before each discovery tick's refresh (the VODs' presigning); a failure or overrun only delays it. */
  prepare?: () => Promise<unknown>;
  backoff?: BackoffPolicy;
  fetch?: typeof fetch;
  now?: () => number;
}

interface ReplicaState {
  replica: GatewayReplica;
  /** The listings it holds as far as we know; undefined: unknown, it gets a reset. */
  held: ReadonlyMap<string, ChannelListing> | undefined;
  /** The last sequence it acknowledged. */
  sequence: number;
  failures: number;
  lastSentMs: number;
  retry: NodeJS.Timeout | undefined;
  busy: Promise<void> | undefined;
}

type Outcome = 'ok' | 'conflict' | 'error' | 'timeout';

/** Far below the replica's body limit (16 MiB): a reset of thousands of long descriptions is split, not refused. */
export const defaultBatchLimits: BatchLimits = { maxItems: 1000, maxBytes: 4 * 1024 * 1024 };
const maxAnswerBytes = 64 * 1024;

export class GatewayDirectory {
  private readonly opts: Required<Omit<GatewayDirectoryOptions, 'fetch' | 'metrics' | 'prepare'>> &
    Pick<GatewayDirectoryOptions, 'metrics' | 'prepare'> & { fetch: typeof fetch };
  private readonly states = new Map<string, ReplicaState>();
  private readonly abort = new AbortController();
  private wanted: ReadonlyMap<string, ChannelListing> = new Map();
  private token: Promise<string | undefined> | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private discoverTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | undefined;
  private stopped = false;
  private lastProblem = '';

  constructor(options: GatewayDirectoryOptions) {
    this.opts = {
      generation: randomBytes(8).toString('hex'),
      debounceMs: 500,
      timeoutMs: 2_000,
      discoverMs: 5_000,
      limits: defaultBatchLimits,
      backoff: { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 },
      now: Date.now,
      ...options,
      fetch: options.fetch ?? fetch,
    };
  }

  get generation(): string {
    return this.opts.generation;
  }

  /** Lists the replicas now and then every discoverMs; each new one is sent everything. */
  start(): void {
    this.discoverTimer = setInterval(() => void this.discover(), this.opts.discoverMs);
    this.discoverTimer.unref();
    void this.discover();
  }

  /** A listing may have changed: push within debounceMs. */
  changed(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.refresh();
    }, this.opts.debounceMs);
  }

  /** Stops at once: requests in flight are aborted, and this resolves when they have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    clearInterval(this.discoverTimer);
    this.abort.abort();
    for (const s of this.states.values()) clearTimeout(s.retry);
    await Promise.all([...this.states.values()].flatMap((s) => (s.busy ? [s.busy] : [])));
  }

  /** Whether every known replica holds the current listings (tests, and the replicas gauge). */
  inSync(): boolean {
    return [...this.states.values()].every((s) => s.held === this.wanted);
  }

  /** The replicas' ids with what they acknowledged (tests). */
  replicaSequences(): Map<string, number | undefined> {
    return new Map([...this.states].map(([id, s]) => [id, s.held ? s.sequence : undefined]));
  }

  /** One listing of the gateway pods, then a refresh (start() runs it on the interval; tests call it). */
  discover(): Promise<void> {
    this.discovering ??= Promise.all([this.listReplicas(), this.prepare()]).then(() => {
      this.discovering = undefined;
      this.refresh(true);
    });
    return this.discovering;
  }

  private async prepare(): Promise<void> {
    if (!this.opts.prepare) return;
    const done = await within(this.opts.prepare(), this.opts.discoverMs).catch((err: unknown) => err);
    if (done === 'timeout') this.problem('preparing the listings timed out');
    else if (done instanceof Error) this.problem(`preparing the listings failed: ${done.message}`);
  }

  private async listReplicas(): Promise<void> {
    let replicas: GatewayReplica[];
    try {
      // Bounded: a list that never answers must not stop every later listing (and heartbeat) with it.
      const listed = await within(this.opts.replicas(), this.opts.discoverMs * 2);
      if (listed === 'timeout') throw new Error('timed out');
      replicas = listed;
    } catch (err) {
      this.problem(`cannot list the gateway pods: ${describeApiError(err)}`);
      return;
    }
    if (this.stopped) return;
    const seen = new Set(replicas.map((r) => r.id));
    for (const [id, s] of this.states) {
      if (seen.has(id)) continue;
      clearTimeout(s.retry);
      this.states.delete(id);
    }
    for (const replica of replicas) {
      const s = this.states.get(replica.id);
      if (s) s.replica = replica;
      else this.states.set(replica.id, this.newState(replica));
    }
  }

  private newState(replica: GatewayReplica): ReplicaState {
    return { replica, held: undefined, sequence: 0, failures: 0, lastSentMs: 0, retry: undefined, busy: undefined };
  }

  /** Takes the listings now; a replica that does not hold them (or, at a tick, is due a heartbeat) gets what it lacks. */
  private refresh(tick = false): void {
    if (this.stopped) return;
    const next = this.opts.listings();
    const diff = diffListings(this.wanted, next);
    // Kept as the same object while nothing changed: a replica in sync holds exactly `wanted`.
    if (diff.upserts.length > 0 || diff.deletes.length > 0) this.wanted = next;
    this.opts.metrics?.gatewayDirectoryListings.set(this.wanted.size);
    for (const s of this.states.values()) this.kick(s, tick);
    this.gauge();
  }

  private kick(s: ReplicaState, tick = false): void {
    if (this.stopped || s.busy || s.retry || this.states.get(s.replica.id) !== s) return;
    const heartbeatDue = tick && this.opts.now() - s.lastSentMs >= this.opts.discoverMs / 2;
    if (s.held === this.wanted && !heartbeatDue) return;
    s.busy = this.sync(s).finally(() => {
      s.busy = undefined;
      this.kick(s);
      this.gauge();
    });
  }

  /** Sends the replica what turns what it holds into `wanted`, in parts; a failure leaves it to be reset. */
  private async sync(s: ReplicaState): Promise<void> {
    const token = await this.tokenNow();
    if (token === undefined) return this.failed(s);
    const wanted = this.wanted;
    const reset = s.held === undefined;
    const diff = s.held ? diffListings(s.held, wanted) : { upserts: [...wanted.values()], deletes: [] };
    const parts = batchDiff(diff, this.opts.limits);
    for (const [i, part] of parts.entries()) {
      if (this.stopped) return;
      const update: DirectoryUpdate = {
        generation: this.opts.generation,
        sequence: s.sequence + 1,
        reset: reset && i === 0,
        ...part,
      };
      const outcome = await this.push(s.replica, token, update);
      s.lastSentMs = this.opts.now();
      if (outcome === 'ok') {
        s.sequence = update.sequence;
        continue;
      }
      s.held = undefined;
      // A replica that refuses a continuing update is reset at once; one that refuses a reset is not well.
      if (outcome === 'conflict' && !update.reset) return;
      return this.failed(s);
    }
    s.held = wanted;
    s.failures = 0;
  }

  private failed(s: ReplicaState): void {
    s.failures++;
    const delay = backoffDelay(s.failures, this.opts.backoff);
    s.retry = setTimeout(() => {
      s.retry = undefined;
      this.kick(s);
    }, delay);
    s.retry.unref();
  }

  /** One request; its outcome counted. The token is in the header only, never in a log or metric. */
  private async push(replica: GatewayReplica, token: string, update: DirectoryUpdate): Promise<Outcome> {
    const started = this.opts.now();
    const outcome = await this.send(replica, token, update).catch((err: unknown) => {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      if (!this.stopped) this.problem(`gateway replica ${replica.url}: ${(err as Error).message}`);
      return timedOut ? 'timeout' : 'error';
    });
    if (this.stopped) return outcome; // aborted by stop(): not the replica's doing
    const kind = update.reset ? 'reset' : 'update';
    this.opts.metrics?.gatewayDirectoryPushes.inc({ kind, outcome });
    this.opts.metrics?.gatewayDirectoryPushDuration.observe((this.opts.now() - started) / 1000);
    return outcome;
  }

  private async send(replica: GatewayReplica, token: string, update: DirectoryUpdate): Promise<Outcome> {
    const res = await this.opts.fetch(replica.url + adminDirectoryPath, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(update),
      signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutMs), this.abort.signal]),
    });
    const text = await res.text();
    if (res.status === 409) return 'conflict';
    // A token refused: read the Secret again before the next try (a hand-rotated token).
    if (res.status === 401) this.token = undefined;
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    if (text.length > maxAnswerBytes) throw new Error('the answer is too large');
    const answer = parseDirectoryAnswer(JSON.parse(text));
    // A 200 that does not say it holds this very update is as good as a conflict.
    const holds = answer.generation === update.generation && answer.sequence === update.sequence;
    return holds ? 'ok' : 'conflict';
  }

  private tokenNow(): Promise<string | undefined> {
    this.token ??= this.opts.token().catch((err: unknown) => {
      this.problem(`no admin token: ${describeApiError(err)}`);
      this.token = undefined;
      return undefined;
    });
    return this.token;
  }

  private gauge(): void {
    const g = this.opts.metrics?.gatewayDirectoryReplicas;
    if (!g) return;
    let synced = 0;
    for (const s of this.states.values()) if (s.held === this.wanted) synced++;
    g.set({ state: 'synced' }, synced);
    g.set({ state: 'behind' }, this.states.size - synced);
  }

  // Logged once per distinct problem, not once per try.
  private problem(message: string): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.opts.logger.warn({ err: message }, 'gateway directory');
  }
}

/** What the runner reads of the controller: the LiveStreams in its cache. */
export interface LiveStreamCache {
  list(): readonly LiveStream[];
}

/**
 * The LiveStream watch also telling `onEvent` of every event (its key mapping unchanged): the directory follows the
 * cache at once, not after the channel's reconcile, which may wait behind other keys or spend seconds applying.
 */
export function notifyLiveStreamEvents(spec: WatchSpec<LiveStream>, onEvent: () => void): WatchSpec<LiveStream> {
  return {
    ...spec,
    keyFor: (obj) => {
      onEvent();
      return spec.keyFor(obj);
    },
  };
}

/**
 * The leader's directory pusher, started; `changed()` at every LiveStream event (notifyLiveStreamEvents), `stop()`
 * with the controller.
 * Undefined without the gateway's admin Secret or pod selector (no way to reach the replicas).
 */
export function startGatewayDirectory(deps: {
  kc: KubeConfig;
  target: GatewayTarget;
  cache: LiveStreamCache;
  logger: Logger;
  metrics?: DirectoryMetrics;
}): GatewayDirectory | undefined {
  const { adminSecret, podSelector, namespace } = deps.target;
  if (adminSecret === undefined || podSelector === undefined) return undefined;
  const core = deps.kc.makeApiClient(CoreV1Api);
  const memo: ListingMemo = new WeakMap();
  const vods = new RecordingVods({ core, logger: deps.logger });
  const directory = new GatewayDirectory({
    listings: () => listingsById(deps.cache.list(), Date.now(), memo, (ls) => vods.vod(ls)),
    prepare: () => vods.refresh(deps.cache.list()),
    replicas: listGatewayReplicas(core, namespace, podSelector),
    token: () => gatewayAdminToken(core, namespace, adminSecret, deps.logger),
    logger: deps.logger,
    ...(deps.metrics && { metrics: deps.metrics }),
  });
  directory.start();
  return directory;
}
