// What the gateway reads from its environment, resolved by a pure function. Names are the gateway's own until the
// chart sets them (LSO_GATEWAY_*); the defaults are those of its pod.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { defaultRefusalPolicy } from '../../../contract/src/refusal-limiter.ts';

type Env = Readonly<Record<string, string | undefined>>;

export const gatewayEnv = {
  rtmpPort: 'LSO_GATEWAY_RTMP_PORT',
  httpPort: 'LSO_GATEWAY_HTTP_PORT',
  host: 'LSO_GATEWAY_HOST',
  routeTable: 'LSO_GATEWAY_ROUTE_TABLE',
  routingSecretFile: 'LSO_GATEWAY_ROUTING_SECRET_FILE',
  cacheBytes: 'LSO_GATEWAY_CACHE_BYTES',
  refusalBurst: 'LSO_GATEWAY_REFUSAL_BURST',
  refusalRefillMs: 'LSO_GATEWAY_REFUSAL_REFILL_MS',
  pollMs: 'LSO_GATEWAY_POLL_MS',
  rtmpsPort: 'LSO_GATEWAY_RTMPS_PORT',
  httpsPort: 'LSO_GATEWAY_HTTPS_PORT',
  tlsCertFile: 'LSO_GATEWAY_TLS_CERT_FILE',
  tlsKeyFile: 'LSO_GATEWAY_TLS_KEY_FILE',
  trustForwarded: 'LSO_GATEWAY_TRUST_FORWARDED',
  adminTokenFile: 'LSO_GATEWAY_ADMIN_TOKEN_FILE',
  playbackKeysDir: 'LSO_GATEWAY_PLAYBACK_KEYS_DIR',
  whipMaxSessions: 'LSO_GATEWAY_WHIP_MAX_SESSIONS',
  whipUdpPorts: 'LSO_GATEWAY_WHIP_UDP_PORTS',
  whipAnnounceAddresses: 'LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES',
  whipIceServersFile: 'LSO_GATEWAY_WHIP_ICE_SERVERS_FILE',
} as const;

export const gatewayDefaults = {
  rtmpPort: 1935,
  httpPort: 8080,
  routeTable: '/etc/livestream-gateway/routes/routes.json.gz',
  routingSecretFile: '/etc/livestream-gateway/secret/routing-secret',
  cacheBytes: 256 * 1024 * 1024,
  refusalBurst: defaultRefusalPolicy.burst,
  refusalRefillMs: defaultRefusalPolicy.refillMs,
  pollMs: 1_000,
  rtmpsPort: 1936,
  httpsPort: 8443,
  trustForwarded: 0, // X-Forwarded-For is the client's own claim unless a proxy in front is trusted to write it
  adminTokenFile: '/etc/livestream-gateway/admin/token',
  playbackKeysDir: '/etc/livestream/playback-keys', // where the chart mounts the playback keys Secret
  whipMaxSessions: 16, // each WHIP publish runs an ffmpeg (Opus to AAC): about 15 % of a core
} as const;

// Where the chart mounts a kubernetes.io/tls Secret (its keys tls.crt and tls.key). No default in the gateway itself:
// TLS is on only when both files are named.
export const tlsMountPaths = {
  certFile: '/etc/livestream-gateway/tls/tls.crt',
  keyFile: '/etc/livestream-gateway/tls/tls.key',
} as const;

/** RTMPS and HTTPS, in front of the same RTMP sessions and HTTP handler as the plain listeners. */
export interface TlsSettings {
  certPath: string;
  keyPath: string;
  rtmpsPort: number;
  httpsPort: number;
}

export interface GatewaySettings {
  host: string;
  rtmpPort: number;
  httpPort: number;
  routeTablePath: string;
  routingSecretPath: string;
  cacheBytes: number;
  refusals: { burst: number; refillMs: number };
  pollMs: number;
  /** undefined: no certificate configured, no RTMPS or HTTPS listener. */
  tls: TlsSettings | undefined;
  /** Proxies in front trusted to write X-Forwarded-For (viewer identity); 0: the socket's address counts. */
  trustedProxies: number;
  /** The admin endpoints' bearer token (no file: they answer 503). */
  adminTokenPath: string;
  /** The playback token keys: `<kid>.key` files (PKCS#8 PEM P-256); a missing directory is no keys. */
  playbackKeysDir: string;
  /** Concurrent WHIP publishes this replica takes at most; 0: WHIP refused (503). */
  whipMaxSessions: number;
  /** Where WHIP media reaches this replica (whip-session.ts hands it to werift). */
  whipNetwork: WhipNetwork;
}

/** A STUN or TURN server, as RTCIceServer has it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface WhipNetwork {
  /** The UDP ports ICE binds, [first, last]; undefined: ephemeral ports. */
  udpPorts: [number, number] | undefined;
  /** Addresses added as host candidates (the node's, a load balancer's): reachable addresses the pod does not own. */
  announceAddresses: string[];
  /** STUN/TURN servers (TURN credentials included), read from LSO_GATEWAY_WHIP_ICE_SERVERS_FILE at start. */
  iceServers: IceServer[];
}

// werift binds one UDP socket per host address per session (bundle and rtcp-mux: one component; measured with
// `ss -uanp` on a session with one announce address: 2 sockets, 2 consecutive ports of the range). A pod has one
// interface besides loopback (eth0), hence 1 + the announce addresses.
export const whipPortsPerSession = (announceAddresses: readonly string[]): number => 1 + announceAddresses.length;

export class SettingsError extends Error {}

function int(env: Env, name: keyof typeof gatewayEnv, min: number, max: number): number {
  const value = env[gatewayEnv[name]];
  if (value === undefined || value === '') return gatewayDefaults[name as keyof typeof gatewayDefaults] as number;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new SettingsError(`${gatewayEnv[name]} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return n;
}

const text = (env: Env, name: keyof typeof gatewayEnv, fallback: string): string => {
  const value = env[gatewayEnv[name]];
  return value === undefined || value === '' ? fallback : value;
};

function tlsSettings(env: Env): TlsSettings | undefined {
  const rtmpsPort = int(env, 'rtmpsPort', 0, 65535);
  const httpsPort = int(env, 'httpsPort', 0, 65535);
  const cert = text(env, 'tlsCertFile', '');
  const key = text(env, 'tlsKeyFile', '');
  if (cert === '' && key === '') return undefined;
  if (cert === '' || key === '') {
    const missing = cert === '' ? gatewayEnv.tlsCertFile : gatewayEnv.tlsKeyFile;
    throw new SettingsError(`${missing} must be set too: TLS needs both the certificate and its key`);
  }
  return { certPath: path.resolve(cert), keyPath: path.resolve(key), rtmpsPort, httpsPort };
}

// Two listeners on one fixed port would fail at bind with EADDRINUSE and no hint of which variable is wrong.
function checkDistinctPorts(ports: (readonly [keyof typeof gatewayEnv, number])[]): void {
  const fixed = ports.filter(([, port]) => port !== 0);
  for (const [i, [name, port]] of fixed.entries()) {
    const other = fixed.slice(0, i).find(([, p]) => p === port);
    if (other) throw new SettingsError(`${gatewayEnv[name]} and ${gatewayEnv[other[0]]} are both ${port}`);
  }
}

export function gatewaySettings(env: Env): GatewaySettings {
  const rtmpPort = int(env, 'rtmpPort', 0, 65535);
  const httpPort = int(env, 'httpPort', 0, 65535);
  const tls = tlsSettings(env);
  checkDistinctPorts([
    ['rtmpPort', rtmpPort],
    ['httpPort', httpPort],
    ...(tls
      ? ([
          ['rtmpsPort', tls.rtmpsPort],
          ['httpsPort', tls.httpsPort],
        ] as const)
      : []),
  ]);
  return {
    host: text(env, 'host', '0.0.0.0'),
    rtmpPort,
    httpPort,
    routeTablePath: path.resolve(text(env, 'routeTable', gatewayDefaults.routeTable)),
    routingSecretPath: path.resolve(text(env, 'routingSecretFile', gatewayDefaults.routingSecretFile)),
    cacheBytes: int(env, 'cacheBytes', 1024 * 1024, 64 * 1024 * 1024 * 1024),
    refusals: { burst: int(env, 'refusalBurst', 1, 10_000), refillMs: int(env, 'refusalRefillMs', 1, 3_600_000) },
    pollMs: int(env, 'pollMs', 50, 60_000),
    tls,
    trustedProxies: trustedProxies(env),
    adminTokenPath: path.resolve(text(env, 'adminTokenFile', gatewayDefaults.adminTokenFile)),
    playbackKeysDir: path.resolve(text(env, 'playbackKeysDir', gatewayDefaults.playbackKeysDir)),
    whipMaxSessions: int(env, 'whipMaxSessions', 0, 1_000),
    whipNetwork: whipNetwork(env, int(env, 'whipMaxSessions', 0, 1_000)),
  };
}

export type ReadText = (file: string) => string;

/** The WHIP network settings; `read` reads the ICE servers file (injected for tests). */
export function whipNetwork(env: Env, maxSessions: number, read: ReadText = (f) => readFileSync(f, 'utf8')) {
  const announceAddresses = (env[gatewayEnv.whipAnnounceAddresses] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  for (const a of announceAddresses) {
    if (isIP(a) === 0) throw new SettingsError(`${gatewayEnv.whipAnnounceAddresses} holds "${a}", not an IP address`);
  }
  const udpPorts = portRange(env[gatewayEnv.whipUdpPorts]);
  const needed = maxSessions * whipPortsPerSession(announceAddresses);
  if (udpPorts && udpPorts[1] - udpPorts[0] + 1 < needed) {
    throw new SettingsError(
      `${gatewayEnv.whipUdpPorts} holds ${udpPorts[1] - udpPorts[0] + 1} ports; ${gatewayEnv.whipMaxSessions}=${maxSessions} ` +
        `sessions need ${needed} (${whipPortsPerSession(announceAddresses)} each: one per host address)`,
    );
  }
  const file = env[gatewayEnv.whipIceServersFile] ?? '';
  const iceServers = file === '' ? [] : iceServersFrom(file, read);
  return { udpPorts, announceAddresses: [...new Set(announceAddresses)], iceServers } satisfies WhipNetwork;
}

function portRange(value: string | undefined): [number, number] | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(\d+)-(\d+)$/.exec(value.trim());
  const [first, last] = [Number(m?.[1]), Number(m?.[2])];
  // werift refuses a range whose ends are equal ("Minimum port and Maximum port must not be the same value").
  if (!m || first < 1024 || last > 65535 || first >= last) {
    throw new SettingsError(
      `${gatewayEnv.whipUdpPorts} must be "first-last", 1024 <= first < last <= 65535 (got ${value})`,
    );
  }
  return [first, last];
}

function iceServersFrom(file: string, read: ReadText): IceServer[] {
  const name = gatewayEnv.whipIceServersFile;
  let parsed: unknown;
  try {
    parsed = JSON.parse(read(file));
  } catch (err) {
    // The message names the file and the failure, never the content (it holds TURN credentials).
    const why =
      err instanceof SyntaxError
        ? 'is not valid JSON'
        : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    throw new SettingsError(`${name}: ${file} ${why}`);
  }
  if (!Array.isArray(parsed))
    throw new SettingsError(`${name}: ${file} must hold a JSON list of {urls, username?, credential?}`);
  return parsed.map((entry: unknown, i) => iceServer(entry, `${name}: ${file}, entry ${i}`));
}

function iceServer(entry: unknown, where: string): IceServer {
  const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  const urls = typeof e.urls === 'string' ? [e.urls] : e.urls;
  if (
    !Array.isArray(urls) ||
    urls.length === 0 ||
    !urls.every((u) => typeof u === 'string' && /^(stuns?|turns?):/.test(u))
  ) {
    throw new SettingsError(`${where}: urls must be a stun:, stuns:, turn: or turns: URL or a list of them`);
  }
  for (const field of ['username', 'credential'] as const) {
    if (e[field] !== undefined && typeof e[field] !== 'string')
      throw new SettingsError(`${where}: ${field} must be a string`);
  }
  const turn = urls.some((u) => /^turns?:/.test(u as string));
  if (turn && (typeof e.username !== 'string' || typeof e.credential !== 'string')) {
    throw new SettingsError(`${where}: a TURN server needs username and credential`);
  }
  return {
    urls: urls as string[],
    ...(typeof e.username === 'string' && { username: e.username }),
    ...(typeof e.credential === 'string' && { credential: e.credential }),
  };
}

/** LSO_GATEWAY_TRUST_FORWARDED: how many proxies in front write X-Forwarded-For; `true` is one, `false` none. */
function trustedProxies(env: Env): number {
  const value = env[gatewayEnv.trustForwarded];
  if (value === 'true') return 1;
  if (value === 'false') return 0;
  return int(env, 'trustForwarded', 0, 10);
}
