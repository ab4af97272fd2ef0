// "<name>-redis": the channel's own Redis credential in the LiveStream's namespace (a pod's env can only reference a
// Secret of its own namespace): the operator's URL (host, port, TLS, database) with the channel's ACL user
// (`ch:<namespace>:<name>`, contract/src/report-streams.ts) and its random password, never the operator's. The
// password is made once and read back from this Secret on every reconcile (reconcile/redis-credential.ts).
import type { V1Secret } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import { channelPassword, type Channel } from '../../../../contract/src/report-streams.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames, identity } from './metadata.ts';

export const redisSecretKey = 'url';

/** Where the pods read the Redis URL from: the Secret buildRedisSecret makes. */
export function redisSecretRef(ls: LiveStream): NonNullable<BuildContext['redis']> {
  return { secretName: childNames(ls).redisSecret, key: redisSecretKey };
}

/** The LiveStream's report channel (its stream and user). */
export function channelOf(ls: LiveStream): Channel {
  const { namespace, name } = identity(ls);
  return { namespace, name };
}

export function buildRedisSecret(
  ls: LiveStream,
  ctx: Pick<BuildContext, 'extraLabels'> & { redisUrl: string },
): V1Secret {
  if (!/^rediss?:\/\//.test(ctx.redisUrl)) throw new Error('the Redis URL must start with redis:// or rediss://');
  // Only ever the channel's own credential: a copy of the operator's would let the pods read and delete everything.
  if (channelPassword(ctx.redisUrl, channelOf(ls)) === undefined) {
    throw new Error("the Redis Secret's URL must carry the channel's own user and password");
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(ls, childNames(ls).redisSecret, ctx),
    type: 'Opaque',
    data: { [redisSecretKey]: Buffer.from(ctx.redisUrl, 'utf8').toString('base64') },
  };
}
