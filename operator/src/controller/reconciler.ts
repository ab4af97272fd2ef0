// The LiveStream reconciler: fetch from the cache, skip what is being deleted (owner references let the garbage
// collector remove the children), then run the named steps of reconcile/ in order and write the status from what
// they learned. Each step compares what it wants with what the informers observed and writes only on a difference;
// the status is written only when it changed (live figures within a cluster-wide budget), so a no-op reconcile
// writes nothing.
import { CoreV1Api, type KubernetesObject, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { EventReason, type LiveStream, type PlacementSpec } from '../../../contract/src/api/index.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { describeApiError, type KubeClient } from '../k8s/client.ts';
import type { ProcessResult } from '../runtime/work-queue.ts';
import type { EventRecorder } from '../telemetry/events.ts';
import type { OperatorMetrics } from '../telemetry/metrics.ts';
import { childNames, redisSecretRef, type BuildContext } from './desired/index.ts';
import { publishPhase, type PublishObservation, type PublishTransition } from './publish-state.ts';
import {
  applyChildrenStep,
  childResources,
  InvalidSpecs,
  knownInvalidSpecStep,
  streamKeyStep,
} from './reconcile/children.ts';
import { defaultFigureWritesPerSecond, FigureBudget } from './reconcile/figure-budget.ts';
import { lostSessionStep } from './reconcile/lost-session.ts';
import { RedisCredentials, type RedisCredentialDeps } from './reconcile/redis-credential.ts';
import { finalizeJobsStep, recordingsStep } from './reconcile/recordings.ts';
import { ReportTokens } from './reconcile/report-token.ts';
import { IngestKeys } from './reconcile/ingest-keys.ts';
import { SecretReads, secretMetadataResource } from './reconcile/secrets.ts';
import { SessionSettingsSeen, StatusWriter, timeDrivenRecheck, transcoderHealth } from './reconcile/status-write.ts';
import { runSteps, timed, type ReconcileState, type Step, type StepTimer } from './reconcile/step.ts';
import { StreamMetrics } from './reconcile/stream-metrics.ts';
import type { GatewayUrls } from './gateway-address.ts';
import { computeStatus, externalEndpoint, type ChildrenObservation } from './status/index.ts';

export { childResources };

/** The events consumer as the reconciler sees it (absent when the operator runs without Redis). */
export interface ReportSource {
  readonly connected: boolean;
  observation(key: string): PublishObservation | undefined;
  pendingIds(key: string): string[];
  ack(key: string, ids: readonly string[]): Promise<void>;
  forget(key: string): Promise<void>;
  /** Closes the open session of a transcoder silent for more than `ttlMs` (endReason TranscoderLost). */
  expire(key: string, nowMs: number, ttlMs: number): PublishTransition;
  /** Starts an observation from status when no report was folded yet (a new leader; see observationFromStatus). */
  seed(key: string, obs: PublishObservation): void;
}

/** A transcoder silent for this long is not trusted (3 missed heartbeats of 5 s). */
export const heartbeatTtlMs = 15_000;

export interface ReconcilerDeps {
  client: KubeClient;
  cache: {
    liveStream(namespace: string, name: string): LiveStream | undefined;
    child<T extends KubernetesObject>(resource: string, namespace: string, name: string): T | undefined;
  };
  events: EventRecorder;
  logger: Logger;
  image: string;
  /** The operator's Redis URL (each channel gets its own user on it); undefined runs without reports. */
  redisUrl: string | undefined;
  /** Applies each channel's Redis ACL user (RedisChannels); absent without Redis. */
  channels?: RedisCredentialDeps['channels'];
  /** The gateway's URLs (installed with one); status shows them for the channels reached through it. */
  gateway?: () => GatewayUrls;
  /** Viewers of a channel through the gateway, summed over its replicas (the transcoder counts only its own). */
  gatewayViewers?: (namespace: string, name: string) => number;
  /** A node's address for the URLs of NodePort Services (LSO_NODE_ADDRESS); without it they show the cluster DNS name. */
  nodeAddress?: string;
  /** Chart-wide placement of the media pods; spec.placement overrides it field by field. */
  placement?: PlacementSpec;
  /** Whether the Prometheus Operator's PodMonitor kind is served (checked at start-up). */
  podMonitors: boolean;
  extraLabels?: Record<string, string>;
  reports?: ReportSource;
  /** Gets what closing a lost session means for events and metrics, like the consumer's onReport (report-events.ts). */
  onTransition?: (key: string, transition: PublishTransition) => void;
  metrics?: OperatorMetrics;
  /** Re-check interval while waiting for something the operator cannot watch (a user's Secret). */
  waitRecheckMs?: number;
  /** Cluster-wide budget of figure-only status writes per second (figure-budget.ts). */
  figureWritesPerSecond?: number;
  now?: () => Date;
}

export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly secrets: SecretReads;
  private readonly redisCredentials: RedisCredentials;
  private readonly reportTokens: ReportTokens;
  private readonly invalidSpecs = new InvalidSpecs();
  private readonly settingsSeen = new SessionSettingsSeen();
  private readonly ingestKeys: IngestKeys;
  private readonly streamMetrics: StreamMetrics;
  private readonly steps: readonly Step[];
  private readonly timer: StepTimer | undefined;
  /** Status writes, with the figure budget shared by every LiveStream. */
  readonly statusWriter: StatusWriter;

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.timer = deps.metrics?.reconcileStepDuration;
    const core = deps.client.kc.makeApiClient(CoreV1Api);
    this.secrets = new SecretReads(core, deps.waitRecheckMs ?? 10_000, (namespace, name) =>
      deps.cache.child(secretMetadataResource, namespace, name),
    );
    this.ingestKeys = new IngestKeys({ ...deps, core });
    this.streamMetrics = new StreamMetrics(deps.metrics);
    this.statusWriter = new StatusWriter(
      deps.client,
      new FigureBudget(deps.figureWritesPerSecond ?? defaultFigureWritesPerSecond),
      deps.metrics?.statusWrites,
    );
    const children = { ...deps, core };
    this.redisCredentials = new RedisCredentials(deps);
    this.reportTokens = new ReportTokens(deps);
    const recordings = { ...deps, observation: (key: string) => deps.reports?.observation(key) };
    this.steps = [
      this.secrets.step(),
      lostSessionStep(deps.reports, heartbeatTtlMs, deps.onTransition),
      this.redisCredentials.step(),
      this.reportTokens.step(),
      knownInvalidSpecStep(this.invalidSpecs),
      streamKeyStep(children),
      this.ingestKeys.step(),
      applyChildrenStep(children, this.invalidSpecs),
      recordingsStep(recordings),
      finalizeJobsStep(recordings),
    ];
  }

  async reconcile(key: string): Promise<ProcessResult> {
    const [namespace = '', name = ''] = key.split('/');
    const ls = this.deps.cache.liveStream(namespace, name);
    if (!ls || ls.metadata.deletionTimestamp) {
      if (!ls) this.forget(key, namespace, name);
      return;
    }
    const state: ReconcileState = {
      key,
      ls,
      nowMs: (this.deps.now?.() ?? new Date()).getTime(),
      build: this.buildContext(ls),
      missing: { relays: {} },
      relayKeys: {},
    };
    const outcome = await runSteps(this.steps, state, this.timer);
    if (outcome.failed) {
      const { step, error } = outcome.failed;
      if (step.applies) await this.reportApplyFailure(state, step, error);
      throw error;
    }
    const statusRecheck = await this.writeStatus(state);
    const next = Math.min(outcome.requeueAfterMs ?? Infinity, statusRecheck ?? Infinity);
    return Number.isFinite(next) ? { requeueAfterMs: next } : undefined;
  }

  private buildContext(ls: LiveStream): BuildContext {
    return {
      image: this.deps.image,
      // The Redis Secret is made only when there is a URL to copy (desiredChildren); only then is it referenced.
      ...(this.deps.redisUrl !== undefined && { redis: redisSecretRef(ls) }),
      ...(this.deps.extraLabels ? { extraLabels: this.deps.extraLabels } : {}),
      ...(this.deps.placement ? { placement: this.deps.placement } : {}),
    };
  }

  /** ApplyFailed in status and as an event, before the error goes back to the queue to be retried with backoff. */
  private async reportApplyFailure(state: ReconcileState, step: Step, error: unknown): Promise<void> {
    state.applyError = `${step.name}: ${describeApiError(error)}`;
    this.deps.events.record(state.ls, 'Warning', EventReason.ApplyFailed, state.applyError);
    await this.writeStatus(state).catch((err: unknown) =>
      this.deps.logger.warn({ livestream: state.key, err: describeApiError(err) }, 'status write failed too'),
    );
  }

  private forget(key: string, namespace: string, name: string): void {
    this.statusWriter.forget(key);
    this.secrets.forget(key);
    this.ingestKeys.forget(key);
    this.redisCredentials.forget(key);
    this.reportTokens.forget(key);
    this.invalidSpecs.forget(key);
    this.settingsSeen.forget(key);
    this.streamMetrics.forget(key, namespace, name);
    this.deps.reports
      ?.forget(key)
      .catch((err: unknown) => this.deps.logger.debug({ err: String(err) }, 'forget failed'));
  }

  /** What the informers show of the Deployment and Service, with what the steps found. */
  private observeChildren(state: ReconcileState): ChildrenObservation {
    const { ls } = state;
    const namespace = ls.metadata.namespace ?? '';
    const names = childNames(ls);
    const deployment = this.deps.cache.child<V1Deployment>(childResources.deployments, namespace, names.deployment);
    const service = this.deps.cache.child<V1Service>(childResources.services, namespace, names.service);
    const external = externalEndpoint(service, this.deps.nodeAddress);
    return {
      applied: state.applyError === undefined && state.invalidSpec === undefined,
      ...(state.applyError !== undefined ? { applyError: state.applyError } : {}),
      ...(state.invalidSpec !== undefined ? { invalidSpec: state.invalidSpec } : {}),
      transcoderAvailable: (deployment?.status?.availableReplicas ?? 0) > 0,
      serviceHost: `${names.service}.${namespace}.svc`,
      ...(external ? { external } : {}),
    };
  }

  /**
   * The status step: computes the status, sets the stream's metrics, writes the status if it must go out, and
   * acknowledges the reports it reflects. Returns when to look again (figures waiting, time-driven changes).
   */
  private async writeStatus(state: ReconcileState): Promise<number | undefined> {
    const { key, ls, nowMs } = state;
    const reports = this.deps.reports;
    const ids = reports?.pendingIds(key) ?? [];
    const observation = reports?.observation(key);
    const phase = publishPhase(observation, nowMs, heartbeatTtlMs);
    const health = transcoderHealth(observation);
    const sessionSettings = this.settingsSeen.note(key, ls, health.ladder);
    const recordings = state.recordings ?? ls.status?.recordings;
    const status = computeStatus({
      ls,
      nowMs,
      children: this.observeChildren(state),
      missing: state.missing,
      reportsAvailable: reports?.connected === true,
      observation,
      phase,
      health,
      ...(recordings ? { recordings } : {}),
      ...(sessionSettings ? { sessionSettings } : {}),
      ...(state.ingestKeys ? { ingestKeys: state.ingestKeys } : {}),
      ...(this.deps.gateway ? { gateway: this.deps.gateway() } : {}),
      gatewayViewers: this.deps.gatewayViewers?.(ls.metadata.namespace ?? '', ls.metadata.name ?? '') ?? 0,
    });
    this.streamMetrics.update(key, ls, status);
    const inSession = phase.phase === 'live' || phase.phase === 'reconnecting';
    const figuresWait = await timed(this.timer, 'status', () =>
      this.statusWriter.write(key, ls, status, inSession, nowMs),
    );
    if (reports && ids.length > 0) {
      // The reports' effect is in status (written, or already there), or what is not is live figures only: not
      // state, and the next heartbeat brings them again. So they may leave the pending list (and are not claimed
      // again while the figures wait for the budget).
      await timed(this.timer, 'ack', () =>
        reports
          .ack(key, ids)
          .catch((err: unknown) =>
            this.deps.logger.warn({ err: String(err) }, 'ack failed; reports will be seen again'),
          ),
      );
    }
    const recheck = timeDrivenRecheck(phase, observation, nowMs, heartbeatTtlMs);
    const next = Math.min(figuresWait ?? Infinity, recheck ?? Infinity);
    return Number.isFinite(next) ? next : undefined;
  }
}
