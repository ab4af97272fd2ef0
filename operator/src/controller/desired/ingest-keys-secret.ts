// "<name>-ingest-keys": the key set the channel's ingest accepts (contract/src/ingest-keys.ts), written by the
// operator from the user's (or the generated) stream key Secret and mounted by the transcoder in its place. It holds
// digests and expiry times only: the pod never sees a key in plaintext. Kept in a Secret all the same, because a
// digest of a weak, user-chosen key can be guessed offline.
import type { V1Secret } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import {
  ingestKeysFileName,
  parseKeySet,
  serializeKeySet,
  type IngestKeySet,
} from '../../../../contract/src/ingest-keys.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, identity } from './metadata.ts';

export function ingestKeysSecretName(ls: LiveStream): string {
  return `${identity(ls).name}-ingest-keys`;
}

export function buildIngestKeysSecret(
  ls: LiveStream,
  ctx: Pick<BuildContext, 'extraLabels'> & { keySet: IngestKeySet },
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(ls, ingestKeysSecretName(ls), ctx),
    type: 'Opaque',
    data: { [ingestKeysFileName]: Buffer.from(serializeKeySet(ctx.keySet), 'utf8').toString('base64') },
  };
}

/** The key set an observed "<name>-ingest-keys" holds; undefined when absent or not a key set. */
export function keySetOf(secret: V1Secret | undefined): IngestKeySet | undefined {
  const b64 = secret?.data?.[ingestKeysFileName];
  if (b64 === undefined) return undefined;
  try {
    return parseKeySet(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}
