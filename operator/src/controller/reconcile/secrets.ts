// The Secrets a spec references (stream key, relay keys, S3 credentials): which are missing, each named without
// its contents and kept apart by what it blocks, and the relay keys the operator copies for the relay container.
// A user's Secret is not watched (that would cache every Secret of the cluster): reads are cached per LiveStream
// and repeated after a spec change or `maxAgeMs`, and a missing one is looked for again just after that age.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { streamKeySecretKey, type LiveStream } from '../../../../contract/src/api/index.ts';
import { isNotFound } from '../../k8s/client.ts';
import type { MissingSecrets } from '../status/index.ts';
import { proceed, requeueAfter, type ReconcileState, type Step } from './step.ts';

export interface ReferencedSecrets {
  missing: MissingSecrets;
  relayKeys: Record<string, string>;
}

type ReadSecret = (name: string) => Promise<V1Secret | undefined>;

/** Reads each named Secret of `namespace` at most once; a missing one reads as undefined. */
function secretReader(core: Pick<CoreV1Api, 'readNamespacedSecret'>, namespace: string): ReadSecret {
  const seen = new Map<string, Promise<V1Secret | undefined>>();
  return (name) => {
    let read = seen.get(name);
    if (!read) {
      read = core.readNamespacedSecret({ name, namespace }).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      seen.set(name, read);
    }
    return read;
  };
}

const valueOf = (secret: V1Secret | undefined, key: string): string | undefined => {
  const b64 = secret?.data?.[key];
  return b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : secret?.stringData?.[key];
};

/** "Secret x", or "key k of Secret x" when it lacks keys; undefined when all are there. */
async function describeMissing(read: ReadSecret, name: string, keys: readonly string[]): Promise<string | undefined> {
  const secret = await read(name);
  if (!secret) return `Secret ${name}`;
  const absent = keys.filter((k) => !valueOf(secret, k));
  return absent.length > 0 ? `key ${absent.join(', ')} of Secret ${name}` : undefined;
}

export async function readReferencedSecrets(
  core: Pick<CoreV1Api, 'readNamespacedSecret'>,
  ls: LiveStream,
): Promise<ReferencedSecrets> {
  const read = secretReader(core, ls.metadata.namespace ?? '');
  const relaysMissing: Record<string, string> = {};
  const missing: MissingSecrets = { relays: relaysMissing };
  if (ls.spec.streamKey) {
    const m = await describeMissing(read, ls.spec.streamKey.secretRef.name, [streamKeySecretKey(ls)]);
    if (m) missing.streamKey = m;
  }
  const relayKeys: Record<string, string> = {};
  for (const relay of ls.spec.relays ?? []) {
    if (!relay.keySecretRef) continue;
    const key = relay.keySecretRef.key ?? 'streamKey';
    const m = relay.enabled !== false ? await describeMissing(read, relay.keySecretRef.name, [key]) : undefined;
    if (m) relaysMissing[relay.name] = m;
    const v = valueOf(await read(relay.keySecretRef.name), key);
    if (v) relayKeys[relay.name] = v;
  }
  const s3 = ls.spec.recording?.enabled ? ls.spec.recording.s3?.credentialsSecretRef : undefined;
  if (s3) {
    const keys = [s3.accessKeyIdKey ?? 'accessKeyId', s3.secretAccessKeyKey ?? 'secretAccessKey'];
    const m = await describeMissing(read, s3.name, keys);
    if (m) missing.s3Credentials = m;
  }
  return { missing, relayKeys };
}

export const anyMissing = (m: MissingSecrets): boolean =>
  m.streamKey !== undefined || m.s3Credentials !== undefined || Object.keys(m.relays).length > 0;

/** Referenced Secrets as last read, per LiveStream: reports trigger a reconcile every few seconds per live stream,
 * and re-reading the user's Secrets each time would put that load on the API server for nothing. */
export class SecretReads {
  private readonly last = new Map<string, { generation: number | undefined; at: number; result: ReferencedSecrets }>();
  private readonly core: Pick<CoreV1Api, 'readNamespacedSecret'>;
  readonly maxAgeMs: number;

  constructor(core: Pick<CoreV1Api, 'readNamespacedSecret'>, maxAgeMs: number) {
    this.core = core;
    this.maxAgeMs = maxAgeMs;
  }

  async get(key: string, ls: LiveStream, nowMs: number): Promise<ReferencedSecrets> {
    const last = this.last.get(key);
    if (last && last.generation === ls.metadata.generation && nowMs - last.at < this.maxAgeMs) return last.result;
    const result = await readReferencedSecrets(this.core, ls);
    this.last.set(key, { generation: ls.metadata.generation, at: nowMs, result });
    return result;
  }

  forget(key: string): void {
    this.last.delete(key);
  }

  /** The step: fills in what is missing and the relay keys; waits (requeue) while something is missing. */
  step(): Step {
    return {
      name: 'referenced-secrets',
      run: async (state: ReconcileState) => {
        const { missing, relayKeys } = await this.get(state.key, state.ls, state.nowMs);
        state.missing = missing;
        state.relayKeys = relayKeys;
        // Just past the cache's age limit, so the recheck reads the Secrets again.
        return anyMissing(missing) ? requeueAfter(this.maxAgeMs + 100) : proceed;
      },
    };
  }
}
