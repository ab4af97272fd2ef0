// The ingest keys step: rolls the channel's key set (contract/src/ingest-keys.ts) from the current stream key's digest,
// applies it as "<name>-ingest-keys", announces a rotation (StreamKeyRotated, until when the old key works; never a
// key or a digest), and makes the running pod see it at once: it patches an annotation with the set's hash onto the
// channel's pods (not the Deployment's template, which would roll the pod), since a pod update makes the kubelet sync
// the pod and refresh its Secret volumes instead of waiting for its periodic sync (ADR 0012). Then it asks to be run
// again when the next superseded key expires, so the set is pruned and status.ingest.previousKeyExpiresAt goes away.
//
// The set last applied is remembered per LiveStream: the informer cache lags behind our own apply, and a roll from a
// stale set would supersede the old key a second time with a later expiry. A new leader starts from the cache (synced
// before any reconcile), and marks pods only for a set it changes itself.
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { EventReason, rotationGraceMs, streamKeySecretName } from '../../../../contract/src/api/index.ts';
import {
  keySetHash,
  nextExpiryMs,
  previousKeyExpiry,
  rollKeySet,
  currentDigest,
  type IngestKeySet,
} from '../../../../contract/src/ingest-keys.ts';
import type { Logger } from '../../../../contract/src/logger.ts';
import { ingestKeysHashAnnotation } from '../../../../contract/src/pod-contract.ts';
import { describeApiError, type KubeClient } from '../../k8s/client.ts';
import { needsApply, withDesiredHash } from '../../k8s/semantic.ts';
import type { EventRecorder } from '../../telemetry/events.ts';
import { buildIngestKeysSecret, ingestKeysSecretName, keySetOf, selectorLabels } from '../desired/index.ts';
import { childResources, type ChildCache } from './children.ts';
import { proceed, requeueAfter, type ReconcileState, type Step, type StepResult } from './step.ts';

export interface IngestKeysDeps {
  client: Pick<KubeClient, 'apply'>;
  core: Pick<CoreV1Api, 'listNamespacedPod' | 'patchNamespacedPod'>;
  cache: ChildCache;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
}

/** What a rotation's Event says: until when the old key works, or that it no longer does. */
export function rotationMessage(secret: string, set: IngestKeySet, nowMs: number): string {
  const until = previousKeyExpiry(set, nowMs);
  const old = until ? `the previous key is accepted until ${until}` : 'the previous key is no longer accepted';
  return currentDigest(set) === undefined
    ? `Secret ${secret} no longer holds a stream key: ${old}, then no publish is`
    : `the stream key in Secret ${secret} changed: the new key is accepted now, ${old}`;
}

/**
 * Sets `annotation` to `value` on the pods `labelSelector` selects (merge patch; pods that have it or are going
 * away are skipped). A pod update makes the kubelet sync the pod and refresh its Secret volumes at once (ADR 0012);
 * used for the transcoder pods' key set and the gateway pods' route table. The pods are listed from the API server's
 * watch cache (resourceVersion 0) instead of a quorum read from etcd: every new channel lists once, which at fleet
 * size is thousands of reads of a namespace's pods. A pod too new to be in that cache was created after the Secret it
 * mounts was written, or within milliseconds of it; the kubelet's periodic sync covers that one.
 */
export async function markPods(
  core: Pick<CoreV1Api, 'listNamespacedPod' | 'patchNamespacedPod'>,
  namespace: string,
  labelSelector: string,
  annotation: string,
  value: string,
): Promise<void> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector, resourceVersion: '0' });
  for (const pod of pods.items) {
    const name = pod.metadata?.name;
    if (!name || pod.metadata?.deletionTimestamp || pod.metadata?.annotations?.[annotation] === value) continue;
    await core.patchNamespacedPod(
      { name, namespace, body: { metadata: { annotations: { [annotation]: value } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

export class IngestKeys {
  private readonly deps: IngestKeysDeps;
  private readonly written = new Map<string, IngestKeySet>();
  /** The set's hash last patched onto the channel's pods. */
  private readonly propagated = new Map<string, string>();

  constructor(deps: IngestKeysDeps) {
    this.deps = deps;
  }

  forget(key: string): void {
    this.written.delete(key);
    this.propagated.delete(key);
  }

  step(): Step {
    return { name: 'ingest-keys', applies: true, run: (state) => this.run(state) };
  }

  private async run(state: ReconcileState): Promise<StepResult> {
    const { key, ls, nowMs, build } = state;
    const namespace = ls.metadata.namespace ?? '';
    const observed = this.deps.cache.child<V1Secret>(childResources.secrets, namespace, ingestKeysSecretName(ls));
    const previous = this.written.get(key) ?? keySetOf(observed);
    // Unknown in this reconcile (absent): keep the current key, and only prune.
    const digest = state.streamKey ? state.streamKey.digest : currentDigest(previous);
    const { set, rotated } = rollKeySet(previous, digest, nowMs, rotationGraceMs(ls));
    const desired = withDesiredHash(buildIngestKeysSecret(ls, { ...build, keySet: set }));
    const changed = needsApply(desired, observed);
    if (changed) {
      try {
        await this.deps.client.apply(desired);
      } catch (err) {
        throw new Error(`Secret ${ingestKeysSecretName(ls)}: ${describeApiError(err)}`, { cause: err });
      }
    }
    this.written.set(key, set);
    state.ingestKeys = set;
    if (rotated) {
      const type = digest === undefined ? 'Warning' : 'Normal';
      this.deps.events.record(
        ls,
        type,
        EventReason.StreamKeyRotated,
        rotationMessage(streamKeySecretName(ls), set, nowMs),
      );
      this.deps.logger.info(
        { livestream: key, previousKeyExpiresAt: previousKeyExpiry(set, nowMs) },
        'stream key rotated',
      );
    }
    // A set this process neither made nor changed (a new leader's first look at the channel) is what the pods mounted,
    // or what the kubelet's sync brings them: marking them would cost a LIST and a PATCH per channel at every
    // hand-over (5,000 of each at fleet size, before the new leader gets to anything else).
    if (!changed && !this.propagated.has(key)) this.propagated.set(key, keySetHash(set));
    await this.propagate(state, set);
    const expiry = nextExpiryMs(set, nowMs);
    return expiry === undefined ? proceed : requeueAfter(expiry - nowMs + 100);
  }

  /** The set's hash onto the running pods, once per change; the kubelet's periodic sync is the fallback. */
  private async propagate(state: ReconcileState, set: IngestKeySet): Promise<void> {
    const hash = keySetHash(set);
    if (this.propagated.get(state.key) === hash) return;
    const namespace = state.ls.metadata.namespace ?? '';
    const labelSelector = Object.entries(selectorLabels(state.ls))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    try {
      await markPods(this.deps.core, namespace, labelSelector, ingestKeysHashAnnotation, hash);
    } catch (err) {
      // Not retried: the kubelet refreshes the Secret volume on its own sync (about a minute) anyway.
      this.deps.logger.warn(
        { livestream: state.key, err: describeApiError(err) },
        'could not mark the transcoder pods for a prompt key reload',
      );
    }
    this.propagated.set(state.key, hash);
  }
}
