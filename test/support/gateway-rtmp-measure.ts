// What routing through the gateway costs, measured side by side in one run: a publisher sending video messages at a
// given bitrate, each stamped with its send time, to a backend that reads them with the send-time clock (both in
// this process), once directly and once through the real gateway (its entry point, a child process, whose CPU is
// read from /proc). Latency is per message, send to arrival at the backend; CPU is the gateway process's user +
// system time over the publish. For ADR 0011 and `make bench-gateway` (bench/gateway.ts).
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

/** A minimal RTMP server that accepts any publish and records each video message's latency (ms). */
async function startBackend(latencies: number[]): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const reader = new ChunkReader({ maxMessageBytes: 1 << 24 });
    const send = (msg: RtmpMessage) => socket.write(encodeMessage(msg, 4096));
    const onMessage = (msg: RtmpMessage) => {
      if (msg.typeId === messageType.video) {
        latencies.push(Number(process.hrtime.bigint() - msg.payload.readBigInt64BE(0)) / 1e6);
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

/** Publishes `seconds` of video messages at `kbps` (30 a second) with `key`; resolves when sent. */
async function publish(port: number, key: string, kbps: number, seconds: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const reader = new ChunkReader({ maxMessageBytes: 1 << 20 });
  let started: () => void = () => {};
  const publishing = new Promise<void>((resolve) => (started = resolve));
  const onData = (d: Buffer) => {
    for (const msg of reader.push(d)) {
      if (msg.typeId === messageType.commandAmf0 && decodeCommand(msg.payload).name === 'onStatus') started();
    }
  };
  socket.write(m.clientHello(randomBytes(hs)));
  const s0s1s2 = await readExactly(socket, 1 + 2 * hs, onData);
  const send = (msg: RtmpMessage) => socket.write(encodeMessage(msg, 4096));
  socket.write(m.clientAck(s0s1s2)!);
  send(m.setChunkSize(4096));
  send(m.command(0, 'connect', 1, { app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` }));
  send(m.command(0, 'createStream', 2, null));
  send(m.command(1, 'publish', 3, null, key, 'live'));
  await publishing;
  const size = Math.round((kbps * 1000) / 8 / 30);
  for (let i = 0; i < seconds * 30; i++) {
    const payload = randomBytes(size);
    payload.writeBigInt64BE(process.hrtime.bigint(), 0);
    send({ csid: 6, timestamp: Math.round((i * 1000) / 30), typeId: messageType.video, streamId: 1, payload });
    await new Promise((r) => setTimeout(r, 1000 / 30));
  }
  socket.end();
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
  const directBackend = await startBackend(direct);
  const routedBackend = await startBackend(routed);
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
