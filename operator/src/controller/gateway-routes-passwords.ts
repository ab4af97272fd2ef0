// The password hashes of the route table's password channels (gateway-routes.ts), read from the Secret each channel
// names (spec.audience.password) in its own namespace. scrypt costs tens of milliseconds, so a hash is kept per
// channel and password digest: a rebuild hashes only a password that changed. A Secret is read again only when its
// resourceVersion in the metadata-only Secret cache (watches.ts) differs from the one read, as SecretReads does for
// the other referenced Secrets; without that cache, at every rebuild.
import { createHash } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { hashViewerPassword, viewerPasswordMaxLength } from '../../../contract/src/viewer-password.ts';
import { isNotFound } from '../k8s/client.ts';
import { viewerPasswordSalt, type RoutedChannel } from './gateway-routes.ts';
import { secretValue } from './reconcile/secrets.ts';

/** A Secret's resourceVersion in the metadata cache: null when the cache has no such Secret, undefined: no cache. */
export type SecretVersion = (namespace: string, name: string) => string | null | undefined;

/** A password channel whose password cannot be read: what to tell its owner (never the password). */
export interface PasswordProblem {
  ls: LiveStream;
  message: string;
}

interface Held {
  /** "secretName/key" the value was read from. */
  ref: string;
  /** The Secret's resourceVersion when read; null: it was missing. */
  version: string | null;
  /** SHA-256 of the password (hex), and its hash; undefined: missing or unusable. */
  digest: string | undefined;
  hash: string | undefined;
  problem: string | undefined;
}

/** A Secret's value as a password: one trailing newline (a file made with echo) is not part of it. */
export function passwordOf(value: string | undefined): string | undefined {
  const password = value?.replace(/\r?\n$/, '');
  return password && password.length <= viewerPasswordMaxLength ? password : undefined;
}

const hashConcurrency = 4;

export class ViewerPasswords {
  private readonly held = new Map<string, Held>();
  /** scrypt runs (for tests and the log). */
  hashes = 0;

  private readonly core: Pick<CoreV1Api, 'readNamespacedSecret'>;
  private readonly secretVersion: SecretVersion;

  constructor(core: Pick<CoreV1Api, 'readNamespacedSecret'>, secretVersion: SecretVersion = () => undefined) {
    this.core = core;
    this.secretVersion = secretVersion;
  }

  /**
   * The channels with the hash of each password channel's password filled in (absent where it cannot be read: the
   * builder then locks the channel), and the channels whose password is missing. Read errors other than a 404 throw
   * (the runner retries the whole publish), so a passing API hiccup never turns into a locked channel.
   */
  async resolve(
    channels: readonly RoutedChannel[],
    routingSecret: Buffer,
  ): Promise<{ channels: RoutedChannel[]; problems: PasswordProblem[] }> {
    const seen = new Set<string>();
    const out: RoutedChannel[] = [...channels];
    const problems: Array<PasswordProblem | undefined> = [];
    const tasks = channels.flatMap((c, i) => {
      const ref = c.ls.spec.audience?.visibility === 'password' ? c.ls.spec.audience.password : undefined;
      const { namespace = '', name = '' } = c.ls.metadata;
      if (!ref || c.ls.metadata.deletionTimestamp) return [];
      seen.add(`${namespace}/${name}`);
      return [
        async () => {
          const held = await this.passwordHash(`${namespace}/${name}`, namespace, name, ref, routingSecret);
          if (held.problem !== undefined) problems[i] = { ls: c.ls, message: held.problem };
          if (held.hash !== undefined) out[i] = { ...c, passwordHash: held.hash };
        },
      ];
    });
    // A few at a time: scrypt runs on libuv's pool (4 threads), so a first build after a leader change (nothing held
    // yet) takes about 60 ms per password channel divided by the cores, not that times the channels in sequence.
    for (let i = 0; i < tasks.length; i += hashConcurrency) {
      await Promise.all(tasks.slice(i, i + hashConcurrency).map((task) => task()));
    }
    for (const id of this.held.keys()) if (!seen.has(id)) this.held.delete(id);
    return { channels: out, problems: problems.filter((p) => p !== undefined) };
  }

  private async passwordHash(
    id: string,
    namespace: string,
    name: string,
    ref: { secretName: string; key?: string },
    routingSecret: Buffer,
  ): Promise<Held> {
    const key = ref.key ?? 'password';
    const at = `${ref.secretName}/${key}`;
    const before = this.held.get(id);
    const cached = this.secretVersion(namespace, ref.secretName);
    if (before && before.ref === at && cached !== undefined && cached === before.version) return before;
    const secret = cached === null ? undefined : await this.read(namespace, ref.secretName);
    const version = secret?.metadata?.resourceVersion ?? null;
    const password = passwordOf(secretValue(secret, key));
    let held: Held;
    if (password === undefined) {
      const what = secret ? `key ${key} of Secret ${ref.secretName}` : `Secret ${ref.secretName}`;
      const problem = `spec.audience.password: ${what} is missing or holds no usable password (1..${viewerPasswordMaxLength} characters): nobody can watch until it does`;
      held = { ref: at, version, digest: undefined, hash: undefined, problem };
    } else {
      const digest = createHash('sha256').update(password, 'utf8').digest('hex');
      const same = before?.digest === digest && before.hash !== undefined;
      const hash = same ? before.hash : await this.hash(password, routingSecret, namespace, name);
      held = { ref: at, version, digest, hash, problem: undefined };
    }
    this.held.set(id, held);
    return held;
  }

  private async hash(password: string, routingSecret: Buffer, namespace: string, name: string): Promise<string> {
    this.hashes++;
    return hashViewerPassword(password, viewerPasswordSalt(routingSecret, namespace, name));
  }

  private async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
