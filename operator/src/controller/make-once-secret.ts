// A Secret made once by the operator and never written again (the gateway's routing secret and admin token): read
// it, or create it with a fresh value when absent; a create that loses a race to another replica reads the winner's.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { Logger } from '../../../contract/src/logger.ts';
import { isConflict, isNotFound } from '../k8s/client.ts';

/**
 * The value under `key` of the Secret `name`, made once (`make()`) when the Secret is absent: a create that loses a
 * race reads the winner's. Never updated: what it holds (an HMAC key, a token) must outlive every reader's copy.
 */
export async function readOrMakeSecretValue(
  core: Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret'>,
  secret: { namespace: string; name: string; key: string; labels: Record<string, string>; make: () => string },
  logger: Logger,
): Promise<string> {
  const { namespace, name, key, labels } = secret;
  const read = () => core.readNamespacedSecret({ name, namespace });
  let found: V1Secret;
  try {
    found = await read();
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const body: V1Secret = {
      metadata: { name, namespace, labels },
      type: 'Opaque',
      data: { [key]: Buffer.from(secret.make(), 'utf8').toString('base64') },
    };
    try {
      found = await core.createNamespacedSecret({ namespace, body });
      logger.info({ secret: name }, 'secret made');
    } catch (createErr) {
      if (!isConflict(createErr)) throw createErr;
      found = await read();
    }
  }
  return Buffer.from(found.data?.[key] ?? '', 'base64').toString('utf8');
}
