// The route table and the routing secret as the gateway sees them: two mounted files, watched and reloaded when
// they change (the operator rewrites them on key rotation, pause, deletion and pod moves). A table or secret that
// does not parse is logged (never its content) and the last good one stays in force; until both have loaded once
// the gateway is not ready.
import type { Logger } from '../../../contract/src/logger.ts';
import {
  channelAccess,
  channelId,
  indexRouteTable,
  lookupKey,
  decodeRouteTable,
  parseRouteTable,
  parseRoutingSecret,
  type ChannelAccess,
  type ChannelRoute,
  type RouteIndex,
} from '../../../contract/src/route-table.ts';
import { watchFile, type WatchedFile } from '../../../contract/src/watched-file.ts';
import { PlaybackKeys } from '../access/playback-keys.ts';

export interface RouteSourceOptions {
  tablePath: string;
  secretPath: string;
  logger: Logger;
  pollMs?: number;
  now?: () => number;
}

/** The routing secret: the file's text without surrounding whitespace; at least 32 characters (the operator's rule). */
export { parseRoutingSecret };

export class RouteSource {
  private index: RouteIndex | undefined;
  private secret: Buffer | undefined;
  private readonly watchers: WatchedFile[];
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pollMs: number;
  private keys: PlaybackKeys | undefined;

  constructor(options: RouteSourceOptions) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    const pollMs = options.pollMs ?? 1_000;
    this.pollMs = pollMs;
    const onError = (what: string) => (err: unknown) =>
      this.logger.warn({ code: (err as NodeJS.ErrnoException).code ?? 'error' }, `cannot read the ${what}`);
    this.watchers = [
      watchFile(options.tablePath, (c) => this.loadTable(c), { intervalMs: pollMs, onError: onError('route table') }),
      watchFile(options.secretPath, (c) => this.loadSecret(c), {
        intervalMs: pollMs,
        onError: onError('routing secret'),
      }),
    ];
  }

  private loadTable(content: Buffer): void {
    try {
      const index = indexRouteTable(parseRouteTable(decodeRouteTable(content)));
      this.index = index;
      this.logger.info({ entries: index.entries.length, channels: index.channels.size }, 'route table loaded');
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'route table refused; the previous one stays in force');
    }
  }

  private loadSecret(content: Buffer): void {
    try {
      this.secret = parseRoutingSecret(content);
      this.logger.info('routing secret loaded');
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'routing secret refused');
    }
  }

  ready(): boolean {
    return this.index !== undefined && this.secret !== undefined;
  }

  lookup(key: string): ChannelRoute | undefined {
    if (!this.index || !this.secret) return undefined;
    return lookupKey(this.index, this.secret, key, this.now());
  }

  /** The table in force (the admin routes listing); undefined until one has loaded. */
  table(): RouteIndex | undefined {
    return this.index;
  }

  channel(namespace: string, name: string): ChannelRoute | undefined {
    return this.index?.channels.get(channelId(namespace, name));
  }

  /** A routed channel's viewing rules (public for a channel the table has no rules for, or before it loads). */
  access(namespace: string, name: string): ChannelAccess {
    return this.index ? channelAccess(this.index, namespace, name) : { namespace, name, visibility: 'public' };
  }

  /** The routing secret in force (the key of playback sessions is derived from it); undefined until loaded. */
  routingSecret(): Buffer | undefined {
    return this.secret;
  }

  /** The playback token keys of `dir`, watched with the table from the first call on (and closed with it). */
  playbackKeys(dir: string): PlaybackKeys {
    this.keys ??= new PlaybackKeys(dir, this.logger, this.pollMs);
    return this.keys;
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.keys?.close();
  }
}
