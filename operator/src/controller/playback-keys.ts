// The gateway's playback token signing keys: a Secret the gateway mounts (LSO_GATEWAY_PLAYBACK_KEYS_DIR), one data
// key per signing key, `<kid>.key` = a PKCS#8 PEM ES256 (P-256) private key; the gateway loads every one of them.
// The operator makes the Secret once, with one key, when it is absent (the chart names it in
// LSO_GATEWAY_PLAYBACK_KEYS_SECRET); it never rewrites it: the keys are the platform's, and a user who names their
// own Secret (chart value gateway.playbackKeys.secretName) gets nothing made.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { describeApiError, isConflict, isNotFound } from '../k8s/client.ts';

export const playbackKeysSecretEnv = 'LSO_GATEWAY_PLAYBACK_KEYS_SECRET';
export const playbackKeyFileSuffix = '.key';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The Secret to make, from the environment; undefined when the operator makes none. Throws on a malformed name. */
export function playbackKeysSecretOf(env: NodeJS.ProcessEnv): string | undefined {
  const name = env[playbackKeysSecretEnv] || undefined;
  if (name !== undefined && (name.length > 253 || !dnsSubdomain.test(name))) {
    throw new Error(`${playbackKeysSecretEnv} must be a Secret name`);
  }
  return name;
}

/** A key id: `k-<yyyymmdd>-<6 hex>`, the day it was made (UTC) and a random part against same-day collisions. */
export function playbackKeyId(nowMs: number, random: Buffer = randomBytes(3)): string {
  const day = new Date(nowMs).toISOString().slice(0, 10).replaceAll('-', '');
  return `k-${day}-${random.toString('hex').slice(0, 6)}`;
}

/** A new ES256 signing key: its id and its private key as PKCS#8 PEM. */
export function newPlaybackKey(nowMs: number): { kid: string; pem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid: playbackKeyId(nowMs), pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

const labels = { 'app.kubernetes.io/part-of': 'livestream-operator', 'app.kubernetes.io/component': 'gateway' };

/** Makes the Secret with one key when absent; `kept` when it exists (whatever it holds) or another replica made it. */
export async function ensurePlaybackKeys(
  core: Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret'>,
  secret: { namespace: string; name: string },
  logger: Logger,
  nowMs: number = Date.now(),
): Promise<'made' | 'kept'> {
  const { namespace, name } = secret;
  try {
    await core.readNamespacedSecret({ name, namespace });
    return 'kept';
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const { kid, pem } = newPlaybackKey(nowMs);
  const body: V1Secret = {
    metadata: { name, namespace, labels },
    type: 'Opaque',
    data: { [`${kid}${playbackKeyFileSuffix}`]: Buffer.from(pem, 'utf8').toString('base64') },
  };
  try {
    await core.createNamespacedSecret({ namespace, body });
  } catch (err) {
    if (isConflict(err)) return 'kept';
    throw err;
  }
  logger.info({ secret: name, kid }, 'playback signing key made');
  return 'made';
}

/**
 * ensurePlaybackKeys until it succeeds, with backoff, while `active()` (the leader's term) lasts; not awaited by the
 * start, so an API server hiccup delays the gateway's tokens, not the channels.
 */
export async function makePlaybackKeys(deps: {
  core: Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret'>;
  secret: { namespace: string; name: string };
  logger: Logger;
  active: () => boolean;
  sleep?: (ms: number) => Promise<void>;
}): Promise<void> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  for (let attempt = 1; deps.active(); attempt++) {
    try {
      await ensurePlaybackKeys(deps.core, deps.secret, deps.logger);
      return;
    } catch (err) {
      const delay = backoffDelay(attempt, { baseMs: 1_000, maxMs: 60_000, jitter: 0.2 });
      deps.logger.warn({ err: describeApiError(err), retryInMs: delay }, 'playback keys Secret not made');
      await sleep(delay);
    }
  }
}
