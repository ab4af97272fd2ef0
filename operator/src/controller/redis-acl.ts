// Per-channel Redis users (docs/adr/0005-redis-for-reports.md; the URL in each channel's Secret is built in
// desired/redis-secret.ts). RedisChannels (the operator's admin connection, leader only) applies each wanted channel's ACL user and creates its stream's consumer group, again after every
// (re)connect since a Redis restart loses dynamic users, and deletes user and stream of a LiveStream that is gone.
import { Redis } from 'ioredis';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import {
  channelAclRules,
  channelOfStream,
  channelOfUser,
  channelStream,
  channelStreamPrefix,
  channelUser,
  type Channel,
} from '../../../contract/src/report-streams.ts';

/** Whether a channel user needs SELECT: its URL names the operator's database, and ioredis selects any but 0. */
export const selectsDatabase = (operatorUrl: string): boolean =>
  !['', '/', '/0'].includes(new URL(operatorUrl).pathname);

/**
 * An admin connection of the operator's: connected on demand, failing commands at once while down (no offline
 * queue: the callers retry on their own terms), reconnecting with backoff while `running` says so.
 */
export function operatorConnection(url: string, running: () => boolean): Redis {
  return new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => (running() ? backoffDelay(attempt, { baseMs: 200, maxMs: 5_000, jitter: 0.3 }) : null),
  });
}

export interface RedisChannelsOptions {
  /** The operator's own (admin) URL. */
  redisUrl: string;
  /** The consumer group every channel stream gets. */
  group: string;
  logger: Logger;
}

interface Wanted {
  channel: Channel;
  rules: string[];
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 200);

export class RedisChannels {
  private readonly opts: RedisChannelsOptions;
  private readonly redis: Redis;
  private readonly select: boolean;
  /** By stream: the channels reconciled, with their ACL rules (the password only as its hash). */
  private readonly wanted = new Map<string, Wanted>();
  /** By stream: the rules applied since the last connect (a stream here has its user and group). */
  private readonly applied = new Map<string, string>();
  /** Streams of deleted LiveStreams whose user and stream are still to delete. */
  private readonly gone = new Set<string>();
  private sweepKeep: ((channel: Channel) => boolean) | undefined;
  private sweepNamespace: string | undefined;
  private syncing: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private running = false;

  constructor(opts: RedisChannelsOptions) {
    this.opts = opts;
    this.select = selectsDatabase(opts.redisUrl);
    this.redis = operatorConnection(opts.redisUrl, () => this.running);
    // A restarted Redis has lost every dynamic user (and, without persistence, every group): apply all again.
    this.redis.on('close', () => this.applied.clear());
    this.redis.on('ready', () => this.kick());
    this.redis.on('error', () => {}); // each failed reconnect; sync() logs failures once per streak
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.redis.connect().catch(() => {}); // retried by retryStrategy
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retry);
    this.redis.disconnect();
    await this.syncing;
  }

  /** The channel streams whose user and consumer group are in place: what the consumer reads. */
  streams(): string[] {
    return [...this.applied.keys()];
  }

  /** The channel's user should have this password; applied now if it does not yet (idempotent, cheap when equal). */
  want(channel: Channel, password: string): void {
    const stream = channelStream(channel);
    const rules = channelAclRules(channel, password, { select: this.select });
    this.gone.delete(stream);
    this.wanted.set(stream, { channel, rules });
    if (this.applied.get(stream) !== rules.join(' ')) this.kick();
  }

  /** The LiveStream is gone: delete its user (which disconnects its pods) and its stream. */
  forget(channel: Channel): void {
    const stream = channelStream(channel);
    this.wanted.delete(stream);
    this.applied.delete(stream);
    this.gone.add(stream);
    this.kick();
  }

  /**
   * Deletes, once, the channel users and streams in `namespace` (all when undefined) that belong to no LiveStream
   * `keep` knows and that nothing wanted since: those of LiveStreams deleted while no operator led.
   */
  sweep(keep: (channel: Channel) => boolean, namespace: string | undefined): void {
    this.sweepKeep = keep;
    this.sweepNamespace = namespace;
    this.kick();
  }

  /** Applies everything again (the consumer found a group missing). */
  resync(): void {
    this.applied.clear();
    this.kick();
  }

  // Single runner: at most one sync at a time; a failure while connected retries with backoff.
  private kick(): void {
    if (!this.running || this.syncing || this.redis.status !== 'ready') return;
    this.syncing = this.sync()
      .then(() => {
        if (this.failures > 0) this.opts.logger.info('Redis channel users applied again');
        this.failures = 0;
      })
      .catch((err: unknown) => this.failed(err))
      .finally(() => {
        this.syncing = undefined;
        if (this.outstanding() && this.failures === 0) this.kick();
      });
  }

  private outstanding(): boolean {
    if (this.gone.size > 0 || this.sweepKeep) return true;
    for (const [stream, w] of this.wanted) if (this.applied.get(stream) !== w.rules.join(' ')) return true;
    return false;
  }

  private failed(err: unknown): void {
    this.failures++;
    if (this.failures === 1)
      this.opts.logger.warn({ err: errorText(err) }, 'cannot apply Redis channel users; retrying');
    clearTimeout(this.retry);
    const delay = backoffDelay(this.failures, { baseMs: 500, maxMs: 10_000, jitter: 0.3 });
    this.retry = setTimeout(() => this.kick(), delay);
    this.retry.unref();
  }

  private async sync(): Promise<void> {
    for (const stream of [...this.gone]) {
      await this.remove(stream);
      this.gone.delete(stream);
    }
    for (const [stream, w] of [...this.wanted]) {
      const text = w.rules.join(' ');
      if (this.applied.get(stream) === text) continue;
      await this.apply(stream, w);
      // Only if still wanted as it was: a forget or a new password meanwhile wins.
      if (this.wanted.get(stream) === w) this.applied.set(stream, text);
    }
    if (this.sweepKeep) await this.sweepOnce(this.sweepKeep);
  }

  private async apply(stream: string, w: Wanted): Promise<void> {
    await this.redis.call('ACL', 'SETUSER', channelUser(w.channel), ...w.rules);
    try {
      // From the start of the stream: reports a pod wrote before the group existed are read too.
      await this.redis.xgroup('CREATE', stream, this.opts.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!errorText(err).includes('BUSYGROUP')) throw err;
    }
  }

  private async remove(stream: string): Promise<void> {
    const channel = channelOfStream(stream);
    if (channel) await this.redis.call('ACL', 'DELUSER', channelUser(channel));
    await this.redis.del(stream);
  }

  private async sweepOnce(keep: (channel: Channel) => boolean): Promise<void> {
    const inScope = (c: Channel | undefined): c is Channel =>
      c !== undefined &&
      (this.sweepNamespace === undefined || c.namespace === this.sweepNamespace) &&
      !this.wanted.has(channelStream(c)) &&
      !keep(c);
    const users = (await this.redis.call('ACL', 'USERS')) as string[];
    const stale = new Set(users.map(channelOfUser).filter(inScope).map(channelStream));
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${channelStreamPrefix}*`, 'COUNT', 500);
      for (const key of keys) if (inScope(channelOfStream(key))) stale.add(key);
      cursor = next;
    } while (cursor !== '0');
    for (const stream of stale) await this.remove(stream);
    if (stale.size > 0) this.opts.logger.info({ removed: stale.size }, 'removed Redis channels of deleted LiveStreams');
    this.sweepKeep = undefined;
  }
}
