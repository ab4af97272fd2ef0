// What the gateway reads from its environment, resolved by a pure function. Names are the gateway's own until the
// chart sets them (LSO_GATEWAY_*); the defaults are those of its pod.
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
}

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
  };
}

/** LSO_GATEWAY_TRUST_FORWARDED: how many proxies in front write X-Forwarded-For; `true` is one, `false` none. */
function trustedProxies(env: Env): number {
  const value = env[gatewayEnv.trustForwarded];
  if (value === 'true') return 1;
  if (value === 'false') return 0;
  return int(env, 'trustForwarded', 0, 10);
}
