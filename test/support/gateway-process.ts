// The real gateway entry point (`node gateway/src/main.ts`) as a child process, for the benchmarks and the tests that
// need it as it runs in its pod: a routing secret and a route table of its own (written atomically, as the kubelet
// swaps a mounted Secret), ports on loopback, its metrics and its CPU time (from /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  encodeRouteTable,
  routeKeyHash,
  routeTableFileName,
  serializeRouteTable,
  type RouteEntry,
  type ChannelAccess,
} from '../../contract/src/route-table.ts';
import { adminDirectoryPath, type DirectoryUpdate } from '../../contract/src/portal-directory.ts';
import { cpuSeconds } from './process-cpu.ts';
import { pickFreePort } from './redis-process.ts';
import { waitFor } from './wait-for.ts';

const repo = path.join(import.meta.dirname, '..', '..');

/** A channel of the route table: its key in plaintext (the table holds only its keyed hash) and its backends. */
export type GatewayRoute = Omit<RouteEntry, 'keyHash' | 'app'> & { key: string; app?: string };

export interface GatewayProcess {
  process: ChildProcess;
  rtmpPort: number;
  httpPort: number;
  /** Replaces the route table (with `access`: the channels' viewing rules); picked up within the poll interval. */
  writeRoutes(routes: GatewayRoute[], access?: ChannelAccess[]): Promise<void>;
  /** The text of its /metrics. */
  metrics(): Promise<string>;
  /** The admin bearer token it was started with (its file unless the env names another). */
  adminToken: string;
  /** POST /admin/directory with the admin token, as the operator pushes it: the status and the parsed answer. */
  pushDirectory(update: DirectoryUpdate): Promise<{ status: number; body: unknown }>;
  /** User + system CPU seconds the process has used so far. */
  cpuSeconds(): Promise<number>;
  output(): string;
  close(): Promise<void>;
}

export async function startGatewayProcess(options: {
  routes: GatewayRoute[];
  env?: Record<string, string>;
}): Promise<GatewayProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-process-'));
  const secret = randomBytes(32).toString('hex');
  const secretFile = path.join(dir, 'routing-secret');
  const tableFile = path.join(dir, routeTableFileName);
  await writeFile(secretFile, secret + '\n', { mode: 0o600 });
  const adminToken = randomBytes(24).toString('hex');
  const adminTokenFile = path.join(dir, 'admin-token');
  await writeFile(adminTokenFile, adminToken + '\n', { mode: 0o600 });
  const writeRoutes = async (routes: GatewayRoute[], access?: ChannelAccess[]) => {
    const entries = routes.map(({ key, app, ...route }) => ({
      keyHash: routeKeyHash(secret, key),
      app: app ?? 'live',
      ...route,
    }));
    // Compressed, as the operator writes it into the routes Secret.
    await writeFile(
      `${tableFile}.tmp`,
      encodeRouteTable(serializeRouteTable({ version: 1, entries, ...(access && { access }) })),
    );
    await rename(`${tableFile}.tmp`, tableFile);
  };
  await writeRoutes(options.routes);
  const [rtmpPort, httpPort] = [await pickFreePort(), await pickFreePort()];
  const child = spawn(process.execPath, ['gateway/src/main.ts'], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      LOG_LEVEL: 'warn',
      LSO_GATEWAY_HOST: '127.0.0.1',
      LSO_GATEWAY_RTMP_PORT: String(rtmpPort),
      LSO_GATEWAY_HTTP_PORT: String(httpPort),
      LSO_GATEWAY_ROUTE_TABLE: tableFile,
      LSO_GATEWAY_ROUTING_SECRET_FILE: secretFile,
      LSO_GATEWAY_POLL_MS: '100',
      LSO_GATEWAY_ADMIN_TOKEN_FILE: adminTokenFile,
      ...options.env,
    },
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(force);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('the gateway to be ready', () => fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok), {
      timeoutMs: 30_000,
      abort: () => (child.exitCode !== null ? `it exited: ${out.slice(-2000)}` : undefined),
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    process: child,
    rtmpPort,
    httpPort,
    writeRoutes,
    metrics: () => fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text()),
    adminToken,
    pushDirectory: async (update) => {
      const res = await fetch(`http://127.0.0.1:${httpPort}${adminDirectoryPath}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(update),
      });
      return { status: res.status, body: await res.json() };
    },
    cpuSeconds: () => cpuSeconds(child.pid!),
    output: () => out,
    close,
  };
}
