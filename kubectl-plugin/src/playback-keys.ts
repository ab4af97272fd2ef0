// The gateway's playback token signing keys (operator/src/controller/playback-keys.ts): a Secret of `<kid>.key`
// PKCS#8 PEM P-256 keys in the operator's namespace, named by the chart (gateway.playbackKeys.secretName, else
// "<fullname>-playback-keys"). Found from --keys-secret, $KUBECTL_LIVESTREAM_KEYS_SECRET, or the gateway Deployment's
// `playback-keys` volume, else the Secret the operator labels as the gateway's.
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import { playbackKidPattern } from '../../contract/src/playback-token.ts';
import { UsageError } from './args.ts';
import { CommandError, apiErrorMessage, type Cluster } from './kube.ts';

export const keysSecretEnv = 'KUBECTL_LIVESTREAM_KEYS_SECRET';
const keySuffix = '.key';
const gatewaySelector = 'app.kubernetes.io/component=gateway';
const operatorMadeSelector = 'app.kubernetes.io/part-of=livestream-operator,app.kubernetes.io/component=gateway';

export interface SecretRef {
  namespace: string;
  name: string;
}

export function parseSecretRef(text: string, flag: string): SecretRef {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(text);
  if (!m) throw new UsageError(`${flag} must be NAMESPACE/NAME (got ${JSON.stringify(text)})`);
  return { namespace: m[1]!, name: m[3]! };
}

/** The Secrets the gateway Deployments mount as `playback-keys`. */
export function mountedKeySecrets(deployments: readonly V1Deployment[]): SecretRef[] {
  return deployments.flatMap((d) => {
    const volume = d.spec?.template.spec?.volumes?.find((v) => v.name === 'playback-keys');
    const name = volume?.secret?.secretName;
    return name && d.metadata?.namespace ? [{ namespace: d.metadata.namespace, name }] : [];
  });
}

/** The signing key to use: --kid, else the greatest kid (the operator's `k-<yyyymmdd>-…` sort by day). */
export function pickKey(secret: V1Secret, kid: string | undefined): { kid: string; pem: string } {
  const keys = Object.keys(secret.data ?? {})
    .filter((k) => k.endsWith(keySuffix) && playbackKidPattern.test(k.slice(0, -keySuffix.length)))
    .map((k) => k.slice(0, -keySuffix.length))
    .sort();
  const where = `Secret ${secret.metadata?.namespace}/${secret.metadata?.name}`;
  if (keys.length === 0) throw new CommandError(`${where} holds no <kid>.key signing key`);
  const chosen = kid ?? keys[keys.length - 1]!;
  if (!keys.includes(chosen)) throw new CommandError(`${where} has no key ${chosen} (it has ${keys.join(', ')})`);
  return { kid: chosen, pem: Buffer.from(secret.data![`${chosen}${keySuffix}`]!, 'base64').toString('utf8') };
}

const one = (found: SecretRef[], what: string): SecretRef | undefined => {
  const unique = [...new Map(found.map((r) => [`${r.namespace}/${r.name}`, r])).values()];
  if (unique.length > 1) {
    const names = unique.map((r) => `${r.namespace}/${r.name}`).join(', ');
    throw new CommandError(`several ${what} (${names}): choose one with --keys-secret NAMESPACE/NAME`);
  }
  return unique[0];
};

async function discover(cluster: Cluster): Promise<SecretRef> {
  const reasons: string[] = [];
  try {
    const list = await cluster.apps().listDeploymentForAllNamespaces({ labelSelector: gatewaySelector });
    const found = one(mountedKeySecrets(list.items), 'gateways mount playback keys');
    if (found) return found;
  } catch (err) {
    if (err instanceof CommandError) throw err;
    reasons.push(`gateway Deployments: ${apiErrorMessage(err)}`);
  }
  try {
    const list = await cluster.core().listSecretForAllNamespaces({ labelSelector: operatorMadeSelector });
    const refs = list.items
      .filter((s) => s.metadata?.name?.endsWith('-playback-keys'))
      .map((s) => ({ namespace: s.metadata!.namespace!, name: s.metadata!.name! }));
    const found = one(refs, 'playback keys Secrets');
    if (found) return found;
  } catch (err) {
    if (err instanceof CommandError) throw err;
    reasons.push(`Secrets: ${apiErrorMessage(err)}`);
  }
  const why = reasons.length > 0 ? ` (${reasons.join('; ')})` : '';
  throw new CommandError(
    `the playback keys Secret was not found${why}: pass --keys-secret NAMESPACE/NAME or set ${keysSecretEnv} ` +
      '(the chart\'s gateway.playbackKeys.secretName, else "<release fullname>-playback-keys" in its namespace)',
  );
}

export async function resolveKeysSecret(
  cluster: Cluster,
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<SecretRef> {
  if (flag !== undefined) return parseSecretRef(flag, '--keys-secret');
  const fromEnv = env[keysSecretEnv] || undefined;
  if (fromEnv !== undefined) return parseSecretRef(fromEnv, keysSecretEnv);
  return discover(cluster);
}

export async function readKeysSecret(cluster: Cluster, ref: SecretRef): Promise<V1Secret> {
  try {
    return await cluster.core().readNamespacedSecret(ref);
  } catch (err) {
    throw new CommandError(
      `cannot read the playback keys Secret ${ref.namespace}/${ref.name}: ${apiErrorMessage(err)}`,
    );
  }
}
