// "<name>-redis": a copy of the operator's Redis URL in the LiveStream's namespace, because a pod's env can only
// reference a Secret of its own namespace. The caller passes the URL it read from the operator's own Secret.
import type { V1Secret } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames } from './metadata.ts';

export const redisSecretKey = 'url';

/** Where the pods read the Redis URL from: the Secret buildRedisSecret makes. */
export function redisSecretRef(ls: LiveStream): NonNullable<BuildContext['redis']> {
  return { secretName: childNames(ls).redisSecret, key: redisSecretKey };
}

export function buildRedisSecret(
  ls: LiveStream,
  ctx: Pick<BuildContext, 'extraLabels'> & { redisUrl: string },
): V1Secret {
  if (!/^rediss?:\/\//.test(ctx.redisUrl)) throw new Error('the Redis URL must start with redis:// or rediss://');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(ls, childNames(ls).redisSecret, ctx),
    type: 'Opaque',
    data: { [redisSecretKey]: Buffer.from(ctx.redisUrl, 'utf8').toString('base64') },
  };
}
