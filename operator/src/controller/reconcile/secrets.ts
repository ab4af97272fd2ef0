// The Secrets a spec references (stream key, relay keys, S3 credentials): which are missing, each named without
// its contents and kept apart by what it blocks, the relay keys the operator copies for the relay container, and the
// digest of the user's stream key (the key itself goes no further than this file).
// A user's Secret is watched by metadata only (watches.ts: the cache holds names and resourceVersions, never data):
// reads are cached per LiveStream and repeated when a read Secret's resourceVersion in that cache differs from the
// one read (it changed, appeared or went away), after a spec change, or after `maxAgeMs` as a safety net.
import type { CoreV1Api, KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { streamKeySecretKey, streamKeySecretName, type LiveStream } from '../../../../contract/src/api/index.ts';
import { keyDigest } from '../../../../contract/src/ingest-keys.ts';
import { isNotFound } from '../../k8s/client.ts';
import type { MissingSecrets } from '../status/index.ts';
import { proceed, requeueAfter, type ReconcileState, type Step } from './step.ts';

/** Resource name of the metadata-only informer of every Secret in the watched namespaces (watches.ts). */
export const secretMetadataResource = 'secrets-metadata';

export interface ReferencedSecrets {
  missing: MissingSecrets;
  relayKeys: Record<string, string>;
  /** With spec.streamKey.secretRef: the digest of the user's key (undefined: the Secret or its key is missing). */
  streamKey?: { digest: string | undefined };
  /** resourceVersion of each Secret read, null for one that was missing. */
  versions: Record<string, string | null>;
}

type ReadSecret = ((name: string) => Promise<V1Secret | undefined>) & { versions: Record<string, string | null> };

/** Reads each named Secret of `namespace` at most once; a missing one reads as undefined. */
function secretReader(core: Pick<CoreV1Api, 'readNamespacedSecret'>, namespace: string): ReadSecret {
  const seen = new Map<string, Promise<V1Secret | undefined>>();
  const versions: Record<string, string | null> = {};
  const read = (name: string) => {
    let secret = seen.get(name);
    if (!secret) {
      secret = core.readNamespacedSecret({ name, namespace }).then(
        (s) => {
          versions[name] = s.metadata?.resourceVersion ?? '';
          return s;
        },
        (err: unknown) => {
          if (!isNotFound(err)) throw err;
          versions[name] = null;
          return undefined;
        },
      );
      seen.set(name, secret);
    }
    return secret;
  };
  return Object.assign(read, { versions });
}

/** The value of `key` in a Secret (data or stringData), decoded. */
export const secretValue = (secret: V1Secret | undefined, key: string): string | undefined => {
  const b64 = secret?.data?.[key];
  return b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : secret?.stringData?.[key];
};

/** "Secret x", or "key k of Secret x" when it lacks keys; undefined when all are there. */
async function describeMissing(read: ReadSecret, name: string, keys: readonly string[]): Promise<string | undefined> {
  const secret = await read(name);
  if (!secret) return `Secret ${name}`;
  const absent = keys.filter((k) => !secretValue(secret, k));
  return absent.length > 0 ? `key ${absent.join(', ')} of Secret ${name}` : undefined;
}

export async function readReferencedSecrets(
  core: Pick<CoreV1Api, 'readNamespacedSecret'>,
  ls: LiveStream,
): Promise<ReferencedSecrets> {
  const read = secretReader(core, ls.metadata.namespace ?? '');
  const relaysMissing: Record<string, string> = {};
  const missing: MissingSecrets = { relays: relaysMissing };
  const streamKeyRef = ls.spec.streamKey?.secretRef;
  let streamKey: ReferencedSecrets['streamKey'];
  if (streamKeyRef) {
    const m = await describeMissing(read, streamKeyRef.name, [streamKeySecretKey(ls)]);
    if (m) missing.streamKey = m;
    const value = secretValue(await read(streamKeyRef.name), streamKeySecretKey(ls));
    streamKey = { digest: value === undefined ? undefined : keyDigest(value) };
  }
  const relayKeys: Record<string, string> = {};
  for (const relay of ls.spec.relays ?? []) {
    if (!relay.keySecretRef) continue;
    const key = relay.keySecretRef.key ?? 'streamKey';
    const m = relay.enabled !== false ? await describeMissing(read, relay.keySecretRef.name, [key]) : undefined;
    if (m) relaysMissing[relay.name] = m;
    const v = secretValue(await read(relay.keySecretRef.name), key);
    if (v) relayKeys[relay.name] = v;
  }
  const s3 = ls.spec.recording?.enabled ? ls.spec.recording.s3?.credentialsSecretRef : undefined;
  if (s3) {
    const keys = [s3.accessKeyIdKey ?? 'accessKeyId', s3.secretAccessKeyKey ?? 'secretAccessKey'];
    const m = await describeMissing(read, s3.name, keys);
    if (m) missing.s3Credentials = m;
  }
  return { missing, relayKeys, ...(streamKey ? { streamKey } : {}), versions: read.versions };
}

/** Every Secret the spec names (stream key, relay keys, S3 credentials): a change to one is a reason to reconcile. */
export function referencedSecretNames(ls: LiveStream): string[] {
  const names = new Set<string>([streamKeySecretName(ls)]);
  for (const relay of ls.spec.relays ?? []) if (relay.keySecretRef) names.add(relay.keySecretRef.name);
  const s3 = ls.spec.recording?.s3?.credentialsSecretRef;
  if (s3) names.add(s3.name);
  return [...names];
}

export const anyMissing = (m: MissingSecrets): boolean =>
  m.streamKey !== undefined || m.s3Credentials !== undefined || Object.keys(m.relays).length > 0;

/** A Secret's metadata (no data) from the informer cache, undefined when it does not exist. */
export type SecretMetadata = (namespace: string, name: string) => KubernetesObject | undefined;

/** Referenced Secrets as last read, per LiveStream: reports trigger a reconcile every few seconds per live stream,
 * and re-reading the user's Secrets each time would put that load on the API server for nothing. */
export class SecretReads {
  private readonly last = new Map<string, { generation: number | undefined; at: number; result: ReferencedSecrets }>();
  private readonly core: Pick<CoreV1Api, 'readNamespacedSecret'>;
  private readonly metadata: SecretMetadata | undefined;
  readonly maxAgeMs: number;

  constructor(core: Pick<CoreV1Api, 'readNamespacedSecret'>, maxAgeMs: number, metadata?: SecretMetadata) {
    this.core = core;
    this.maxAgeMs = maxAgeMs;
    this.metadata = metadata;
  }

  async get(key: string, ls: LiveStream, nowMs: number): Promise<ReferencedSecrets> {
    const last = this.last.get(key);
    const fresh =
      last &&
      last.generation === ls.metadata.generation &&
      nowMs - last.at < this.maxAgeMs &&
      !this.changedSince(ls.metadata.namespace ?? '', last.result.versions);
    if (last && fresh) return last.result;
    const result = await readReferencedSecrets(this.core, ls);
    this.last.set(key, { generation: ls.metadata.generation, at: nowMs, result });
    return result;
  }

  forget(key: string): void {
    this.last.delete(key);
  }

  /** A Secret read changed, appeared or went away since (by the metadata cache; without one, nothing is known). */
  private changedSince(namespace: string, versions: Readonly<Record<string, string | null>>): boolean {
    const metadata = this.metadata;
    if (!metadata) return false;
    return Object.entries(versions).some(
      ([name, version]) => (metadata(namespace, name)?.metadata?.resourceVersion ?? null) !== version,
    );
  }

  /** The step: fills in what is missing and the relay keys; waits (requeue) while something is missing. */
  step(): Step {
    return {
      name: 'referenced-secrets',
      run: async (state: ReconcileState) => {
        const { missing, relayKeys, streamKey } = await this.get(state.key, state.ls, state.nowMs);
        state.missing = missing;
        state.relayKeys = relayKeys;
        if (streamKey) state.streamKey = streamKey;
        // Just past the cache's age limit, so the recheck reads the Secrets again.
        return anyMissing(missing) ? requeueAfter(this.maxAgeMs + 100) : proceed;
      },
    };
  }
}
