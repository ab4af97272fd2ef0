// Reads the transcoders' reports from the Redis stream through a consumer group. An entry stays pending (unacked)
// until the status write it caused has succeeded: the reconciler acks what it wrote. Entries left pending by a
// replica that died are claimed by the next leader, so a crash loses nothing. Only the leader runs this.
// An entry that is not a valid report (or that the fold cannot take) is acknowledged at once, counted and logged once
// per type: it must never block the entries behind it, nor pass for a Redis outage.
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import {
  EventParseError,
  eventsStream,
  parseEvent,
  type AnyEvent,
  type EventType,
} from '../../../contract/src/reports.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import {
  applyReport,
  expireSession,
  type PublishObservation,
  type PublishStep,
  type PublishTransition,
} from './publish-state.ts';

export const consumerGroup = 'livestream-operator';

type Entry = [id: string, fields: string[]];

/** One entry's outcome: folded into the observation of its LiveStream, or invalid (to acknowledge and count). */
export type EntryOutcome =
  | { kind: 'folded'; key: string; event: AnyEvent; step: PublishStep }
  | { kind: 'invalid'; type: EventType | 'unknown'; reason: string };

const errorText = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 200);

/** Parses one entry and folds it into the observation `current` holds for its LiveStream. Pure. */
export function foldEntry(
  fields: readonly string[],
  current: (key: string) => PublishObservation | undefined,
  apply: typeof applyReport = applyReport,
): EntryOutcome {
  let event: AnyEvent;
  try {
    event = parseEvent(fields);
  } catch (err) {
    if (err instanceof EventParseError) return { kind: 'invalid', type: err.type ?? 'unknown', reason: err.reason };
    return { kind: 'invalid', type: 'unknown', reason: `parser failed: ${errorText(err)}` };
  }
  const key = `${event.namespace}/${event.name}`;
  try {
    return { kind: 'folded', key, event, step: apply(current(key), event) };
  } catch (err) {
    // A bug in a reducer: skipping this entry is better than wedging every entry behind it.
    return { kind: 'invalid', type: event.type, reason: `reducer failed: ${errorText(err)}` };
  }
}

/** XREADGROUP/XAUTOCLAIM replies differ between RESP2 (arrays) and RESP3 (maps): take the entries either way. */
export function entriesOf(reply: unknown, stream: string): Entry[] {
  if (reply === null || reply === undefined) return [];
  if (reply instanceof Map) return (reply.get(stream) as Entry[] | undefined) ?? [];
  if (Array.isArray(reply)) {
    const found = (reply as [string, Entry[]][]).find((r) => Array.isArray(r) && r[0] === stream);
    return found?.[1] ?? [];
  }
  if (typeof reply === 'object') return ((reply as Record<string, Entry[]>)[stream] ?? []).filter(Boolean);
  return [];
}

export interface EventsConsumerOptions {
  redisUrl: string;
  consumer: string;
  logger: Logger;
  /** Called after a report changed the observation of namespace/name (enqueue a reconcile there). */
  onReport: (key: string, transition: PublishTransition, event: AnyEvent) => void;
  /** Counts entries skipped as invalid, by report type (one of the known types, else "unknown"). */
  invalidReports?: { inc(labels: { type: string }): void };
  /** Claim entries pending this long at another consumer (a replica that died). */
  claimIdleMs?: number;
  blockMs?: number;
}

export class EventsConsumer {
  private readonly opts: EventsConsumerOptions;
  private readonly redis: Redis;
  private readonly observations = new Map<string, PublishObservation>();
  private readonly pending = new Map<string, string[]>();
  private running = false;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;
  private connectedFlag = false;

  constructor(opts: EventsConsumerOptions) {
    this.opts = opts;
    this.redis = new Redis(opts.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 5_000,
      retryStrategy: (attempt) =>
        this.running ? backoffDelay(attempt, { baseMs: 200, maxMs: 5_000, jitter: 0.3 }) : null,
    });
    this.redis.on('ready', () => (this.connectedFlag = true));
    this.redis.on('close', () => (this.connectedFlag = false));
    // ioredis emits 'error' on every failed reconnect: the loop below logs outages once per failure streak.
    this.redis.on('error', () => {});
  }

  /** Whether the Redis connection is up (status shows when reports cannot be read). */
  get connected(): boolean {
    return this.connectedFlag;
  }

  observation(key: string): PublishObservation | undefined {
    return this.observations.get(key);
  }

  /** Entry ids read for `key` and not yet acknowledged (snapshot before a status write). */
  pendingIds(key: string): string[] {
    return [...(this.pending.get(key) ?? [])];
  }

  /** Acknowledges entries whose effect is now in the LiveStream's status. */
  async ack(key: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.xack(eventsStream, consumerGroup, ...ids);
    const left = (this.pending.get(key) ?? []).filter((id) => !ids.includes(id));
    if (left.length === 0) this.pending.delete(key);
    else this.pending.set(key, left);
  }

  /**
   * Closes the open session of `key` if its transcoder has been silent for longer than `ttlMs` (killed: see
   * expireSession), and returns what that means for events and metrics.
   */
  expire(key: string, nowMs: number, ttlMs: number): PublishTransition {
    const obs = this.observations.get(key);
    if (!obs) return { kind: 'none' };
    const step = expireSession(obs, nowMs, ttlMs);
    this.observations.set(key, step.obs);
    return step.transition;
  }

  /** Starts the observation of `key` from what status showed, unless reports have already been folded for it. */
  seed(key: string, obs: PublishObservation): void {
    if (!this.observations.has(key)) this.observations.set(key, obs);
  }

  /** Forgets a LiveStream that no longer exists (and acks its entries: nothing is left to write them to). */
  async forget(key: string): Promise<void> {
    await this.ack(key, this.pendingIds(key));
    this.observations.delete(key);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
        await this.ensureGroup();
        if (Date.now() - this.lastClaim > (this.opts.claimIdleMs ?? 10_000)) await this.claimAbandoned();
        const reply = await this.redis.xreadgroup(
          'GROUP',
          consumerGroup,
          this.opts.consumer,
          'COUNT',
          500,
          'BLOCK',
          this.opts.blockMs ?? 2_000,
          'STREAMS',
          eventsStream,
          '>',
        );
        this.handle(entriesOf(reply, eventsStream));
        if (failures > 0) this.opts.logger.info('reading reports from Redis again');
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        failures++;
        if (failures === 1) this.opts.logger.warn({ err: String(err) }, 'cannot read reports from Redis; retrying');
        await sleep(backoffDelay(failures, { baseMs: 250, maxMs: 5_000, jitter: 0.3 }));
      }
    }
  }

  private groupReady = false;

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      // From the start of the stream the first time: reports written before any operator ran are not lost.
      await this.redis.xgroup('CREATE', eventsStream, consumerGroup, '0', 'MKSTREAM');
    } catch (err) {
      if (!String(err).includes('BUSYGROUP')) throw err;
    }
    this.groupReady = true;
    // A restarted Redis without persistence has lost the group: recreate it on the next reconnect.
    this.redis.once('close', () => (this.groupReady = false));
  }

  /** Takes over entries another consumer read but never acknowledged, e.g. a replica killed mid-write. */
  private async claimAbandoned(): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 1000; round++) {
      const reply = (await this.redis.xautoclaim(
        eventsStream,
        consumerGroup,
        this.opts.consumer,
        this.opts.claimIdleMs ?? 10_000,
        cursor,
        'COUNT',
        500,
      )) as [string, Entry[], ...unknown[]];
      this.handle((reply[1] ?? []).filter((e): e is Entry => Array.isArray(e) && Array.isArray(e[1])));
      cursor = reply[0];
      if (cursor === '0-0') break;
    }
    this.lastClaim = Date.now();
  }

  private handle(entries: readonly Entry[]): void {
    const invalid: string[] = [];
    for (const [id, fields] of entries) {
      const outcome = foldEntry(fields, (key) => this.observations.get(key));
      if (outcome.kind === 'invalid') {
        invalid.push(id);
        this.countInvalid(outcome.type, outcome.reason);
        continue;
      }
      const { key, event, step } = outcome;
      this.observations.set(key, step.obs);
      this.pending.set(key, [...(this.pending.get(key) ?? []), id]);
      try {
        this.opts.onReport(key, step.transition, event);
      } catch (err) {
        this.logOnce('onReport', () => this.opts.logger.error({ err: errorText(err) }, 'report handler failed'));
      }
    }
    // Not awaited: a failed ack leaves the entry pending, to be claimed, found invalid and acked again later.
    if (invalid.length > 0) void this.redis.xack(eventsStream, consumerGroup, ...invalid).catch(() => {});
  }

  private readonly logged = new Set<string>();

  private logOnce(key: string, log: () => void): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    log();
  }

  private countInvalid(type: EventType | 'unknown', reason: string): void {
    this.opts.invalidReports?.inc({ type });
    // The reason names the field and the expectation, never the data (which a writer bug could fill with anything).
    this.logOnce(`invalid:${type}`, () =>
      this.opts.logger.warn(
        { type, reason },
        'invalid report acknowledged and skipped (logged once per type; counted in livestream_operator_reports_invalid_total)',
      ),
    );
  }
}
