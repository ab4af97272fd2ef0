// Concurrent publishes one gateway replica carries (bench-gateway's `publishes` part): the real gateway process
// (test/support/gateway-process.ts) routes every publish to a sink in this process (one route, and one key, per
// publish); publishers in a worker thread (gateway-publishes-worker.ts) add `perStep` publishes at `kbps` each, and
// every step is held `stepSeconds` and measured over that window: each publish routed (NetStream.Publish.Start),
// video messages arrived against sent (all publishes, and the worst one), per-message latency send to arrival, the
// gateway's CPU. It stops at the first step that fails a bound (stepLimit says which), or at the cap.
// The load generator shares the 2 cores: its own lag (the publishers' lateness against their schedule, both threads'
// event loop delay), the rate it really offered and the whole machine's busy CPU are measured too, so a step that
// fails because the bench or the neighbours ran out of CPU is reported as `loadGenerator` or `machine`, not as the
// gateway's limit.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { startGatewayProcess, type GatewayProcess, type GatewayRoute } from '../test/support/gateway-process.ts';
import { percentile, publishStarted, startRtmpSink } from '../test/support/gateway-rtmp-measure.ts';
import { machineCpuSeconds } from '../test/support/process-cpu.ts';
import type { PublisherReply, PublisherRequest } from './gateway-publishes-worker.ts';

export interface PublishBounds {
  /** Messages arrived / sent in a step, all publishes and the worst one. */
  deliveryRatio: number;
  /** Per-message latency p99 (send to arrival at the backend): the target for the latency the gateway adds
   * (100 ms) is the default. Unloaded it is ~1 ms, so the whole figure is what routing costs; past the target a
   * publish is not carried as the issue asks, even if every byte still arrives. */
  latencyP99Ms: number;
  gatewayCpuPercentOfCore: number;
  /** The load generator's lateness and loop delay p99: past it, it (not the gateway) shapes the figures. Half the
   * latency bound: a sink that lags this much would account for most of a latency failure. */
  loadGeneratorLagMs: number;
  /** Messages it really sent / its schedule: below it, the step did not offer its load. */
  offeredRatio: number;
  /** A load generator thread this busy (event loop utilization) is saturated; a lagging one less busy was starved. */
  loadGeneratorBusy: number;
  /** The whole machine's busy CPU (% of all cores), and the neighbours' share (% of one core): at or above either,
   * the gateway or the bench may have waited for a core. */
  machineBusyPercent: number;
  othersCpuPercentOfCore: number;
}

export const defaultBounds: PublishBounds = {
  deliveryRatio: 0.9,
  latencyP99Ms: 100,
  gatewayCpuPercentOfCore: 90,
  loadGeneratorLagMs: 50,
  offeredRatio: 0.95,
  loadGeneratorBusy: 0.8,
  machineBusyPercent: 95,
  othersCpuPercentOfCore: 50,
};

export interface StepFigures {
  publishes: number;
  routed: number;
  deliveryRatio: number;
  worstPublishDeliveryRatio: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  gatewayCpuPercentOfCore: number;
  /** Sent / scheduled messages over the window. */
  offeredRatio: number;
  publisherLateP99Ms: number;
  publisherLagP99Ms: number;
  sinkLagP99Ms: number;
  /** How busy each load generator thread's event loop was (0..1): near 1, it is saturated itself. */
  publisherBusy: number;
  sinkBusy: number;
  /** The bench process (publishers, sink, bookkeeping), % of one core. */
  loadGeneratorCpuPercentOfCore: number;
  machineBusyPercent: number;
  /** The machine's busy CPU less the gateway's and the bench's: what the neighbours took, % of one core. */
  othersCpuPercentOfCore: number;
  loadAverage1m: number;
}

export type PublishLimit = 'notRouted' | 'gatewayCpu' | 'loadGenerator' | 'machine' | 'delivery' | 'latencyP99' | 'cap';

/** Why a step is not carried (undefined: it is). A step failed while the load generator lagged, or while the
 * neighbours crowded the machine, is blamed on those: only the gateway's own CPU, refusals and losses with the load
 * offered and cores to spare count as its limit. A lagging load generator is `loadGenerator` when one of its
 * threads was saturated (or nothing else explains it), `machine` when it was starved by the neighbours. */
export function stepLimit(step: StepFigures, bounds: PublishBounds): PublishLimit | undefined {
  if (step.routed < step.publishes) return 'notRouted';
  if (step.gatewayCpuPercentOfCore > bounds.gatewayCpuPercentOfCore) return 'gatewayCpu';
  const crowded =
    step.machineBusyPercent >= bounds.machineBusyPercent ||
    step.othersCpuPercentOfCore >= bounds.othersCpuPercentOfCore;
  const lag = Math.max(step.publisherLateP99Ms, step.publisherLagP99Ms, step.sinkLagP99Ms);
  if (lag > bounds.loadGeneratorLagMs || step.offeredRatio < bounds.offeredRatio) {
    const saturated = Math.max(step.publisherBusy, step.sinkBusy) >= bounds.loadGeneratorBusy;
    return crowded && !saturated ? 'machine' : 'loadGenerator';
  }
  const delivery = Math.min(step.deliveryRatio, step.worstPublishDeliveryRatio) < bounds.deliveryRatio;
  const latency = step.latencyP99Ms > bounds.latencyP99Ms;
  if ((delivery || latency) && crowded) return 'machine';
  if (delivery) return 'delivery';
  if (latency) return 'latencyP99';
  return undefined;
}

export interface PublishCapacity {
  kbps: number;
  /** Publishes of the last step within every bound (0: not even the first). */
  carried: number;
  stepsTried: number;
  /** At the last good step, and per publish there (its idle baseline subtracted). */
  gatewayCpuPercentOfCore: number;
  gatewayCpuPercentOfCorePerPublish: number;
  gatewayIdleCpuPercentOfCore: number;
  limitedBy: PublishLimit;
  perStep: number;
  stepSeconds: number;
  bounds: PublishBounds;
  steps: StepFigures[];
}

export interface PublishCapacityOptions {
  kbps: number;
  perStep: number;
  stepSeconds: number;
  maxPublishes: number;
  /** The whole part, gateway start to the last step. */
  maxSeconds: number;
  bounds?: PublishBounds;
  log?: (message: string) => void;
}

type ReplyTo<T extends PublisherRequest['type']> = Extract<PublisherReply, { type: T }>;

interface Publishers {
  ask<T extends PublisherRequest['type']>(request: Extract<PublisherRequest, { type: T }>): Promise<ReplyTo<T>>;
  close(): Promise<void>;
}

/** The publisher thread, one request at a time (each answered within 30 s or failed). */
function publisherThread(): Publishers {
  const worker = new Worker(new URL('./gateway-publishes-worker.ts', import.meta.url));
  const ask = <T extends PublisherRequest['type']>(request: Extract<PublisherRequest, { type: T }>) =>
    new Promise<ReplyTo<T>>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        worker.off('message', onMessage).off('error', onError).off('exit', onError);
      };
      const onMessage = (reply: PublisherReply) => {
        done();
        if (reply.type === request.type) resolve(reply as ReplyTo<T>);
        else reject(new Error(`the publisher thread answered ${reply.type} to ${request.type}`));
      };
      const onError = (err: unknown) => {
        done();
        reject(err instanceof Error ? err : new Error(`the publisher thread exited (${String(err)})`));
      };
      const timer = setTimeout(() => onError(new Error(`the publisher thread did not answer ${request.type}`)), 30_000);
      worker.on('message', onMessage).once('error', onError).once('exit', onError);
      worker.postMessage(request);
    });
  return {
    ask,
    close: async () => {
      await ask({ type: 'stop' }).catch(() => {});
      await worker.terminate();
    },
  };
}

/** Counters at one instant of a step: totals so far, differenced over the window. */
interface Snapshot {
  at: number;
  sent: number[]; // messages per publish id
  received: number[];
  gatewayCpuSeconds: number;
  ownCpu: NodeJS.CpuUsage;
  machine: { busy: number; total: number };
}

interface WindowExtras {
  routed: number;
  latencies: number[];
  publisherLateP99Ms: number;
  publisherLagP99Ms: number;
  sinkLagP99Ms: number;
  publisherBusy: number;
  sinkBusy: number;
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** A step's figures from the snapshots at the start and the end of its window. */
export function stepFigures(a: Snapshot, b: Snapshot, extras: WindowExtras): StepFigures {
  const wall = (b.at - a.at) / 1000;
  const sent = b.sent.map((n, id) => n - (a.sent[id] ?? 0));
  const received = sent.map((_, id) => (b.received[id] ?? 0) - (a.received[id] ?? 0));
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const ratios = sent.map((n, id) => (n > 0 ? received[id]! / n : 0));
  const gatewayCpu = ((b.gatewayCpuSeconds - a.gatewayCpuSeconds) / wall) * 100;
  const ownCpu = ((b.ownCpu.user + b.ownCpu.system - a.ownCpu.user - a.ownCpu.system) / 1e6 / wall) * 100;
  const machineCpu = ((b.machine.busy - a.machine.busy) / wall) * 100;
  return {
    publishes: sent.length,
    routed: extras.routed,
    deliveryRatio: round(sum(received) / Math.max(1, sum(sent)), 3),
    worstPublishDeliveryRatio: round(Math.min(...ratios), 3),
    latencyP50Ms: round(percentile(extras.latencies, 50)),
    latencyP99Ms: round(percentile(extras.latencies, 99)),
    gatewayCpuPercentOfCore: round(gatewayCpu, 1),
    offeredRatio: round(sum(sent) / (sent.length * 30 * wall), 3),
    publisherLateP99Ms: round(extras.publisherLateP99Ms, 1),
    publisherLagP99Ms: round(extras.publisherLagP99Ms, 1),
    sinkLagP99Ms: round(extras.sinkLagP99Ms, 1),
    publisherBusy: round(extras.publisherBusy),
    sinkBusy: round(extras.sinkBusy),
    loadGeneratorCpuPercentOfCore: round(ownCpu, 1),
    machineBusyPercent: round(((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) * 100, 1),
    othersCpuPercentOfCore: round(Math.max(0, machineCpu - gatewayCpu - ownCpu), 1),
    loadAverage1m: round(loadavg()[0] ?? 0),
  };
}

/** The backend every route points at: messages per publish id, and the latencies of the current window. */
async function startCountingSink() {
  const received: number[] = [];
  let latencies: number[] = [];
  const server = await startRtmpSink((ms, payload) => {
    const id = payload.readUInt32BE(8);
    received[id] = (received[id] ?? 0) + 1;
    latencies.push(ms);
  });
  return {
    port: (server.address() as AddressInfo).port,
    received,
    /** The latencies since the last call. */
    takeLatencies: () => [latencies, (latencies = [])][0]!,
    close: () => server.close(),
  };
}

type CountingSink = Awaited<ReturnType<typeof startCountingSink>>;

/** Starts `perStep` more publishes, waits for their answers, then measures one window of `stepSeconds`. */
async function runStep(
  gateway: GatewayProcess,
  sink: CountingSink,
  publishers: Publishers,
  routes: GatewayRoute[],
  statuses: string[],
  options: PublishCapacityOptions,
): Promise<StepFigures> {
  const keys = routes.slice(statuses.length, statuses.length + options.perStep).map((r, i) => ({
    key: r.key,
    id: statuses.length + i,
  }));
  const started = await publishers.ask({ type: 'start', port: gateway.rtmpPort, kbps: options.kbps, keys });
  statuses.push(...started.statuses);
  await sleep(1_000); // the new publishes' first messages through, before the window
  const sinkLag = monitorEventLoopDelay({ resolution: 10 });
  const snapshot = async (sent: number[]): Promise<Snapshot> => ({
    at: performance.now(),
    sent,
    received: [...sink.received],
    gatewayCpuSeconds: await gateway.cpuSeconds(),
    ownCpu: process.cpuUsage(),
    machine: await machineCpuSeconds(),
  });
  const a = await snapshot((await publishers.ask({ type: 'sample' })).sentMessages);
  sink.takeLatencies();
  sinkLag.enable();
  const sinkLoop = performance.eventLoopUtilization();
  await sleep(options.stepSeconds * 1000);
  const end = await publishers.ask({ type: 'sample' });
  const b = await snapshot(end.sentMessages);
  sinkLag.disable();
  return stepFigures(a, b, {
    routed: statuses.filter((s) => s === publishStarted).length,
    latencies: sink.takeLatencies(),
    publisherLateP99Ms: end.lateP99Ms,
    publisherLagP99Ms: end.lagP99Ms,
    sinkLagP99Ms: sinkLag.percentile(99) / 1e6,
    publisherBusy: end.busy,
    sinkBusy: performance.eventLoopUtilization(sinkLoop).utilization,
  });
}

export async function measurePublishCapacity(options: PublishCapacityOptions): Promise<PublishCapacity> {
  const bounds = options.bounds ?? defaultBounds;
  const log = options.log ?? (() => {});
  const t0 = performance.now();
  const sink = await startCountingSink();
  // A channel, and a key, per publish: one publisher per channel.
  const routes: GatewayRoute[] = Array.from({ length: options.maxPublishes }, (_, i) => ({
    key: randomBytes(16).toString('hex'),
    namespace: 'bench',
    name: `pub-${i}`,
    rtmp: `127.0.0.1:${sink.port}`,
    http: '127.0.0.1:1',
  }));
  let gateway: GatewayProcess | undefined;
  let publishers: Publishers | undefined;
  try {
    gateway = await startGatewayProcess({ routes });
    publishers = publisherThread();
    const idle0 = [await gateway.cpuSeconds(), performance.now()] as const;
    await sleep(2_000);
    const idle = ((await gateway.cpuSeconds()) - idle0[0]) / ((performance.now() - idle0[1]) / 1000);
    const statuses: string[] = [];
    const steps: StepFigures[] = [];
    let limitedBy: PublishLimit = 'cap';
    const stepCost = options.stepSeconds + 2; // the window, the settle and the answers
    while (statuses.length < options.maxPublishes && (performance.now() - t0) / 1000 + stepCost <= options.maxSeconds) {
      const step = await runStep(gateway, sink, publishers, routes, statuses, options);
      steps.push(step);
      log(`${step.publishes} publishes: ${JSON.stringify(step)}`);
      const limit = stepLimit(step, bounds);
      if (limit) {
        limitedBy = limit;
        break;
      }
    }
    return summarize(steps, limitedBy, idle * 100, bounds, options);
  } finally {
    await publishers?.close();
    await gateway?.close();
    sink.close();
  }
}

function summarize(
  steps: StepFigures[],
  limitedBy: PublishLimit,
  idlePercent: number,
  bounds: PublishBounds,
  options: PublishCapacityOptions,
): PublishCapacity {
  const good = limitedBy === 'cap' ? steps.at(-1) : steps.at(-2);
  const cpu = good?.gatewayCpuPercentOfCore ?? NaN;
  return {
    kbps: options.kbps,
    carried: good?.publishes ?? 0,
    stepsTried: steps.length,
    gatewayCpuPercentOfCore: cpu,
    gatewayCpuPercentOfCorePerPublish: good ? round((cpu - idlePercent) / good.publishes, 3) : NaN,
    gatewayIdleCpuPercentOfCore: round(idlePercent, 1),
    limitedBy,
    perStep: options.perStep,
    stepSeconds: options.stepSeconds,
    bounds,
    steps,
  };
}
