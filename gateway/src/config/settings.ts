// What the gateway reads from its environment, resolved by a pure function. Names are the gateway's own until the
// chart sets them (LSO_GATEWAY_*); the defaults are those of its pod.
import path from 'node:path';

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
  trustForwarded: 'LSO_GATEWAY_TRUST_FORWARDED',
  adminTokenFile: 'LSO_GATEWAY_ADMIN_TOKEN_FILE',
} as const;

export const gatewayDefaults = {
  rtmpPort: 1935,
  httpPort: 8080,
  routeTable: '/etc/livestream-gateway/routes/routes.json',
  routingSecretFile: '/etc/livestream-gateway/secret/routing-secret',
  cacheBytes: 256 * 1024 * 1024,
  refusalBurst: 10,
  refusalRefillMs: 6_000, // ten refused tries a minute per address, after the burst
  pollMs: 1_000,
  trustForwarded: 0, // X-Forwarded-For is the client's own claim unless a proxy in front is trusted to write it
  adminTokenFile: '/etc/livestream-gateway/admin/token',
} as const;

export interface GatewaySettings {
  host: string;
  rtmpPort: number;
  httpPort: number;
  routeTablePath: string;
  routingSecretPath: string;
  cacheBytes: number;
  refusals: { burst: number; refillMs: number };
  pollMs: number;
  /** Proxies in front trusted to write X-Forwarded-For (viewer identity); 0: the socket's address counts. */
  trustedProxies: number;
  /** The admin endpoints' bearer token (no file: they answer 503). */
  adminTokenPath: string;
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

export function gatewaySettings(env: Env): GatewaySettings {
  return {
    host: text(env, 'host', '0.0.0.0'),
    rtmpPort: int(env, 'rtmpPort', 0, 65535),
    httpPort: int(env, 'httpPort', 0, 65535),
    routeTablePath: path.resolve(text(env, 'routeTable', gatewayDefaults.routeTable)),
    routingSecretPath: path.resolve(text(env, 'routingSecretFile', gatewayDefaults.routingSecretFile)),
    cacheBytes: int(env, 'cacheBytes', 1024 * 1024, 64 * 1024 * 1024 * 1024),
    refusals: { burst: int(env, 'refusalBurst', 1, 10_000), refillMs: int(env, 'refusalRefillMs', 1, 3_600_000) },
    pollMs: int(env, 'pollMs', 50, 60_000),
    trustedProxies: trustedProxies(env),
    adminTokenPath: path.resolve(text(env, 'adminTokenFile', gatewayDefaults.adminTokenFile)),
  };
}

/** LSO_GATEWAY_TRUST_FORWARDED: how many proxies in front write X-Forwarded-For; `true` is one, `false` none. */
function trustedProxies(env: Env): number {
  const value = env[gatewayEnv.trustForwarded];
  if (value === 'true') return 1;
  if (value === 'false') return 0;
  return int(env, 'trustForwarded', 0, 10);
}
