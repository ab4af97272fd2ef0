// Reads the transcoders' reports from the channel streams (one per LiveStream, see contract/src/report-streams.ts)
// through one consumer group. An entry stays pending (unacked) until the status write it caused has succeeded: the
// reconciler acks what it wrote. Entries left pending by a replica that died are claimed by the next leader, so a
// crash loses nothing. Only the leader runs this. The streams come from RedisChannels (redis-acl.ts), which makes
// each stream's group with its channel's user; a channel joins the reads at the next read, within one block period.
// A report's LiveStream is the stream it came from: only that channel's credential can write there. An entry that is
// not a valid report, claims another LiveStream than its stream's, or that the fold cannot take is acknowledged at
// once, counted and logged once per type and cause: it must never block the entries behind it, nor pass for a Redis
// outage.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { EventParseError, parseEvent, type AnyEvent, type EventType } from '../../../contract/src/reports.ts';
import { channelOfStream, channelStream, type Channel } from '../../../contract/src/report-streams.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import {
  applyReport,
  PublishObservations,
  type PublishObservation,
  type PublishStep,
  type PublishTransition,
} from './publish-state.ts';
import { operatorConnection } from './redis-acl.ts';

export const consumerGroup = 'livestream-operator';

type Entry = [id: string, fields: string[]];

/** Why an entry was skipped: not a report, a report of another channel than its stream's, or a reducer bug. */
export type InvalidCause = 'malformed' | 'foreign-channel' | 'reducer';

/** One entry's outcome: folded into the observation of its LiveStream, or invalid (to acknowledge and count). */
export type EntryOutcome =
  | { kind: 'folded'; key: string; event: AnyEvent; step: PublishStep }
  | { kind: 'invalid'; type: EventType | 'unknown'; cause: InvalidCause; reason: string };

const errorText = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 200);

/** The work-queue key of a channel. */
export const channelKey = (channel: Channel): string => `${channel.namespace}/${channel.name}`;

/**
 * Parses one entry read from `channel`'s stream and folds it into the observation `current` holds for that
 * LiveStream. The channel is the stream's, never the envelope's: an envelope naming another LiveStream is a forgery
 * (or a misconfigured pod) and is invalid. Pure.
 */
export function foldEntry(
  fields: readonly string[],
  channel: Channel,
  current: (key: string) => PublishObservation | undefined,
  apply: typeof applyReport = applyReport,
): EntryOutcome {
  let event: AnyEvent;
  try {
    event = parseEvent(fields);
  } catch (err) {
    if (err instanceof EventParseError)
      return { kind: 'invalid', type: err.type ?? 'unknown', cause: 'malformed', reason: err.reason };
    return { kind: 'invalid', type: 'unknown', cause: 'malformed', reason: `parser failed: ${errorText(err)}` };
  }
  if (event.namespace !== channel.namespace || event.name !== channel.name) {
    // The reason says what is wrong, not which LiveStream the entry claims (the writer chose that text).
    const reason = "namespace/name: the entry names another LiveStream than its stream's";
    return { kind: 'invalid', type: event.type, cause: 'foreign-channel', reason };
  }
  const key = channelKey(channel);
  try {
    return { kind: 'folded', key, event, step: apply(current(key), event) };
  } catch (err) {
    // A bug in a reducer: skipping this entry is better than wedging every entry behind it.
    return { kind: 'invalid', type: event.type, cause: 'reducer', reason: `reducer failed: ${errorText(err)}` };
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

/** `items` in chunks of at most `size`, in order. Pure. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The group's last-delivered-id from an XINFO GROUPS reply (flat arrays in RESP2, maps in RESP3), if any. */
export function lastDeliveredId(reply: unknown, group: string): string | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (const g of reply as unknown[]) {
    const fields =
      g instanceof Map ? new Map(g as Map<string, unknown>) : new Map(pairs(Array.isArray(g) ? (g as unknown[]) : []));
    if (fields.get('name') === group) {
      const id = fields.get('last-delivered-id');
      return typeof id === 'string' ? id : undefined;
    }
  }
  return undefined;
}

const pairs = (flat: readonly unknown[]): [unknown, unknown][] =>
  Array.from({ length: Math.floor(flat.length / 2) }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);

/**
 * Where a stream may be trimmed to (XTRIM MINID): entries before it are acknowledged. The oldest pending entry when
 * there is one (pending entries must stay, to be claimed); else the last delivered one (those after it are unread).
 */
export function trimPoint(pending: readonly unknown[], lastDelivered: string | undefined): string | undefined {
  const [count, oldest] = pending;
  if (typeof count === 'number' && count > 0) return typeof oldest === 'string' ? oldest : undefined;
  return lastDelivered !== undefined && lastDelivered !== '0-0' ? lastDelivered : undefined;
}

/** The channel streams to read, kept by RedisChannels (redis-acl.ts). */
export interface ChannelStreams {
  /** Streams whose consumer group exists. */
  streams(): readonly string[];
  /** The LiveStream is gone: its user and stream go too. */
  forget(channel: Channel): void;
  /** A group was missing: make every user and group again. */
  resync(): void;
}

export interface EventsConsumerOptions {
  redisUrl: string;
  consumer: string;
  logger: Logger;
  channels: ChannelStreams;
  /** Called after a report changed the observation of namespace/name (enqueue a reconcile there). */
  onReport: (key: string, transition: PublishTransition, event: AnyEvent) => void;
  /** Counts entries skipped as invalid, by report type (one of the known types, else "unknown"). */
  invalidReports?: { inc(labels: { type: string }): void };
  /** Seconds from reading a report with a transition to acknowledging it (its effect is in status by then). */
  transitionToStatus?: { observe(seconds: number): void };
  /** Claim entries pending this long at another consumer (a replica that died). */
  claimIdleMs?: number;
  blockMs?: number;
  /** Streams per XREADGROUP; more are read in several non-blocking reads per round. */
  streamsPerRead?: number;
}

/** The channel of a key ("namespace/name"). */
function channelOfKey(key: string): Channel {
  const [namespace = '', name = ''] = key.split('/');
  return { namespace, name };
}

/** Connects a lazy connection that is not connected yet or was closed (ioredis reconnects the others itself). */
async function connected(redis: Redis): Promise<void> {
  if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
}

export class EventsConsumer {
  private readonly opts: EventsConsumerOptions;
  private readonly redis: Redis;
  /**
   * Every command but the blocking read, on a connection of its own: claims, trims and acknowledgements. A pass over
   * every stream on the reading connection held back the reads for seconds, and an ack there waited for the blocked
   * XREADGROUP to return (bench-fleet, 1,000 live channels: more than half the workers' time went to acks).
   */
  private readonly sideRedis: Redis;
  private readonly observations = new PublishObservations();
  private readonly pending = new Map<string, string[]>();
  /** When each pending entry with a transition was read, by key and entry id (the transition-to-status figure). */
  private readonly transitionsRead = new Map<string, Map<string, number>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private upkeepLoop: Promise<void> | undefined;
  /** Aborted by stop(): wakes the upkeep loop from its wait between passes. */
  private stopping = new AbortController();
  private connectedFlag = false;

  constructor(opts: EventsConsumerOptions) {
    this.opts = opts;
    this.redis = operatorConnection(opts.redisUrl, () => this.running);
    this.redis.on('ready', () => (this.connectedFlag = true));
    this.redis.on('close', () => (this.connectedFlag = false));
    // ioredis emits 'error' on every failed reconnect: the loop below logs outages once per failure streak.
    this.redis.on('error', () => {});
    this.sideRedis = operatorConnection(opts.redisUrl, () => this.running);
    this.sideRedis.on('error', () => {});
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
    await this.sideRedis.xack(channelStream(channelOfKey(key)), consumerGroup, ...ids);
    const acked = new Set(ids);
    const left = (this.pending.get(key) ?? []).filter((id) => !acked.has(id));
    if (left.length === 0) this.pending.delete(key);
    else this.pending.set(key, left);
    const read = this.transitionsRead.get(key);
    if (read === undefined) return;
    const now = performance.now();
    for (const id of ids) {
      const at = read.get(id);
      if (at === undefined) continue;
      read.delete(id);
      this.opts.transitionToStatus?.observe((now - at) / 1000);
    }
    if (read.size === 0) this.transitionsRead.delete(key);
  }

  /**
   * Closes the open session of `key` if its transcoder has been silent for longer than `ttlMs` (killed: see
   * expireSession), and returns what that means for events and metrics.
   */
  expire(key: string, nowMs: number, ttlMs: number): PublishTransition {
    return this.observations.expire(key, nowMs, ttlMs);
  }

  /** Starts the observation of `key` from what status showed, unless reports have already been folded for it. */
  seed(key: string, obs: PublishObservation): void {
    this.observations.seed(key, obs);
  }

  /** Forgets a LiveStream that no longer exists, with its stream and user (nothing is left to write them to). */
  forget(key: string): Promise<void> {
    this.pending.delete(key);
    this.transitionsRead.delete(key);
    this.observations.delete(key);
    this.opts.channels.forget(channelOfKey(key));
    return Promise.resolve();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    this.redis.disconnect();
    this.sideRedis.disconnect();
    await this.loop;
    await this.upkeepLoop;
  }

  private async run(): Promise<void> {
    // What a predecessor left pending for claimIdleMs is folded before any newer entry is read; then a pass every
    // claimIdleMs.
    this.upkeepLoop = this.upkeep(await this.upkeepPass(0));
    let failures = 0;
    while (this.running) {
      try {
        await connected(this.redis);
        await this.readOnce(this.opts.channels.streams());
        if (failures > 0) this.opts.logger.info('reading reports from Redis again');
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        // A group lost with its stream (a Redis restart the channels have not caught up with, a FLUSHALL).
        if (String(err).includes('NOGROUP')) this.opts.channels.resync();
        failures++;
        if (failures === 1) this.opts.logger.warn({ err: String(err) }, 'cannot read reports from Redis; retrying');
        await sleep(backoffDelay(failures, { baseMs: 250, maxMs: 5_000, jitter: 0.3 }));
      }
    }
  }

  /**
   * One round of reads. One chunk of streams (the usual case): XREADGROUP blocks until an entry comes or the block
   * period ends, so a new channel joins within a block period. Several chunks: each is read without blocking (a
   * blocked read would hold back the others), and a round that found nothing waits a short poll interval.
   */
  private async readOnce(streams: readonly string[]): Promise<void> {
    const blockMs = this.opts.blockMs ?? 2_000;
    if (streams.length === 0) {
      await sleep(Math.min(blockMs, 500));
      return;
    }
    const chunks = chunked(streams, this.opts.streamsPerRead ?? 1_000);
    let found = 0;
    for (const chunk of chunks) {
      const ids = chunk.map(() => '>');
      const g = ['GROUP', consumerGroup, this.opts.consumer, 'COUNT', 500] as const;
      // The typed command (not call()): ioredis shapes its RESP3 map reply into what entriesOf reads.
      const reply =
        chunks.length === 1
          ? await this.redis.xreadgroup(...g, 'BLOCK', blockMs, 'STREAMS', ...chunk, ...ids)
          : await this.redis.xreadgroup(...g, 'STREAMS', ...chunk, ...ids);
      for (const stream of chunk) found += this.handle(stream, entriesOf(reply, stream));
    }
    if (chunks.length > 1 && found === 0) await sleep(Math.min(blockMs, 100));
  }

  /**
   * Every claimIdleMs, a pass over every stream that claims and trims, beside the reads. In the read loop, a pass
   * over 5,000 streams (four commands each) held back every report behind it for seconds (bench-fleet's
   * report-to-status tail).
   */
  private async upkeep(failures: number): Promise<void> {
    const everyMs = this.opts.claimIdleMs ?? 10_000;
    while (this.running) {
      const waitMs = failures > 0 ? backoffDelay(failures, { baseMs: 250, maxMs: 5_000, jitter: 0.3 }) : everyMs;
      await sleep(waitMs, undefined, { signal: this.stopping.signal }).catch(() => {});
      if (this.running) failures = await this.upkeepPass(failures);
    }
  }

  /**
   * One claim-and-trim pass after `failures` failed ones in a row; returns the streak after it (0 when it went
   * through). The first failure of a streak is logged.
   */
  private async upkeepPass(failures: number): Promise<number> {
    try {
      await connected(this.sideRedis);
      await this.claimAbandoned(this.opts.channels.streams());
      return 0;
    } catch (err) {
      if (this.running && failures === 0)
        this.opts.logger.warn({ err: String(err) }, 'cannot claim or trim reports; retrying');
      return failures + 1;
    }
  }

  /**
   * Takes over entries another consumer read but never acknowledged, e.g. a replica killed mid-write, and trims
   * what is acknowledged: a stream per channel each capped only by its writers' MAXLEN would hold days of heartbeats.
   */
  private async claimAbandoned(streams: readonly string[]): Promise<void> {
    // Up to 100 streams at once: their commands share the connection's pipeline.
    for (const chunk of chunked(streams, 100)) {
      if (!this.running) return;
      await Promise.all(chunk.map(async (s) => (await this.claimFrom(s), await this.trimAcknowledged(s))));
    }
  }

  private async trimAcknowledged(stream: string): Promise<void> {
    // The last delivered id first: whatever is delivered after it has a later id, so it is never below the trim point.
    const [groups, pending] = await Promise.all([
      this.sideRedis.xinfo('GROUPS', stream),
      this.sideRedis.xpending(stream, consumerGroup),
    ]);
    const minId = trimPoint(pending, lastDeliveredId(groups, consumerGroup));
    if (minId !== undefined) await this.sideRedis.xtrim(stream, 'MINID', '~', minId);
  }

  private async claimFrom(stream: string): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 1000; round++) {
      const reply = (await this.sideRedis.xautoclaim(
        stream,
        consumerGroup,
        this.opts.consumer,
        this.opts.claimIdleMs ?? 10_000,
        cursor,
        'COUNT',
        500,
      )) as [string, Entry[], ...unknown[]];
      this.handle(
        stream,
        (reply[1] ?? []).filter((e): e is Entry => Array.isArray(e) && Array.isArray(e[1])),
      );
      cursor = reply[0];
      if (cursor === '0-0') break;
    }
  }

  /** Folds the entries of one stream; returns how many there were. */
  private handle(stream: string, entries: readonly Entry[]): number {
    const channel = channelOfStream(stream);
    if (!channel || entries.length === 0) return entries.length;
    const invalid: string[] = [];
    for (const [id, fields] of entries) {
      const outcome = foldEntry(fields, channel, (key) => this.observations.get(key));
      if (outcome.kind === 'invalid') {
        invalid.push(id);
        this.countInvalid(outcome);
        continue;
      }
      const { key, event, step } = outcome;
      this.observations.set(key, step.obs);
      this.pending.set(key, [...(this.pending.get(key) ?? []), id]);
      if (step.transition.kind !== 'none') this.markTransition(key, id);
      try {
        this.opts.onReport(key, step.transition, event);
      } catch (err) {
        this.logOnce('onReport', () => this.opts.logger.error({ err: errorText(err) }, 'report handler failed'));
      }
    }
    // Not awaited: a failed ack leaves the entry pending, to be claimed, found invalid and acked again later.
    if (invalid.length > 0) void this.sideRedis.xack(stream, consumerGroup, ...invalid).catch(() => {});
    return entries.length;
  }

  private markTransition(key: string, id: string): void {
    const read = this.transitionsRead.get(key) ?? new Map<string, number>();
    read.set(id, performance.now());
    this.transitionsRead.set(key, read);
  }

  private readonly logged = new Set<string>();

  private logOnce(key: string, log: () => void): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    log();
  }

  private countInvalid({ type, cause, reason }: Extract<EntryOutcome, { kind: 'invalid' }>): void {
    this.opts.invalidReports?.inc({ type });
    // The reason names the field and the expectation, never the data (which a writer bug could fill with anything).
    this.logOnce(`invalid:${type}:${cause}`, () =>
      this.opts.logger.warn(
        { type, cause, reason },
        'invalid report acknowledged and skipped (logged once per type and cause; counted in livestream_operator_reports_invalid_total)',
      ),
    );
  }
}
