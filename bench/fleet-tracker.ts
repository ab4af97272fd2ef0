// What the fleet benchmark sees of its LiveStreams, from one watch of them all (a list every second of 5,000 would
// load the API server more than the operator does): how many have converged, and when a status first shows what a
// report said (probes: report written -> status shows it, in ms).
import {
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type ObjectCache,
} from '@kubernetes/client-node';
import {
  ConditionReason,
  ConditionType,
  group,
  plural,
  version,
  type LiveStream,
  type LiveStreamStatus,
} from '../contract/src/api/index.ts';

/** Converged: status written for the current generation, with every child made and the transcoder available. */
export const converged = (ls: LiveStream): boolean =>
  ls.status?.observedGeneration === ls.metadata.generation &&
  ls.status?.conditions?.some((c) => c.type === ConditionType.ChildrenReady && c.status === 'True') === true;

/** Applied: status written for the current generation after every child was applied (the pod may not run yet). */
export const applied = (ls: LiveStream): boolean =>
  ls.status?.observedGeneration === ls.metadata.generation &&
  ls.status?.conditions?.some(
    (c) =>
      c.type === ConditionType.ChildrenReady &&
      (c.reason === ConditionReason.ChildrenAvailable || c.reason === ConditionReason.DeploymentUnavailable),
  ) === true;

interface Probe {
  shows: (status: LiveStreamStatus) => boolean;
  writtenAt: number;
  /** Counted in the latency figures (the steady state), or only awaited (a burst, the hand-over). */
  counted: boolean;
  kind: string;
  resolve: (ms: number) => void;
}

export class LiveStreamTracker {
  private readonly informer: Informer<LiveStream> & ObjectCache<LiveStream>;
  private readonly ready = new Set<string>();
  private readonly appliedKeys = new Set<string>();
  private readonly probes = new Map<string, Probe[]>();
  readonly latenciesMs: number[] = [];
  /** The same latencies by the kind of transition (session started, session ended, relay state). */
  readonly latenciesByKind = new Map<string, number[]>();
  private stopped = false;

  constructor(kc: KubeConfig, onError: (err: unknown) => void) {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const list = () => custom.listClusterCustomObject({ group, version, plural }) as never;
    this.informer = makeInformer<LiveStream>(kc, `/apis/${group}/${version}/${plural}`, list);
    const seen = (ls: LiveStream) => this.seen(ls);
    this.informer.on('add', seen);
    this.informer.on('update', seen);
    // client-node stops an informer on an error: start it again (resuming), unless the run is over.
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      onError(err);
      if (!this.stopped) setTimeout(() => void this.informer.start().catch(onError), 1_000);
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  get convergedCount(): number {
    return this.ready.size;
  }

  get appliedCount(): number {
    return this.appliedKeys.size;
  }

  get(namespace: string, name: string): LiveStream | undefined {
    return this.informer.get(name, namespace);
  }

  /** Resolves with the ms from `writtenAt` to the first status that `shows` (now, if the cached one already does). */
  expect(key: string, shows: Probe['shows'], writtenAt: number, counted = true, kind = 'other'): Promise<number> {
    return new Promise((resolve) => {
      const probe = { shows, writtenAt, counted, kind, resolve };
      const [namespace = '', name = ''] = key.split('/');
      const current = this.get(namespace, name)?.status;
      if (current && shows(current)) return this.settle(probe, Date.now());
      this.probes.set(key, [...(this.probes.get(key) ?? []), probe]);
    });
  }

  /** Probes still waiting: all of them, or only those counted in the latency figures. */
  pending(countedOnly = false): number {
    let n = 0;
    for (const list of this.probes.values()) n += list.filter((p) => p.counted || !countedOnly).length;
    return n;
  }

  private settle(probe: Probe, at: number): void {
    const ms = at - probe.writtenAt;
    if (probe.counted) {
      this.latenciesMs.push(ms);
      this.latenciesByKind.set(probe.kind, [...(this.latenciesByKind.get(probe.kind) ?? []), ms]);
    }
    probe.resolve(ms);
  }

  private seen(ls: LiveStream): void {
    const key = `${ls.metadata.namespace ?? ''}/${ls.metadata.name ?? ''}`;
    if (converged(ls)) this.ready.add(key);
    else this.ready.delete(key);
    if (applied(ls)) this.appliedKeys.add(key);
    else this.appliedKeys.delete(key);
    const waiting = this.probes.get(key);
    if (!waiting || !ls.status) return;
    const now = Date.now();
    const status = ls.status;
    const left = waiting.filter((p) => {
      if (!p.shows(status)) return true;
      this.settle(p, now);
      return false;
    });
    if (left.length > 0) this.probes.set(key, left);
    else this.probes.delete(key);
  }
}

/** Pure: the p-th percentile (0..100) of `values`, nearest rank; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
