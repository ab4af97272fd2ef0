// The reports source of an operator without Redis: polls the report log of every transcoder pod's containers
// (contract/src/report-log.ts) every ~2 s, with bounded concurrency, a timeout per ask and a backoff per failing
// endpoint, and folds each entry with the Redis consumer's own foldEntry. A report's LiveStream is the pod that was
// asked, never what the entry claims: an entry naming another one is invalid, counted and skipped. The reconciler
// sees the same interface as the consumer's (ReportSource): nothing here waits for an ack, reading never consumes, and
// a new leader reads each log again from its start. A pod that cannot be reached folds nothing, so the heartbeat TTL
// closes its open session as with Redis; unreachable(key) says why.
// Each ask carries the bearer token of the channel asked (contract/src/report-log.ts), found by `reportToken` in the
// operator's cache of its own "<name>-reports" Secrets: a channel without one is not asked at all (its pods would
// refuse), and unreachable(key) says so. The token goes in the Authorization header only, never in a URL or a log.
import type { Logger } from '../../../contract/src/logger.ts';
import {
  maxReportLogResponseBytes,
  parseReportLogPage,
  reportLogHeaders,
  reportLogQuery,
  type ReportLogPage,
} from '../../../contract/src/report-log.ts';
import type { AnyEvent } from '../../../contract/src/reports.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { splitKey } from '../runtime/controller.ts';
import { reportTokenSecretName } from './desired/report-token-secret.ts';
import { foldEntry, type EntryOutcome } from './events-consumer.ts';
import { PublishObservations, type PublishObservation, type PublishTransition } from './publish-state.ts';
import {
  afterFailure,
  afterPage,
  dueEndpoints,
  newEndpointState,
  unreachableReason,
  type EndpointState,
  type ReportEndpoint,
} from './report-poller-cursor.ts';
import { PodReportTargets, type ReportLogPorts } from './report-poller-pods.ts';

/** Where each channel's containers are: key (namespace/name) -> its endpoints. Started and stopped with the poller. */
export interface ReportTargets {
  targets(): ReadonlyMap<string, readonly ReportEndpoint[]>;
  start?(): void;
  stop?(): Promise<void>;
}

export interface ReportPollerOptions {
  targets: ReportTargets;
  /** The report-log token of namespace/name (reconcile/report-token.ts: reportTokenLookup); undefined: none yet. */
  reportToken: (key: string) => string | undefined;
  logger: Logger;
  /** Called after a report changed the observation of namespace/name (enqueue a reconcile there). */
  onReport: (key: string, transition: PublishTransition, event: AnyEvent) => void;
  /** Counts entries skipped as invalid, by report type (one of the known types, else "unknown"). */
  invalidReports?: { inc(labels: { type: string }): void };
  intervalMs?: number;
  timeoutMs?: number;
  /** Asks in flight at most. */
  concurrency?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

const errorText = (err: unknown): string => {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return (err instanceof Error ? `${err.message}${cause}` : String(err)).slice(0, 200);
};

export class ReportPoller {
  private readonly opts: ReportPollerOptions;
  private readonly observations = new PublishObservations();
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly logged = new Set<string>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private missedTotal = 0;

  constructor(opts: ReportPollerOptions) {
    this.opts = opts;
  }

  /** Whether reports can be read at all: the poller runs (a pod it cannot reach shows in unreachable(key)). */
  get connected(): boolean {
    return this.running;
  }

  /** Reports the containers' logs dropped before they were read, since the start. */
  get missed(): number {
    return this.missedTotal;
  }

  observation(key: string): PublishObservation | undefined {
    return this.observations.get(key);
  }

  /** Nothing waits for an ack: a log is read, never consumed. */
  pendingIds(): string[] {
    return [];
  }

  ack(): Promise<void> {
    return Promise.resolve();
  }

  /** Closes the open session of `key` if its transcoder has been silent for longer than `ttlMs` (expireSession). */
  expire(key: string, nowMs: number, ttlMs: number): PublishTransition {
    return this.observations.expire(key, nowMs, ttlMs);
  }

  /** Starts the observation of `key` from what status showed, unless reports have already been folded for it. */
  seed(key: string, obs: PublishObservation): void {
    this.observations.seed(key, obs);
  }

  forget(key: string): Promise<void> {
    this.observations.delete(key);
    return Promise.resolve();
  }

  /** Why the reports of `key` cannot be read right now, or undefined (read, or nothing to read yet). */
  unreachable(key: string): string | undefined {
    const endpoints = this.opts.targets.targets().get(key) ?? [];
    if (endpoints.length > 0 && this.opts.reportToken(key) === undefined) return noTokenReason(key);
    return unreachableReason(endpoints, (id) => this.endpoints.get(id));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.opts.targets.start?.();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.opts.targets.stop?.();
  }

  /** One round now: every due endpoint asked once (tests drive the poller with it; start() runs rounds). */
  async pollOnce(): Promise<void> {
    const targets = this.opts.targets.targets();
    const now = this.now();
    const due: { key: string; endpoint: ReportEndpoint; token: string }[] = [];
    for (const [key, endpoints] of targets) {
      const token = this.opts.reportToken(key);
      if (token === undefined) {
        this.logOnce(`token:${key}`, () => this.opts.logger.warn({ livestream: key }, noTokenReason(key)));
        continue;
      }
      for (const endpoint of dueEndpoints(endpoints, (id) => this.endpoints.get(id), now))
        due.push({ key, endpoint, token });
    }
    this.forgetGone(targets);
    await inParallel(due, this.opts.concurrency ?? 16, ({ key, endpoint, token }) => this.poll(key, endpoint, token));
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.pollOnce();
      } catch (err) {
        this.logOnce('round', () => this.opts.logger.error({ err: errorText(err) }, 'report poll round failed'));
      }
      await this.sleep(this.untilNextDue());
    }
  }

  /** Time to the next due endpoint, within [20 ms, the interval] (a new pod is picked up within an interval). */
  private untilNextDue(): number {
    const interval = this.opts.intervalMs ?? 2_000;
    let next = interval;
    for (const state of this.endpoints.values()) next = Math.min(next, state.nextAt - this.now());
    return Math.max(20, next);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = wake;
    });
  }

  private async poll(key: string, endpoint: ReportEndpoint, token: string): Promise<void> {
    const prev = this.endpoints.get(endpoint.id) ?? newEndpointState(this.now());
    const interval = this.opts.intervalMs ?? 2_000;
    let page: ReportLogPage;
    try {
      page = await this.fetchPage(endpoint, prev, token);
    } catch (err) {
      const next = afterFailure(prev, errorText(err), this.now(), interval);
      this.endpoints.set(endpoint.id, next);
      if (prev.failures === 0)
        this.opts.logger.warn({ livestream: key, endpoint: endpoint.url, err: next.lastError }, 'cannot read reports');
      return;
    }
    const read = afterPage(prev, page, this.now(), interval);
    this.endpoints.set(endpoint.id, read.state);
    if (prev.failures > 0) this.opts.logger.info({ livestream: key, endpoint: endpoint.url }, 'reading reports again');
    if (read.restarted) this.opts.logger.info({ livestream: key, endpoint: endpoint.url }, 'container restarted');
    if (page.missed > 0) this.countMissed(key, endpoint, page.missed);
    this.fold(key, page.entries);
  }

  private async fetchPage(endpoint: ReportEndpoint, state: EndpointState, token: string): Promise<ReportLogPage> {
    const res = await (this.opts.fetch ?? fetch)(`${endpoint.url}${reportLogQuery(state.cursor)}`, {
      headers: reportLogHeaders(token),
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 1_500),
      redirect: 'error',
    });
    if (!res.ok) {
      await res.body?.cancel();
      // A pod started with another token (its Secret was replaced since) reads it again only when it restarts.
      throw new Error(
        res.status === 401 ? 'HTTP 401: the pod refused the channel’s report token' : `HTTP ${res.status}`,
      );
    }
    const text = await readCapped(res, maxReportLogResponseBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('the response is not JSON'); // not the parser's message: it quotes the body
    }
    return parseReportLogPage(body);
  }

  private fold(key: string, entries: readonly string[][]): void {
    const channel = splitKey(key);
    for (const fields of entries) {
      const outcome = foldEntry(fields, channel, (k) => this.observations.get(k));
      if (outcome.kind === 'invalid') {
        this.countInvalid(outcome);
        continue;
      }
      this.observations.set(outcome.key, outcome.step.obs);
      try {
        this.opts.onReport(outcome.key, outcome.step.transition, outcome.event);
      } catch (err) {
        this.logOnce('onReport', () => this.opts.logger.error({ err: errorText(err) }, 'report handler failed'));
      }
    }
  }

  /** Endpoints of pods that are gone are forgotten (their cursors would only grow the map). */
  private forgetGone(targets: ReadonlyMap<string, readonly ReportEndpoint[]>): void {
    const live = new Set<string>();
    for (const endpoints of targets.values()) for (const e of endpoints) live.add(e.id);
    for (const id of this.endpoints.keys()) if (!live.has(id)) this.endpoints.delete(id);
  }

  private countMissed(key: string, endpoint: ReportEndpoint, missed: number): void {
    this.missedTotal += missed;
    this.opts.logger.warn(
      { livestream: key, endpoint: endpoint.url, missed },
      'reports dropped by the container before they were read (its log is bounded)',
    );
  }

  private countInvalid({ type, cause, reason }: Extract<EntryOutcome, { kind: 'invalid' }>): void {
    this.opts.invalidReports?.inc({ type });
    // The reason names the field and the expectation, never the data (which the pod could fill with anything).
    this.logOnce(`invalid:${type}:${cause}`, () =>
      this.opts.logger.warn(
        { type, cause, reason },
        'invalid report skipped (logged once per type and cause; counted in livestream_operator_reports_invalid_total)',
      ),
    );
  }

  private logOnce(key: string, log: () => void): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    log();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

export interface StartReportPollerOptions extends Omit<ReportPollerOptions, 'targets'> {
  kc: KubeConfig;
  /** The operator's watch namespace; undefined: all. */
  namespace: string | undefined;
  ports?: ReportLogPorts;
}

/** The operator's reports source without Redis: the transcoder pods from a pod informer, polled; started. */
export function startReportPoller(opts: StartReportPollerOptions): ReportPoller {
  const { kc, namespace, ports, ...rest } = opts;
  const targets = new PodReportTargets({ kc, namespace, logger: opts.logger, ...(ports && { ports }) });
  const poller = new ReportPoller({ ...rest, targets });
  poller.start();
  return poller;
}

const noTokenReason = (key: string): string =>
  `no report token for ${key}: the operator's Secret ${reportTokenSecretName(splitKey(key).name)} is not in its cache yet`;

/** The body, or an error once it exceeds `max` bytes (a pod must not make the operator buffer without bound). */
async function readCapped(res: Response, max: number): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the response exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `work` over `items`, at most `limit` at a time; resolves when all have settled. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
