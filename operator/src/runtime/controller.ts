// One controller: informers for the primary kind and for the children it owns, a work queue of namespace/name keys,
// a periodic resync from the cache, and workers calling the reconcile function. The caches live as long as the
// process and fill on a standby too (as controller-runtime's do): a new leader starts its workers on full caches
// instead of listing a fleet first (5,000 channels: ~10 s of a hand-over). The queue and workers are per term.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../../contract/src/logger.ts';
import type { OperatorMetrics } from '../telemetry/metrics.ts';
import { ResilientInformer, type CacheTransform } from './informer.ts';
import { WorkQueue, type Lane, type ProcessResult } from './work-queue.ts';
import { within } from './within.ts';

export interface WatchSpec<T extends KubernetesObject = KubernetesObject> {
  /** Resource name for logs and metrics, e.g. "deployments". */
  resource: string;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  /** The queue key an object maps to, or undefined to ignore it. */
  keyFor: (obj: T) => string | undefined;
  /** What the cache keeps of each object (cache-transform.ts); undefined: all of it. */
  transform?: CacheTransform<T>;
  /** Whether a change of this object goes to the queue's urgent lane (work-queue.ts); undefined: never. */
  urgent?: (obj: T) => boolean;
}

export interface ControllerOptions<P extends KubernetesObject> {
  kc: KubeConfig;
  primary: WatchSpec<P>;
  secondaries: WatchSpec[];
  concurrency: number;
  resyncMs: number;
  metrics: OperatorMetrics;
  logger: Logger;
}

export const keyOf = (obj: KubernetesObject): string => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Maps a child to its controlling owner of `kind` (apiVersion group checked), for secondary watches. */
export function ownerKey(obj: KubernetesObject, apiGroup: string, kind: string): string | undefined {
  const owner = obj.metadata?.ownerReferences?.find(
    (r) => r.controller === true && r.kind === kind && r.apiVersion.startsWith(`${apiGroup}/`),
  );
  return owner ? `${obj.metadata?.namespace ?? ''}/${owner.name}` : undefined;
}

export class Controller<P extends KubernetesObject> {
  private readonly primary: ResilientInformer<P>;
  private readonly secondaries: ResilientInformer<KubernetesObject>[];
  private readonly byResource = new Map<string, ResilientInformer<KubernetesObject>>();
  /** This term's queue: undefined while not leading (changes then only fill the caches). */
  private work: WorkQueue | undefined;
  private cachesStarted = false;
  /** Counts starts and stops of terms: a start still waiting for the caches when its term ended does nothing. */
  private termSeq = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private depthTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  private readonly opts: ControllerOptions<P>;

  constructor(opts: ControllerOptions<P>) {
    this.opts = opts;
    const { metrics, logger } = opts;
    const informer = <T extends KubernetesObject>(spec: WatchSpec<T>) => {
      // A series from the start (0 until a watch fails): a dashboard's increase() over it shows 0, not "no data".
      metrics.informerRestarts.inc({ resource: spec.resource }, 0);
      return new ResilientInformer<T>({
        kc: opts.kc,
        path: spec.path,
        list: spec.list,
        ...(spec.labelSelector !== undefined ? { labelSelector: spec.labelSelector } : {}),
        ...(spec.transform ? { transform: spec.transform } : {}),
        onChange: (obj) => {
          const key = spec.keyFor(obj);
          if (key) this.enqueue(key, spec.urgent?.(obj) ? 'urgent' : 'normal');
        },
        onError: (err, retryInMs) => {
          metrics.informerRestarts.inc({ resource: spec.resource });
          logger.warn({ resource: spec.resource, err: String(err), retryInMs }, 'watch failed; restarting');
        },
      });
    };
    this.primary = informer(opts.primary);
    this.secondaries = opts.secondaries.map((s) => {
      const inf = informer(s);
      this.byResource.set(s.resource, inf);
      return inf;
    });
  }

  /** Queues a reconcile of `key` in this term; nothing while not leading (the term's first resync covers it). */
  enqueue(key: string, lane: Lane = 'normal'): void {
    this.work?.add(key, lane);
  }

  /** Keys waiting in this term's queue (0 while not leading). */
  get depth(): number {
    return this.work?.depth ?? 0;
  }

  /** A child from the informer cache of `resource` (one of the secondaries). */
  cached<T extends KubernetesObject>(resource: string, namespace: string, name: string): T | undefined {
    return this.byResource.get(resource)?.get(name, namespace) as T | undefined;
  }

  get synced(): boolean {
    return this.primary.hasSynced && this.secondaries.every((s) => s.hasSynced);
  }

  /** Starts the informers (once): a standby calls it at start, so its caches are full when it comes to lead. */
  startCaches(): void {
    if (this.cachesStarted) return;
    this.cachesStarted = true;
    this.primary.start();
    for (const s of this.secondaries) s.start();
  }

  /**
   * Starts a term: the caches (unless started), a wait for their first lists, then a queue of every cached object,
   * the workers and the resync. Throws when the caches have not synced within `syncTimeoutMs` (a leader that cannot
   * list must not hold the Lease doing nothing).
   */
  async start(reconcile: (key: string) => Promise<ProcessResult>, syncTimeoutMs: number): Promise<void> {
    this.startCaches();
    const mine = ++this.termSeq;
    const synced = Promise.all([this.primary.waitForSync(), ...this.secondaries.map((s) => s.waitForSync())]);
    const outcome = await within(synced, syncTimeoutMs);
    if (this.stopped || mine !== this.termSeq) return;
    if (outcome === 'timeout') {
      throw new Error(`caches not synced after ${syncTimeoutMs / 1000} s: ${this.unsynced().join(', ')}`);
    }
    this.work = this.termQueue(reconcile);
    // What changed before this term (or while a standby) is in the cache, not in any queue.
    this.resync();
    this.work.start();
    this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncMs);
    this.depthTimer = setInterval(() => this.opts.metrics.queueDepth.set(this.depth), 1000);
    this.resyncTimer.unref();
    this.depthTimer.unref();
    this.opts.logger.info({ objects: this.primary.list().length }, 'controller started');
  }

  private termQueue(reconcile: (key: string) => Promise<ProcessResult>): WorkQueue {
    const { metrics, logger } = this.opts;
    return new WorkQueue({
      concurrency: this.opts.concurrency,
      process: reconcile,
      onError: (key, err, retryInMs) =>
        logger.warn({ key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reconcile failed'),
      onDone: (_key, result, seconds) => {
        metrics.reconciles.inc({ result });
        metrics.reconcileDuration.observe(seconds);
      },
    });
  }

  private unsynced(): string[] {
    const secondaries = [...this.byResource].filter(([, inf]) => !inf.hasSynced).map(([resource]) => resource);
    return this.primary.hasSynced ? secondaries : [this.opts.primary.resource, ...secondaries];
  }

  /**
   * Re-enqueues every cached primary object: a safety net for missed events; converged objects write nothing. In
   * the low lane, behind every event (a spec change not yet in status stays urgent).
   */
  resync(): void {
    if (!this.work) return;
    const urgent = this.opts.primary.urgent;
    for (const obj of this.primary.list()) this.work.add(keyOf(obj), urgent?.(obj) ? 'urgent' : 'low');
  }

  get(namespace: string, name: string): P | undefined {
    return this.primary.get(name, namespace);
  }

  list(): readonly P[] {
    return this.primary.list();
  }

  /** Ends the term: stops dispatching keys at once and waits for the reconciles in flight; the caches stay. */
  async stopWorkers(): Promise<void> {
    const work = this.work;
    this.work = undefined;
    this.termSeq++;
    clearInterval(this.resyncTimer);
    clearInterval(this.depthTimer);
    this.opts.metrics.queueDepth.set(0);
    await work?.shutdown();
  }

  /** Stops the workers, then the informers. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.stopWorkers(), this.primary.stop(), ...this.secondaries.map((s) => s.stop())]);
  }
}
