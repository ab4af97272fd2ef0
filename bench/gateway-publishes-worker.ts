// The publishers of bench/gateway-publishes.ts, in a thread of their own: their timers never wait behind the sink's
// parsing or the bench's bookkeeping, and their own lag (how late each message went against its schedule, and this
// thread's event loop delay) is measured apart, so a saturated load generator is seen as such.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { percentile, startPublish, type TestPublish } from '../test/support/gateway-rtmp-measure.ts';

export type PublisherRequest =
  | { type: 'start'; port: number; kbps: number; keys: { key: string; id: number }[] }
  | { type: 'sample' }
  | { type: 'stop' };

export type PublisherReply =
  | { type: 'start'; statuses: string[] }
  | { type: 'sample'; sentMessages: number[]; sentBytes: number; lateP99Ms: number; lagP99Ms: number; busy: number }
  | { type: 'stop' };

const publishes: TestPublish[] = [];
let late: number[] = [];
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
let elu = performance.eventLoopUtilization();

async function answer(request: PublisherRequest): Promise<PublisherReply> {
  if (request.type === 'start') {
    const started = request.keys.map(({ key, id }) =>
      startPublish({ port: request.port, key, id, kbps: request.kbps, onSent: (ms) => late.push(ms) }),
    );
    publishes.push(...started);
    return { type: 'start', statuses: await Promise.all(started.map((p) => p.status)) };
  }
  if (request.type === 'sample') {
    // Since the last sample: lateness, loop delay and how busy the loop was (0..1); the sent counts are totals.
    const reply: PublisherReply = {
      type: 'sample',
      sentMessages: publishes.map((p) => p.sent.messages),
      sentBytes: publishes.reduce((n, p) => n + p.sent.bytes, 0),
      lateP99Ms: percentile(late, 99) || 0,
      lagP99Ms: lag.percentile(99) / 1e6,
      busy: performance.eventLoopUtilization(elu).utilization,
    };
    elu = performance.eventLoopUtilization();
    late = [];
    lag.reset();
    return reply;
  }
  publishes.forEach((p) => p.stop());
  await Promise.all(publishes.map((p) => p.done));
  lag.disable();
  return { type: 'stop' };
}

parentPort!.on('message', (request: PublisherRequest) => {
  void answer(request).then((reply) => {
    parentPort!.postMessage(reply);
    if (reply.type === 'stop') parentPort!.close();
  });
});
