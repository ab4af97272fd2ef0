// "<name>-relay-keys": the operator's copy of each relay's key (read from the Secret the relay names), one data key
// per relay name. The relay container mounts it whole, so relays come and go without touching the pod template.
import type { V1Secret } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames } from './metadata.ts';

export function buildRelayKeysSecret(
  ls: LiveStream,
  ctx: Pick<BuildContext, 'extraLabels'> & { keys: Readonly<Record<string, string>> },
): V1Secret {
  const data: Record<string, string> = {};
  for (const [relay, key] of Object.entries(ctx.keys).sort(([a], [b]) => a.localeCompare(b))) {
    data[relay] = Buffer.from(key, 'utf8').toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(ls, childNames(ls).relayKeysSecret, ctx),
    type: 'Opaque',
    data,
  };
}
