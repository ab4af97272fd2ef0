// What routing through the gateway costs, measured side by side in one run: a publisher sending video messages at a
// given bitrate, each stamped with its send time, to a backend that reads them with the send-time clock (both in
// this process), once directly and once through the real gateway (its entry point, a child process, whose CPU is
// read from /proc). Latency is per message, send to arrival at the backend; CPU is the gateway process's user +
// system time over the publish. For ADR 0011 and `make bench-gateway` (bench/gateway.ts); its sink and publisher
// (startRtmpSink, startPublish) also drive bench/gateway-publishes.ts.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { decodeCommand } from '../../gateway/src/rtmp/amf0.ts';
import { ChunkReader, encodeMessage, messageType, type RtmpMessage } from '../../gateway/src/rtmp/chunk-stream.ts';
import * as m from '../../gateway/src/rtmp/messages.ts';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.ts';

const hs = m.handshakeSize;

/** Reads exactly n bytes, then hands the rest of the socket's data to `rest`. */
function readExactly(socket: net.Socket, n: number, rest: (d: Buffer) => void): Promise<Buffer> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < n) return;
      socket.off('data', onData);
      socket.on('data', rest);
      resolve(got.subarray(0, n));
      if (got.length > n) rest(got.subarray(n));
    };
    socket.on('data', onData);
  });
}

/** A minimal RTMP server that accepts any publish and reports each video message it receives: its latency (ms, from
 * the send stamp in its first 8 bytes; process.hrtime is the machine's monotonic clock, so the publisher may run in
 * another thread or process) and its payload (bytes 8-11: the publisher's `id`). */
export async function startRtmpSink(onVideo: (latencyMs: number, payload: Buffer) => void): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const reader = new ChunkReader({ maxMessageBytes: 1 << 24 });
    const send = (msg: RtmpMessage) => socket.write(encodeMessage(msg, 4096));
    const onMessage = (msg: RtmpMessage) => {
      if (msg.typeId === messageType.video) {
        onVideo(Number(process.hrtime.bigint() - msg.payload.readBigInt64BE(0)) / 1e6, msg.payload);
        return;
      }
      if (msg.typeId !== messageType.commandAmf0) return;
      const cmd = decodeCommand(msg.payload);
      if (cmd.name === 'connect') [m.setChunkSize(4096), m.connectResult(cmd.transactionId, 0)].forEach(send);
      if (cmd.name === 'createStream') send(m.createStreamResult(cmd.transactionId, 1));
      if (cmd.name === 'publish') send(m.onStatus(msg.streamId, 'status', 'NetStream.Publish.Start', 'ok'));
    };
    const chunks = (d: Buffer) => reader.push(d).forEach(onMessage);
    void readExactly(socket, 1 + hs, () => {}).then(async (c0c1) => {
      socket.write(m.serverHandshake(c0c1, randomBytes(hs))!);
      await readExactly(socket, hs, chunks);
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export const publishStarted = 'NetStream.Publish.Start';

export interface TestPublish {
  /** The code of the first onStatus it got (publishStarted once routed), or why none came ('timeout', 'closed'). */
  status: Promise<string>;
  /** Video messages and payload bytes written so far. */
  sent: { messages: number; bytes: number };
  /** Resolves once it has stopped sending and ended its connection. */
  done: Promise<void>;
  /** Ends the publish before its `seconds` (or for one without them). */
  stop(): void;
}

export interface TestPublishOptions {
  port: number;
  key: string;
  kbps: number;
  /** Written into bytes 8-11 of every payload: which publish a message is, for a sink shared by many. */
  id?: number;
  /** Sends this long after the start; without it, until stop(). */
  seconds?: number;
  /** Each message's lateness against its schedule (ms): the publisher's own lag, not the path's. */
  onSent?: (lateMs: number) => void;
  statusTimeoutMs?: number;
}

/** What onStatus code an RTMP answer carries, if it is one. */
function statusCode(msg: RtmpMessage): string | undefined {
  if (msg.typeId !== messageType.commandAmf0) return undefined;
  const cmd = decodeCommand(msg.payload);
  if (cmd.name !== 'onStatus') return undefined;
  const info = cmd.args[0];
  const code = info && typeof info === 'object' && !Array.isArray(info) && !(info instanceof Date) ? info.code : '';
  return typeof code === 'string' ? code : '';
}

/** Connects and publishes with `key`, then sends 30 video messages a second at `kbps`, each stamped with its send
 * time, on a fixed schedule (a late message goes at once: the rate holds). */
export function startPublish(options: TestPublishOptions): TestPublish {
  const socket = net.connect({ host: '127.0.0.1', port: options.port });
  socket.setNoDelay(true);
  const sent = { messages: 0, bytes: 0 };
  let stopped = false;
  let wake: () => void = () => {};
  let answered: (code: string) => void = () => {};
  const status = new Promise<string>((resolve) => (answered = resolve));
  const timer = setTimeout(() => answered('timeout'), options.statusTimeoutMs ?? 10_000);
  socket.on('error', () => answered('closed'));
  socket.on('close', () => answered('closed'));
  const reader = new ChunkReader({ maxMessageBytes: 1 << 20 });
  const onData = (d: Buffer) => {
    for (const msg of reader.push(d)) {
      const code = statusCode(msg);
      if (code !== undefined) answered(code);
    }
  };
  const send = (msg: RtmpMessage) => socket.write(encodeMessage(msg, 4096));
  const run = async () => {
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(m.clientHello(randomBytes(hs)));
    const s0s1s2 = await readExactly(socket, 1 + 2 * hs, onData);
    socket.write(m.clientAck(s0s1s2)!);
    send(m.setChunkSize(4096));
    send(m.command(0, 'connect', 1, { app: 'live', tcUrl: `rtmp://127.0.0.1:${options.port}/live` }));
    send(m.command(0, 'createStream', 2, null));
    send(m.command(1, 'publish', 3, null, options.key, 'live'));
    if ((await status) !== publishStarted) return;
    // One payload, restamped per message: encodeMessage copies it into the chunks.
    const payload = randomBytes(Math.max(12, Math.round((options.kbps * 1000) / 8 / 30)));
    payload.writeUInt32BE(options.id ?? 0, 8);
    const t0 = performance.now();
    const count = options.seconds === undefined ? Infinity : options.seconds * 30;
    for (let i = 0; i < count && !stopped && !socket.destroyed; i++) {
      const due = t0 + (i * 1000) / 30;
      const wait = due - performance.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, wait);
        });
      }
      if (stopped) break;
      options.onSent?.(Math.max(0, performance.now() - due));
      payload.writeBigInt64BE(process.hrtime.bigint(), 0);
      send({ csid: 6, timestamp: Math.round((i * 1000) / 30), typeId: messageType.video, streamId: 1, payload });
      sent.messages++;
      sent.bytes += payload.length;
    }
  };
  const done = run()
    .catch(() => {})
    .finally(() => {
      clearTimeout(timer);
      socket.end();
    });
  return {
    status,
    sent,
    done,
    stop: () => {
      stopped = true;
      wake();
    },
  };
}

/** Publishes `seconds` of video messages at `kbps` with `key`; resolves when sent. */
async function publish(port: number, key: string, kbps: number, seconds: number): Promise<void> {
  const p = startPublish({ port, key, kbps, seconds });
  const code = await p.status;
  if (code !== publishStarted) throw new Error(`the publish to port ${port} was not started: ${code}`);
  await p.done;
}

export const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

export interface RoutingCost {
  kbps: number;
  seconds: number;
  directP50Ms: number;
  directP99Ms: number;
  gatewayP50Ms: number;
  gatewayP99Ms: number;
  addedP50Ms: number;
  addedP99Ms: number;
  gatewayCpuPercentOfCore: number;
  gatewayIdleCpuPercentOfCore: number;
}

export async function measureRouting(options: { kbps: number; seconds: number }): Promise<RoutingCost> {
  const direct: number[] = [];
  const routed: number[] = [];
  const directBackend = await startRtmpSink((ms) => direct.push(ms));
  const routedBackend = await startRtmpSink((ms) => routed.push(ms));
  const key = randomBytes(16).toString('hex');
  const backendPort = (routedBackend.address() as AddressInfo).port;
  const route = { key, namespace: 'bench', name: 'ch', rtmp: `127.0.0.1:${backendPort}`, http: '127.0.0.1:1' };
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGatewayProcess({ routes: [route] });
    // The direct publish doubles as the gateway's idle baseline (its timers, file polls, metrics).
    const idleBefore = await gateway.cpuSeconds();
    const i0 = process.hrtime.bigint();
    await publish((directBackend.address() as AddressInfo).port, key, options.kbps, options.seconds);
    const idle = ((await gateway.cpuSeconds()) - idleBefore) / (Number(process.hrtime.bigint() - i0) / 1e9);
    const cpuBefore = await gateway.cpuSeconds();
    const t0 = process.hrtime.bigint();
    await publish(gateway.rtmpPort, key, options.kbps, options.seconds);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = (await gateway.cpuSeconds()) - cpuBefore;
    const result = {
      kbps: options.kbps,
      seconds: options.seconds,
      directP50Ms: percentile(direct, 50),
      directP99Ms: percentile(direct, 99),
      gatewayP50Ms: percentile(routed, 50),
      gatewayP99Ms: percentile(routed, 99),
      addedP50Ms: percentile(routed, 50) - percentile(direct, 50),
      addedP99Ms: percentile(routed, 99) - percentile(direct, 99),
      gatewayCpuPercentOfCore: (cpu / wall) * 100,
      gatewayIdleCpuPercentOfCore: idle * 100,
    };
    return Object.fromEntries(
      Object.entries(result).map(([k, v]) => [k, Math.round(v * 1000) / 1000]),
    ) as unknown as RoutingCost;
  } finally {
    await gateway?.close();
    directBackend.close();
    routedBackend.close();
  }
}
