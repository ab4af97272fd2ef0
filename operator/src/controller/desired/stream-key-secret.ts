// The generated stream key Secret "<name>-stream-key", created only when spec.streamKey.secretRef is absent. The
// caller passes the key: a fresh random one when the Secret does not exist; a reconcile never rewrites it (the user
// rotates it by editing or deleting it).
import type { V1Secret } from '@kubernetes/client-node';
import { streamKeySecretKey, type LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames } from './metadata.ts';

/** A stream key fit for an RTMP stream name ([a-zA-Z0-9_-]+) that is hard to guess. */
export const streamKeyPattern = /^[A-Za-z0-9_-]{16,128}$/;

export function buildStreamKeySecret(
  ls: LiveStream,
  ctx: Pick<BuildContext, 'extraLabels'> & { streamKey: string },
): V1Secret {
  if (ls.spec.streamKey?.secretRef) {
    throw new Error(
      'spec.streamKey.secretRef names a Secret of the user; the operator generates one only when it is absent',
    );
  }
  if (!streamKeyPattern.test(ctx.streamKey)) {
    // The value itself is never put in the message.
    throw new Error('a stream key must be 16..128 characters of [A-Za-z0-9_-]');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(ls, childNames(ls).generatedStreamKeySecret, ctx),
    type: 'Opaque',
    data: { [streamKeySecretKey(ls)]: Buffer.from(ctx.streamKey, 'utf8').toString('base64') },
  };
}
