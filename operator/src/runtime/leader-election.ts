// Leader election on a coordination.k8s.io Lease, as client-go does it (with a 10 s lease, 7 s renew deadline and
// 2 s retry, so a killed leader is replaced within about 12 s): the holder renews every retry period;
// a candidate takes the Lease only when it has not been renewed for leaseDuration; every write is a replace guarded
// by resourceVersion, so two candidates can never both win. Losing the Lease (renewals failing for renewDeadline)
// stops the work and re-enters candidacy; the process keeps running.
import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => Promise<void> | void;
  onError?: (err: unknown) => void;
}

/** Pure: may `identity` take or keep this Lease at `now`? */
export function canAcquire(lease: V1Lease, identity: string, now: number): boolean {
  const spec = lease.spec ?? {};
  if (!spec.holderIdentity || spec.holderIdentity === identity) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  return renewed + (spec.leaseDurationSeconds ?? 10) * 1000 < now;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private running = false;
  private leading = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  private readonly opts: LeaderElectionOptions;

  constructor(opts: LeaderElectionOptions) {
    this.opts = opts;
    this.api = opts.kc.makeApiClient(CoordinationV1Api);
    this.leaseSeconds = opts.leaseDurationSeconds ?? 10;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 7_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the Lease so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.opts.onStoppedLeading();
      await this.release().catch((err: unknown) => this.opts.onError?.(err));
    }
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.abort.signal }).catch(() => {});
  }

  private async run(): Promise<void> {
    let lastRenew = 0;
    while (this.running) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.opts.onError?.(err);
      }
      if (!this.running) break;
      if (ok) {
        lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          await this.opts.onStartedLeading();
        }
      } else if (this.leading && Date.now() - lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        await this.opts.onStoppedLeading();
      }
      await this.pause(this.retryMs);
    }
  }

  private leaseBody(current: V1Lease | undefined, now: Date): V1Lease {
    const keep = current?.spec?.holderIdentity === this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.opts.name,
        namespace: this.opts.namespace,
        ...(current?.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: this.leaseSeconds,
        acquireTime:
          keep && current?.spec?.acquireTime ? new V1MicroTime(current.spec.acquireTime) : new V1MicroTime(now),
        renewTime: new V1MicroTime(now),
        leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (keep ? 0 : 1),
      },
    };
  }

  /** One round: create, renew or take over the Lease. False when another holder is current or we lost a race. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.opts;
    let current: V1Lease;
    try {
      current = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!(err instanceof ApiException) || err.code !== 404) throw err;
      try {
        await this.api.createNamespacedLease({ namespace, body: this.leaseBody(undefined, new Date()) });
        return true;
      } catch (createErr) {
        if (createErr instanceof ApiException && createErr.code === 409) return false;
        throw createErr;
      }
    }
    if (!canAcquire(current, identity, Date.now())) return false;
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: this.leaseBody(current, new Date()) });
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const { name, namespace, identity } = this.opts;
    const current = await this.api.readNamespacedLease({ name, namespace });
    if (current.spec?.holderIdentity !== identity) return;
    const body = this.leaseBody(current, new Date());
    body.spec = { ...body.spec, holderIdentity: undefined, leaseDurationSeconds: 1 };
    await this.api.replaceNamespacedLease({ name, namespace, body });
  }
}
