// The gateway's Prometheus metrics (prefix livestream_gateway_). Labels are bounded sets: reasons, directions,
// kinds, results. No key, key hash or client address is ever a label. A channel is a label of one gauge only,
// viewers: bounded by the route table and playback/viewers.ts, its series removed when the channel has none.
import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import type { SessionRefusal } from '../rtmp/proxy-session.ts';

export const metricPrefix = 'livestream_gateway_';

export type FetchKind = 'playlist' | 'segment' | 'flv';

export interface GatewayMetrics {
  registry: Registry;
  publishesRoutedTotal: Counter;
  publishesRefusedTotal: Counter<'reason'>;
  publishesActive: Gauge;
  whipSessions: Gauge;
  rtmpBytesTotal: Counter<'direction'>;
  httpBytesOutTotal: Counter;
  cacheRequestsTotal: Counter<'result'>;
  backendFetchesTotal: Counter<'kind' | 'outcome'>;
  cacheBytes: Gauge;
  routeTableLoaded: Gauge;
  viewers: Gauge<'namespace' | 'name'>;
}

export const refusalLabels: SessionRefusal[] = [
  'unknown_key',
  'busy',
  'backend_unavailable',
  'backend_refused',
  'rate_limited',
  'bad_request',
];

export function createGatewayMetrics(registry: Registry, options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
    new Counter<L>({ name: metricPrefix + name, help, labelNames, registers });
  const gauge = (name: string, help: string) => new Gauge({ name: metricPrefix + name, help, registers });
  const metrics: GatewayMetrics = {
    registry,
    publishesRoutedTotal: counter('publishes_routed_total', 'Publishes routed to a channel and started there.'),
    publishesRefusedTotal: counter('publishes_refused_total', 'Publishes refused, by reason.', ['reason']),
    publishesActive: gauge('publishes_active', 'Publishes (RTMP or WHIP) holding a channel on this replica now.'),
    whipSessions: gauge('whip_sessions', 'WHIP sessions open on this replica (each one of publishes_active).'),
    rtmpBytesTotal: counter('rtmp_bytes_total', 'RTMP bytes from (in) and to (out) encoders.', ['direction']),
    httpBytesOutTotal: counter('http_bytes_out_total', 'Playback body bytes sent to viewers.'),
    cacheRequestsTotal: counter('cache_requests_total', 'Playback requests by cache result.', ['result']),
    backendFetchesTotal: counter('backend_fetches_total', 'Fetches from channel origins.', ['kind', 'outcome']),
    cacheBytes: gauge('cache_bytes', 'Bytes held by the playback cache.'),
    routeTableLoaded: gauge('route_table_loaded', '1 once the route table and the routing secret are loaded.'),
    viewers: new Gauge({
      name: metricPrefix + 'viewers',
      help: 'Viewers of a channel through this replica (HLS in a sliding window, plus open HTTP-FLV responses).',
      labelNames: ['namespace', 'name'],
      registers,
    }),
  };
  for (const reason of refusalLabels) metrics.publishesRefusedTotal.inc({ reason }, 0);
  for (const direction of ['in', 'out']) metrics.rtmpBytesTotal.inc({ direction }, 0);
  for (const result of ['hit', 'miss', 'coalesced']) metrics.cacheRequestsTotal.inc({ result }, 0);
  metrics.publishesActive.set(0);
  metrics.whipSessions.set(0);
  metrics.cacheBytes.set(0);
  metrics.routeTableLoaded.set(0);
  return metrics;
}
