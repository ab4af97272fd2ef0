// The LiveStream reconciler. Outer part: fetch from the cache, skip what is being deleted (owner references let the
// garbage collector remove the children). Inner part: short idempotent steps, each comparing what it wants with
// what the informers observed and writing only on a difference; then the status, written only when it changed.
import { randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  type KubernetesObject,
  type V1Deployment,
  type V1Job,
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
  type RecordingStatus,
} from '../../../contract/src/api/index.ts';
import { describeApiError, isConflict, isNotFound, type KubeClient } from '../k8s/client.ts';
import { isSubset } from '../k8s/semantic.ts';
import type { ProcessResult } from '../runtime/work-queue.ts';
import type { EventRecorder } from '../telemetry/events.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import {
  buildConfigMap,
  buildDeployment,
  buildFinalizeJob,
  finalizeJobName,
  buildPodMonitor,
  buildRedisSecret,
  buildRelayKeysSecret,
  buildService,
  buildStreamKeySecret,
  childNames,
  redisSecretKey,
  type BuildContext,
} from './desired/index.ts';
import { recordingsStatus, type JobOutcome } from './media-status.ts';
import { publishPhase, type PublishObservation } from './publish-state.ts';
import { computeStatus, mergeSessions, type ChildrenObservation } from './status.ts';
import type { OperatorMetrics } from '../telemetry/metrics.ts';

/** The events consumer as the reconciler sees it (absent when the operator runs without Redis). */
export interface ReportSource {
  readonly connected: boolean;
  observation(key: string): PublishObservation | undefined;
  pendingIds(key: string): string[];
  ack(key: string, ids: readonly string[]): Promise<void>;
  forget(key: string): Promise<void>;
}

interface ReferencedSecrets {
  missing: string[];
  relayKeys: Record<string, string>;
}

/** A transcoder silent for this long is not trusted (3 missed heartbeats of 5 s). */
export const heartbeatTtlMs = 15_000;
/** Live figures (viewers, bitrate) are written at most this often per LiveStream. */
export const figuresIntervalMs = 5_000;

/** Resource names of the child informers (see main.ts), used to read the observed children. */
export const childResources = {
  secrets: 'secrets',
  configMaps: 'configmaps',
  deployments: 'deployments',
  services: 'services',
  podMonitors: 'podmonitors',
  jobs: 'jobs',
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
  reports?: ReportSource;
  metrics?: OperatorMetrics;
  /** Re-check interval while waiting for something the operator cannot watch (a user's Secret). */
  waitRecheckMs?: number;
  now?: () => Date;
}

const secondPrecision = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly core: CoreV1Api;
  private readonly lastStatusWrite = new Map<string, number>();
  /** Referenced Secrets as last read, per LiveStream: reports trigger a reconcile every few seconds per live stream,
   * and re-reading the user's Secrets each time would put that load on the API server for nothing. */
  private readonly secretReads = new Map<
    string,
    { generation: number | undefined; at: number; result: ReferencedSecrets }
  >();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.core = deps.client.kc.makeApiClient(CoreV1Api);
  }

  async reconcile(key: string): Promise<ProcessResult> {
    const [namespace = '', name = ''] = key.split('/');
    const ls = this.deps.cache.liveStream(namespace, name);
    if (!ls || ls.metadata.deletionTimestamp) {
      if (!ls) this.forget(key, namespace, name);
      return;
    }

    const ctx: BuildContext = {
      image: this.deps.image,
      redis: { secretName: childNames(ls).redisSecret, key: redisSecretKey },
      ...(this.deps.extraLabels ? { extraLabels: this.deps.extraLabels } : {}),
    };
    const { missing: missingSecrets, relayKeys } = await this.referencedSecretsCached(key, ls);
    let applied = true;
    let applyError: string | undefined;
    try {
      await this.ensureStreamKey(ls, ctx);
      if (this.deps.redisUrl) {
        await this.ensure(childResources.secrets, buildRedisSecret(ls, { ...ctx, redisUrl: this.deps.redisUrl }));
      }
      // Exact data: a removed relay's key must leave the copy, which a subset comparison would not notice.
      await this.ensure(childResources.secrets, buildRelayKeysSecret(ls, { ...ctx, keys: relayKeys }), (d, o) =>
        sameKeys((d as V1Secret).data, (o as V1Secret).data),
      );
      await this.ensure(childResources.configMaps, buildConfigMap(ls, ctx));
      await this.ensure(childResources.services, buildService(ls, ctx));
      await this.ensure(childResources.deployments, buildDeployment(ls, ctx));
      if (this.deps.podMonitors) await this.ensure(childResources.podMonitors, buildPodMonitor(ls, ctx));
    } catch (err) {
      applied = false;
      applyError = describeApiError(err);
      this.deps.events.record(ls, 'Warning', EventReason.ApplyFailed, applyError);
      await this.writeStatus(key, ls, this.observe(ls, { applied, applyError, missingSecrets }));
      throw err;
    }
    const recordings = await this.ensureRecordings(key, ls, ctx);
    const statusRecheck = await this.writeStatus(key, ls, this.observe(ls, { applied, missingSecrets }), recordings);
    // A user's Secret is not watched (that would cache every Secret of the cluster): look again later, not hot.
    // Just past the read cache's age limit, so the recheck reads the Secrets again.
    const secretRecheck = missingSecrets.length > 0 ? (this.deps.waitRecheckMs ?? 10_000) + 100 : undefined;
    const next = Math.min(statusRecheck ?? Infinity, secretRecheck ?? Infinity);
    return Number.isFinite(next) ? { requeueAfterMs: next } : undefined;
  }

  /** Re-reads after a spec change, or once `secretRecheckMs` has passed (a Secret created or changed meanwhile). */
  private async referencedSecretsCached(key: string, ls: LiveStream): Promise<ReferencedSecrets> {
    const now = Date.now();
    const last = this.secretReads.get(key);
    if (last && last.generation === ls.metadata.generation && now - last.at < (this.deps.waitRecheckMs ?? 10_000)) {
      return last.result;
    }
    const result = await this.referencedSecrets(ls);
    this.secretReads.set(key, { generation: ls.metadata.generation, at: now, result });
    return result;
  }

  private forget(key: string, namespace: string, name: string): void {
    this.lastStatusWrite.delete(key);
    this.secretReads.delete(key);
    const m = this.deps.metrics;
    if (m) {
      for (const g of [m.streamViewers, m.streamBitrate]) g.remove({ namespace, livestream: name });
      m.streamInfo.remove({ namespace, livestream: name, state: this.lastState.get(key) ?? '' });
    }
    this.lastState.delete(key);
    this.deps.reports
      ?.forget(key)
      .catch((err: unknown) => this.deps.logger.debug({ err: String(err) }, 'forget failed'));
  }

  private readonly lastState = new Map<string, string>();

  /** Applies `desired` unless the cached object already holds every field of it. */
  private async ensure(
    resource: string,
    desired: KubernetesObject,
    alsoSame: (desired: KubernetesObject, observed: KubernetesObject) => boolean = () => true,
  ): Promise<void> {
    const { namespace = '', name = '' } = desired.metadata ?? {};
    const observed = this.deps.cache.child(resource, namespace, name);
    if (observed && isSubset(desired, observed) && alsoSame(desired, observed)) return;
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

  /**
   * Reads the Secrets the spec references: which are missing (or lack the key), described without their contents,
   * and the relay keys to copy into the relay-keys Secret. Values stay in memory only for the apply.
   */
  private async referencedSecrets(ls: LiveStream): Promise<ReferencedSecrets> {
    const namespace = ls.metadata.namespace ?? '';
    const cache = new Map<string, V1Secret | undefined>();
    const read = async (name: string): Promise<V1Secret | undefined> => {
      if (!cache.has(name)) {
        try {
          cache.set(name, await this.core.readNamespacedSecret({ name, namespace }));
        } catch (err) {
          if (!isNotFound(err)) throw err;
          cache.set(name, undefined);
        }
      }
      return cache.get(name);
    };
    const value = (secret: V1Secret | undefined, key: string): string | undefined => {
      const b64 = secret?.data?.[key];
      return b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : secret?.stringData?.[key];
    };
    const missing: string[] = [];
    const require = async (name: string, keys: string[]) => {
      const secret = await read(name);
      if (!secret) return void missing.push(`Secret ${name}`);
      const absent = keys.filter((k) => !value(secret, k));
      if (absent.length > 0) missing.push(`key ${absent.join(', ')} of Secret ${name}`);
    };
    if (ls.spec.streamKey) await require(ls.spec.streamKey.secretRef.name, [streamKeySecretKey(ls)]);
    const relayKeys: Record<string, string> = {};
    for (const relay of ls.spec.relays ?? []) {
      if (!relay.keySecretRef) continue;
      const key = relay.keySecretRef.key ?? 'streamKey';
      if (relay.enabled !== false) await require(relay.keySecretRef.name, [key]);
      const v = value(await read(relay.keySecretRef.name), key);
      if (v) relayKeys[relay.name] = v;
    }
    const s3 = ls.spec.recording?.enabled ? ls.spec.recording.s3?.credentialsSecretRef : undefined;
    if (s3) await require(s3.name, [s3.accessKeyIdKey ?? 'accessKeyId', s3.secretAccessKeyKey ?? 'secretAccessKey']);
    return { missing, relayKeys };
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

  /**
   * Writes the status when it changed (live figures at most every figuresIntervalMs), then acknowledges the reports
   * it reflects. Returns when to look again for time-driven changes (heartbeat TTL, end of a reconnect window).
   */
  /**
   * status.recordings, creating the finalize Job of every recorded session that ended. Jobs are created, never
   * patched (their pod template is immutable), and named after the session so a second create is a no-op.
   */
  private async ensureRecordings(
    key: string,
    ls: LiveStream,
    ctx: BuildContext,
  ): Promise<RecordingStatus[] | undefined> {
    if (!ls.spec.recording?.enabled && !ls.status?.recordings?.length) return undefined;
    const obs = this.deps.reports?.observation(key);
    const ended = mergeSessions(ls.status?.sessions, obs?.ended);
    const namespace = ls.metadata.namespace ?? '';
    const outcomes = (jobsFor: RecordingStatus[]) => {
      const map = new Map<string, JobOutcome>();
      for (const r of jobsFor) {
        const job = this.deps.cache.child<V1Job>(childResources.jobs, namespace, finalizeJobName(ls, r.session));
        if (job) map.set(r.session, jobOutcome(job));
      }
      return map;
    };
    let recordings = recordingsStatus(ls, obs, ended, new Map());
    recordings = recordingsStatus(ls, obs, ended, outcomes(recordings));
    if (ls.spec.recording?.enabled) {
      for (const r of recordings) {
        if (r.state !== 'Finalizing') continue;
        if (this.deps.cache.child(childResources.jobs, namespace, finalizeJobName(ls, r.session))) continue;
        try {
          await this.deps.client.create(buildFinalizeJob(ls, r.session, ctx));
          this.deps.logger.info({ livestream: key, session: r.session }, 'finalize Job created');
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
    }
    return recordings;
  }

  private async writeStatus(
    key: string,
    ls: LiveStream,
    children: ChildrenObservation,
    recordings?: RecordingStatus[],
  ): Promise<number | undefined> {
    const nowMs = (this.deps.now?.() ?? new Date()).getTime();
    const reports = this.deps.reports;
    const ids = reports?.pendingIds(key) ?? [];
    const observation = reports?.observation(key);
    const phase = publishPhase(observation, nowMs, heartbeatTtlMs);
    const status: LiveStreamStatus = computeStatus(
      ls,
      children,
      { reportsAvailable: reports?.connected === true, observation, phase, ...(recordings ? { recordings } : {}) },
      childNames(ls).streamKeySecret,
      secondPrecision(new Date(nowMs)),
    );
    this.updateStreamMetrics(key, ls, status);

    let recheck: number | undefined;
    if (phase.phase === 'live' || phase.phase === 'reconnecting') {
      const silentAt = (observation?.lastReportAt ?? nowMs) + heartbeatTtlMs;
      const windowEnd = phase.phase === 'reconnecting' ? phase.windowEndsAt : Infinity;
      recheck = Math.max(100, Math.min(silentAt, windowEnd) - nowMs + 100);
    }
    const current = ls.status;
    const same = current !== undefined && isSubset(status, current) && isSubset(current, status);
    if (!same) {
      const sinceLast = nowMs - (this.lastStatusWrite.get(key) ?? 0);
      if (current && sinceLast < figuresIntervalMs && onlyFiguresDiffer(status, current)) {
        const wait = figuresIntervalMs - sinceLast;
        return recheck === undefined ? wait : Math.min(recheck, wait);
      }
      await this.deps.client.applyStatus(
        { group, version, plural, namespace: ls.metadata.namespace ?? '', name: ls.metadata.name ?? '' },
        kind,
        status,
      );
      this.lastStatusWrite.set(key, nowMs);
    }
    if (reports && ids.length > 0) {
      // Written (or already there): the reports' effect is durable, so they may leave the pending list.
      await reports
        .ack(key, ids)
        .catch((err: unknown) => this.deps.logger.warn({ err: String(err) }, 'ack failed; reports will be seen again'));
    }
    return recheck;
  }

  private updateStreamMetrics(key: string, ls: LiveStream, status: LiveStreamStatus): void {
    const m = this.deps.metrics;
    if (!m) return;
    const labels = { namespace: ls.metadata.namespace ?? '', livestream: ls.metadata.name ?? '' };
    const state = status.state ?? 'Pending';
    const before = this.lastState.get(key);
    if (before !== undefined && before !== state) m.streamInfo.remove({ ...labels, state: before });
    m.streamInfo.set({ ...labels, state }, 1);
    this.lastState.set(key, state);
    m.streamViewers.set(labels, status.viewers ?? 0);
    m.streamBitrate.set(labels, status.bitrateKbps ?? 0);
  }
}

const sameKeys = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => {
  const x = Object.keys(a ?? {}).sort();
  const y = Object.keys(b ?? {}).sort();
  return x.length === y.length && x.every((k, i) => k === y[i]);
};

export function jobOutcome(job: V1Job): JobOutcome {
  if ((job.status?.succeeded ?? 0) > 0) return 'succeeded';
  if (job.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed';
  return 'active';
}

/** True when two statuses differ only in live figures (viewers, bitrate, the current session's counters). */
export function onlyFiguresDiffer(a: LiveStreamStatus, b: LiveStreamStatus): boolean {
  const strip = (s: LiveStreamStatus) => ({
    ...s,
    viewers: undefined,
    bitrateKbps: undefined,
    session: s.session ? { id: s.session.id, startedAt: s.session.startedAt } : undefined,
  });
  const x = strip(a);
  const y = strip(b);
  return isSubset(x, y) && isSubset(y, x);
}
