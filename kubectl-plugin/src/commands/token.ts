// `kubectl livestream token NAME --ttl 1h`: a playback token for a private channel, signed with the gateway's key
// (contract/src/playback-token.ts), or with --url the playback URL that carries it (docs/playback-tokens.md).
import { mintPlaybackToken, playbackViewerIdMaxLength } from '../../../contract/src/playback-token.ts';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { UsageError, all, durationSeconds, nameArg, one } from '../args.ts';
import { globalFlags, type Command } from '../command.ts';
import { CommandError } from '../kube.ts';
import { getLiveStream } from '../livestream.ts';
import { pickKey, readKeysSecret, resolveKeysSecret } from '../playback-keys.ts';
import { serialized } from '../format.ts';

/** The gateway's master playlist URL with the token as its `token` parameter (what the gateway reads). */
export function tokenUrl(ls: Pick<LiveStream, 'status'>, token: string): string {
  const via = ls.status?.ingest?.via;
  const playback = ls.status?.playback?.url;
  if (playback === undefined || via === 'Service') {
    throw new CommandError('the channel has no gateway playback URL in its status (only the gateway checks tokens)');
  }
  const url = new URL(playback);
  url.searchParams.set('token', token);
  return url.href;
}

export function originsOf(values: readonly string[]): string[] | undefined {
  if (values.length === 0) return undefined;
  return values.map((v) => {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new UsageError(`--origin must be a web origin such as https://example.com (got ${JSON.stringify(v)})`);
    }
    // Browsers send the Origin header as scheme://host[:port]: a path would never match.
    if (url.origin === 'null' || url.origin !== v.replace(/\/$/, '')) {
      throw new UsageError(`--origin must be a web origin such as https://example.com (got ${JSON.stringify(v)})`);
    }
    return url.origin;
  });
}

export const tokenCommand: Command = {
  name: 'token',
  usage: 'kubectl livestream token NAME --ttl 1h [--viewer ID] [--origin URL]... [--url] [--keys-secret NS/NAME]',
  summary: 'mint a playback token for a private channel',
  about:
    "A playback token for a private channel (an ES256 JWT signed with the gateway's playback key; docs/playback-tokens.md). " +
    'With --url, the playback URL that carries it. Needs read access to the playback keys Secret.',
  flags: [
    { name: 'ttl', value: 'DURATION', help: 'how long the token is valid (1h, 30m, 90s)' },
    { name: 'viewer', value: 'ID', help: "viewer id (the vid claim; revocable in the channel's revokedViewers)" },
    { name: 'origin', value: 'URL', repeatable: true, help: 'web origin allowed to play (repeatable)' },
    { name: 'url', help: 'print the playback URL with the token instead of the token' },
    {
      name: 'keys-secret',
      value: 'NS/NAME',
      help: `the playback keys Secret (default: $KUBECTL_LIVESTREAM_KEYS_SECRET, else found)`,
    },
    { name: 'kid', value: 'KID', help: "the key to sign with (default: the Secret's greatest key id)" },
    ...globalFlags,
  ],
  async run(ctx) {
    const { args } = ctx;
    const name = nameArg(args, 'token');
    const ttlText = one(args, 'ttl');
    if (ttlText === undefined) throw new UsageError('token needs --ttl (e.g. --ttl 1h)');
    const ttlSeconds = durationSeconds(ttlText, 'ttl');
    if (ttlSeconds === 0) throw new UsageError('--ttl must be more than 0s');
    const origins = originsOf(all(args, 'origin'));
    const viewerId = one(args, 'viewer');
    if (viewerId !== undefined && viewerId.length > playbackViewerIdMaxLength) {
      throw new UsageError(`--viewer must have at most ${playbackViewerIdMaxLength} characters`);
    }
    const cluster = ctx.cluster();
    const ls = await getLiveStream(cluster, name);
    const visibility = ls.spec.audience?.visibility ?? 'public';
    if (visibility !== 'private')
      ctx.note(`note: livestream ${name} is ${visibility}; only private channels check tokens`);
    const ref = await resolveKeysSecret(cluster, one(args, 'keys-secret'), ctx.env);
    const key = pickKey(await readKeysSecret(cluster, ref), one(args, 'kid'));
    const now = Date.now();
    const token = await mintPlaybackToken({
      privateKeyPem: key.pem,
      kid: key.kid,
      namespace: cluster.namespace,
      name,
      ttlSeconds,
      ...(viewerId !== undefined && { viewerId }),
      ...(origins !== undefined && { origins }),
      now,
    }).catch((err: unknown) => {
      throw new CommandError(`cannot sign with key ${key.kid}: ${err instanceof Error ? err.message : String(err)}`);
    });
    const printed = args.switches.has('url') ? tokenUrl(ls, token) : token;
    const expiresAt = new Date((Math.floor(now / 1000) + ttlSeconds) * 1000).toISOString();
    const doc = {
      namespace: cluster.namespace,
      name,
      kid: key.kid,
      expiresAt,
      ...(args.switches.has('url') ? { url: printed } : { token }),
    };
    ctx.out(serialized(doc, ctx.output) ?? `${printed}\n`);
  },
};
