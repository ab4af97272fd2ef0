// The LiveStream reconciler. Outer part: fetch from the cache, skip what is being deleted (owner references let the
// garbage collector remove the children). Inner part: short idempotent steps, each comparing what it wants with
// what the informers observed and writing only on a difference; then the status, written only when it changed.
import { randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  type KubernetesObject,
  type V1Deployment,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import {
  EventReason,
  group,
  kind,
  plural,
  streamKeySecretKey,
  version,
  type LiveStream,
  type LiveStreamStatus,
} from '../api/v1alpha1/index.ts';
import { describeApiError, isConflict, isNotFound, type KubeClient } from '../k8s/client.ts';
import { isSubset } from '../k8s/semantic.ts';
import type { ProcessResult } from '../runtime/work-queue.ts';
import type { EventRecorder } from '../telemetry/events.ts';
import type { Logger } from '../../../transcoder/src/telemetry/logger.ts';
import {
  buildConfigMap,
  buildDeployment,
  buildPodMonitor,
  buildRedisSecret,
  buildService,
  buildStreamKeySecret,
  childNames,
  redisSecretKey,
  type BuildContext,
} from './desired/index.ts';
import { computeStatus, type ChildrenObservation } from './status.ts';

/** Resource names of the child informers (see main.ts), used to read the observed children. */
export const childResources = {
  secrets: 'secrets',
  configMaps: 'configmaps',
  deployments: 'deployments',
  services: 'services',
  podMonitors: 'podmonitors',
} as const;

export interface ReconcilerDeps {
  client: KubeClient;
  cache: {
    liveStream(namespace: string, name: string): LiveStream | undefined;
    child<T extends KubernetesObject>(resource: string, namespace: string, name: string): T | undefined;
  };
  events: EventRecorder;
  logger: Logger;
  image: string;
  /** The operator's Redis URL, copied into each namespace; undefined runs without reports. */
  redisUrl: string | undefined;
  /** Whether the Prometheus Operator's PodMonitor kind is served (checked at start-up). */
  podMonitors: boolean;
  extraLabels?: Record<string, string>;
  /** Re-check interval while waiting for something the operator cannot watch (a user's Secret). */
  waitRecheckMs?: number;
  now?: () => Date;
}

const secondPrecision = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly core: CoreV1Api;

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.core = deps.client.kc.makeApiClient(CoreV1Api);
  }

  async reconcile(key: string): Promise<ProcessResult> {
    const [namespace = '', name = ''] = key.split('/');
    const ls = this.deps.cache.liveStream(namespace, name);
    if (!ls || ls.metadata.deletionTimestamp) return;

    const ctx: BuildContext = {
      image: this.deps.image,
      redis: { secretName: childNames(ls).redisSecret, key: redisSecretKey },
      ...(this.deps.extraLabels ? { extraLabels: this.deps.extraLabels } : {}),
    };
    const missingSecrets = await this.missingSecrets(ls);
    let applied = true;
    let applyError: string | undefined;
    try {
      await this.ensureStreamKey(ls, ctx);
      if (this.deps.redisUrl) {
        await this.ensure(childResources.secrets, buildRedisSecret(ls, { ...ctx, redisUrl: this.deps.redisUrl }));
      }
      await this.ensure(childResources.configMaps, buildConfigMap(ls, ctx));
      await this.ensure(childResources.services, buildService(ls, ctx));
      await this.ensure(childResources.deployments, buildDeployment(ls, ctx));
      if (this.deps.podMonitors) await this.ensure(childResources.podMonitors, buildPodMonitor(ls, ctx));
    } catch (err) {
      applied = false;
      applyError = describeApiError(err);
      this.deps.events.record(ls, 'Warning', EventReason.ApplyFailed, applyError);
      await this.writeStatus(ls, this.observe(ls, { applied, applyError, missingSecrets }));
      throw err;
    }
    await this.writeStatus(ls, this.observe(ls, { applied, missingSecrets }));
    // A user's Secret is not watched (that would cache every Secret of the cluster): look again later, not hot.
    if (missingSecrets.length > 0) return { requeueAfterMs: this.deps.waitRecheckMs ?? 10_000 };
    return;
  }

  /** Applies `desired` unless the cached object already holds every field of it. */
  private async ensure(resource: string, desired: KubernetesObject): Promise<void> {
    const { namespace = '', name = '' } = desired.metadata ?? {};
    const observed = this.deps.cache.child(resource, namespace, name);
    if (observed && isSubset(desired, observed)) return;
    await this.deps.client.apply(desired);
  }

  /** Creates the generated stream key once; an existing one is never rewritten (that would rotate the key). */
  private async ensureStreamKey(ls: LiveStream, ctx: BuildContext): Promise<void> {
    if (ls.spec.streamKey) return;
    const names = childNames(ls);
    if (this.deps.cache.child(childResources.secrets, ls.metadata.namespace ?? '', names.generatedStreamKeySecret)) {
      return;
    }
    const secret = buildStreamKeySecret(ls, { ...ctx, streamKey: randomBytes(24).toString('base64url') });
    try {
      await this.core.createNamespacedSecret({ namespace: ls.metadata.namespace ?? '', body: secret });
      this.deps.events.record(
        ls,
        'Normal',
        EventReason.StreamKeyGenerated,
        `generated Secret ${names.generatedStreamKeySecret}`,
      );
    } catch (err) {
      // The cache lags behind a create of ours or the Secret exists: keep it as it is.
      if (!isConflict(err)) throw err;
    }
  }

  /** Secrets the spec references that are missing (or lack the key), described without their contents. */
  private async missingSecrets(ls: LiveStream): Promise<string[]> {
    const namespace = ls.metadata.namespace ?? '';
    const wanted: { name: string; keys: string[] }[] = [];
    if (ls.spec.streamKey) wanted.push({ name: ls.spec.streamKey.secretRef.name, keys: [streamKeySecretKey(ls)] });
    for (const relay of ls.spec.relays ?? []) {
      if (relay.enabled === false || !relay.keySecretRef) continue;
      wanted.push({ name: relay.keySecretRef.name, keys: [relay.keySecretRef.key ?? 'streamKey'] });
    }
    const s3 = ls.spec.recording?.enabled ? ls.spec.recording.s3?.credentialsSecretRef : undefined;
    if (s3) wanted.push({ name: s3.name, keys: ['accessKeyId', 'secretAccessKey'] });

    const missing: string[] = [];
    for (const { name, keys } of wanted) {
      let secret: V1Secret;
      try {
        secret = await this.core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        missing.push(`Secret ${name}`);
        continue;
      }
      const absent = keys.filter((k) => !secret.data?.[k] && !secret.stringData?.[k]);
      if (absent.length > 0) missing.push(`key ${absent.join(', ')} of Secret ${name}`);
    }
    return missing;
  }

  private observe(
    ls: LiveStream,
    partial: Pick<ChildrenObservation, 'applied' | 'applyError' | 'missingSecrets'>,
  ): ChildrenObservation {
    const namespace = ls.metadata.namespace ?? '';
    const names = childNames(ls);
    const deployment = this.deps.cache.child<V1Deployment>(childResources.deployments, namespace, names.deployment);
    const service = this.deps.cache.child<V1Service>(childResources.services, namespace, names.service);
    const ingress = service?.status?.loadBalancer?.ingress?.[0];
    const external = ingress?.ip ?? ingress?.hostname;
    const rtmpPort = service?.spec?.ports?.find((p) => p.name === 'rtmp')?.port;
    return {
      ...partial,
      transcoderAvailable: (deployment?.status?.availableReplicas ?? 0) > 0,
      serviceHost: `${names.service}.${namespace}.svc`,
      ...(external ? { externalHost: external } : {}),
      ...(rtmpPort ? { externalRtmpPort: rtmpPort } : {}),
    };
  }

  private async writeStatus(ls: LiveStream, children: ChildrenObservation): Promise<void> {
    const now = secondPrecision(this.deps.now?.() ?? new Date());
    const status: LiveStreamStatus = computeStatus(ls, children, childNames(ls).streamKeySecret, now);
    if (ls.status && isSubset(status, ls.status) && isSubset(ls.status, status)) return;
    await this.deps.client.applyStatus(
      { group, version, plural, namespace: ls.metadata.namespace ?? '', name: ls.metadata.name ?? '' },
      kind,
      status,
    );
  }
}
