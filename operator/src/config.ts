// The operator's settings, from its environment (the chart sets them). Pure: parse and validate, nothing else.
import { isIP } from 'node:net';
import type { PlacementSpec } from '../../contract/src/api/index.ts';
import { validateSpec } from '../../contract/src/api/validate.ts';
import { defaultFigureWritesPerSecond } from './controller/reconcile/figure-budget.ts';

export interface OperatorConfig {
  /** Image of the transcoder pods (transcoder and relay containers). */
  transcoderImage: string;
  /** Redis for the transcoders' reports; absent means status without publish state (a clear condition says so). */
  redisUrl: string | undefined;
  /** Channel streams per XREADGROUP; more are read in several non-blocking reads per round (events-consumer.ts). */
  reportStreamsPerRead: number;
  /** Watch one namespace only; all namespaces when absent. */
  watchNamespace: string | undefined;
  /** Namespace of the leader Lease (the operator's own). */
  leaseNamespace: string;
  leaseName: string;
  metricsPort: number;
  concurrency: number;
  resyncSeconds: number;
  /** A new leader whose caches have not synced by then gives the Lease up and exits (the pod restarts). */
  cacheSyncTimeoutSeconds: number;
  /** Cluster-wide budget of status writes per second that carry only live figures (figure-budget.ts). */
  statusFigureWritesPerSecond: number;
  /** A node's address (IP or DNS name) for the status URLs of NodePort Services; absent: the cluster DNS name. */
  nodeAddress: string | undefined;
  /** Chart-wide placement of the media pods (JSON of a spec.placement, checked by the CRD's schema). */
  transcoderPlacement: PlacementSpec | undefined;
  /** The gateway the chart installed, whose route table the leader publishes; absent: no gateway. */
  gateway: GatewayTarget | undefined;
}

/** Where the gateway reads its route table and routing secret from (gateway-routes-runner.ts). */
export interface GatewayTarget {
  /** The gateway's namespace (the operator's own by default). */
  namespace: string;
  /** The Secret the operator writes the table into (data `routes.json`). */
  routesSecret: string;
  /** The Secret holding the routing secret (data `routing-secret`); made by the operator when absent, never changed. */
  routingSecret: string;
  /** Label selector of the gateway pods, annotated after a table change for a prompt kubelet refresh. */
  podSelector: string | undefined;
  /** The Secret of the gateway's admin token (data `token`), made by the operator when absent; it polls viewers with it. */
  adminSecret?: string | undefined;
  /** The gateway's Service (in `namespace`), whose address status shows when no public URL is set. */
  service?: string | undefined;
  /** What streamers type as the server, without the app ("rtmps://ingest.example.com:443"); set by the platform. */
  ingestUrl?: string | undefined;
  /** Where viewers' players load from, a prefix of "/<namespace>/<name>/master.m3u8" (a CDN's address). */
  playbackUrl?: string | undefined;
}

const dnsName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** LSO_TRANSCODER_PLACEMENT: a spec.placement as JSON, refused with the CRD's own messages when it is not one. */
function placementDefaults(raw: string | undefined): PlacementSpec | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('LSO_TRANSCODER_PLACEMENT must be JSON (a spec.placement object)');
  }
  try {
    return validateSpec({ placement: value }).placement;
  } catch (err) {
    throw new Error(`LSO_TRANSCODER_PLACEMENT: ${(err as Error).message}`, { cause: err });
  }
}

const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
// Equality terms only (k=v,k2=v2), which is what the chart writes; keys may have a DNS prefix.
const selector = /^[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*(,[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*)*$/;

/** LSO_GATEWAY_*: set by the chart when gateway.enabled; LSO_GATEWAY_ROUTES_SECRET turns the publisher on. */
function gatewayTarget(env: NodeJS.ProcessEnv): GatewayTarget | undefined {
  const routesSecret = env.LSO_GATEWAY_ROUTES_SECRET || undefined;
  if (routesSecret === undefined) return undefined;
  const routingSecret = env.LSO_GATEWAY_ROUTING_SECRET || undefined;
  const namespace = env.LSO_GATEWAY_NAMESPACE || env.POD_NAMESPACE || 'default';
  const podSelector = env.LSO_GATEWAY_POD_SELECTOR || undefined;
  if (routingSecret === undefined)
    throw new Error('LSO_GATEWAY_ROUTING_SECRET is required with LSO_GATEWAY_ROUTES_SECRET');
  for (const [name, value] of [
    ['LSO_GATEWAY_ROUTES_SECRET', routesSecret],
    ['LSO_GATEWAY_ROUTING_SECRET', routingSecret],
    ['LSO_GATEWAY_NAMESPACE', namespace],
  ] as const) {
    if (!dnsSubdomain.test(value)) throw new Error(`${name} must be a Kubernetes object name`);
  }
  if (routesSecret === routingSecret)
    throw new Error('LSO_GATEWAY_ROUTES_SECRET and LSO_GATEWAY_ROUTING_SECRET differ');
  if (podSelector !== undefined && !selector.test(podSelector)) {
    throw new Error('LSO_GATEWAY_POD_SELECTOR must be a label selector of key=value terms');
  }
  const service = env.LSO_GATEWAY_SERVICE || undefined;
  if (service !== undefined && !dnsSubdomain.test(service))
    throw new Error('LSO_GATEWAY_SERVICE must be a Service name');
  const adminSecret = env.LSO_GATEWAY_ADMIN_SECRET || undefined;
  if (
    adminSecret !== undefined &&
    (!dnsSubdomain.test(adminSecret) || [routesSecret, routingSecret].includes(adminSecret))
  ) {
    throw new Error('LSO_GATEWAY_ADMIN_SECRET must be a Secret name of its own');
  }
  const ingestUrl = publicUrl(env, 'LSO_GATEWAY_INGEST_URL', ['rtmp:', 'rtmps:'], false);
  const playbackUrl = publicUrl(env, 'LSO_GATEWAY_PLAYBACK_URL', ['http:', 'https:'], true);
  return { namespace, routesSecret, routingSecret, podSelector, service, ingestUrl, playbackUrl, adminSecret };
}

/**
 * A public base URL as status will show it: the scheme and host (and port), a path only where one may be a prefix
 * (a CDN's), never credentials, a query or a fragment. Returned without a trailing slash.
 */
function publicUrl(env: NodeJS.ProcessEnv, name: string, schemes: string[], pathAllowed: boolean): string | undefined {
  const raw = env[name] || undefined;
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} must be a URL (${schemes.join(' or ')}//host[:port])`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (!schemes.includes(url.protocol) || !url.hostname || url.username || url.password || url.search || url.hash) {
    throw new Error(`${name} must be ${schemes.join(' or ')}//host[:port] with no credentials, query or fragment`);
  }
  if (path !== '' && !pathAllowed) throw new Error(`${name} must have no path (the app is the channel's own)`);
  return `${url.protocol}//${url.host}${path}`;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in ${min}..${max}`);
  return n;
}

export function loadOperatorConfig(env: NodeJS.ProcessEnv): OperatorConfig {
  const redisUrl = env.LSO_REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new Error('LSO_REDIS_URL must start with redis:// or rediss://');
  }
  const nodeAddress = env.LSO_NODE_ADDRESS || undefined;
  if (nodeAddress !== undefined && !isIP(nodeAddress.replace(/^\[(.*)\]$/, '$1')) && !dnsName.test(nodeAddress)) {
    throw new Error('LSO_NODE_ADDRESS must be an IP address or a DNS name (no scheme, no port)');
  }
  return {
    gateway: gatewayTarget(env),
    nodeAddress,
    transcoderPlacement: placementDefaults(env.LSO_TRANSCODER_PLACEMENT),
    transcoderImage: env.LSO_TRANSCODER_IMAGE || 'livestream-transcoder:dev',
    redisUrl,
    reportStreamsPerRead: int(env, 'LSO_REPORT_STREAMS_PER_READ', 1_000, 1, 10_000),
    watchNamespace: env.LSO_WATCH_NAMESPACE || undefined,
    leaseNamespace: env.LSO_LEASE_NAMESPACE || env.POD_NAMESPACE || 'default',
    leaseName: env.LSO_LEASE_NAME || 'livestream-operator',
    metricsPort: int(env, 'LSO_METRICS_PORT', 8080, 0, 65535),
    concurrency: int(env, 'LSO_CONCURRENCY', 4, 1, 64),
    resyncSeconds: int(env, 'LSO_RESYNC_SECONDS', 300, 1, 86_400),
    cacheSyncTimeoutSeconds: int(env, 'LSO_CACHE_SYNC_TIMEOUT_SECONDS', 120, 5, 3_600),
    statusFigureWritesPerSecond: int(
      env,
      'LSO_STATUS_FIGURE_WRITES_PER_SECOND',
      defaultFigureWritesPerSecond,
      1,
      1_000,
    ),
  };
}
