// Where streamers and viewers reach the gateway, as status shows it (status.ingest.url, status.playback.url of the
// channels reached through it). The platform's public URLs win (LSO_GATEWAY_INGEST_URL, LSO_GATEWAY_PLAYBACK_URL:
// the DNS name, a CDN); without them the gateway's Service says, read the way a channel's own Service is read
// (endpoints.ts: a load balancer's ingress, the node address with the node ports, else the cluster DNS name).
// The leader reads the Service at start and then every `pollMs`, and tells when the addresses change, so every
// channel's status follows a load balancer that got its address late.
import type { CoreV1Api, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../../contract/src/logger.ts';
import { portNames } from '../../../contract/src/pod-contract.ts';
import type { GatewayTarget } from '../config.ts';
import { describeApiError } from '../k8s/client.ts';
import { within } from '../runtime/within.ts';
import { externalEndpoint } from './status/endpoints.ts';

/** The gateway's base URLs: the ingest server without the app, the playback prefix without a trailing slash. */
export interface GatewayUrls {
  ingest: string;
  playback: string;
}

/** The chart's default ports of the gateway Service, used until the Service has been read. */
const defaultPorts = { rtmp: 1935, http: 80 } as const;

/** The gateway's URLs from its Service as last read (undefined: not read), the public URLs overriding. */
export function gatewayUrls(
  target: Pick<GatewayTarget, 'namespace' | 'service' | 'ingestUrl' | 'playbackUrl'>,
  service: V1Service | undefined,
  nodeAddress: string | undefined,
): GatewayUrls {
  const external = externalEndpoint(service, nodeAddress);
  const port = (name: string, fallback: number) => service?.spec?.ports?.find((p) => p.name === name)?.port ?? fallback;
  const reached = external ?? {
    host: `${target.service ?? 'livestream-gateway'}.${target.namespace}.svc`,
    rtmpPort: port(portNames.rtmp, defaultPorts.rtmp),
    httpPort: port(portNames.http, defaultPorts.http),
  };
  const httpPort = reached.httpPort === 80 ? '' : `:${reached.httpPort}`;
  return {
    ingest: target.ingestUrl ?? `rtmp://${reached.host}:${reached.rtmpPort}`,
    playback: target.playbackUrl ?? `http://${reached.host}${httpPort}`,
  };
}

/** A channel's URLs on the gateway. */
export const gatewayIngestUrl = (urls: GatewayUrls, app: string): string => `${urls.ingest}/${app}`;
export const gatewayPlaybackUrl = (urls: GatewayUrls, namespace: string, name: string): string =>
  `${urls.playback}/${namespace}/${name}/master.m3u8`;

export interface GatewayAddressOptions {
  core: Pick<CoreV1Api, 'readNamespacedService'>;
  target: GatewayTarget;
  nodeAddress: string | undefined;
  logger: Logger;
  /** Called after the URLs changed (not for the first read). */
  onChange: () => void;
  pollMs?: number;
  /** Deadline of one read of the Service. */
  readTimeoutMs?: number;
}

/** The gateway's URLs, kept current by the leader. */
export class GatewayAddress {
  private urls: GatewayUrls;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly opts: GatewayAddressOptions;

  constructor(opts: GatewayAddressOptions) {
    this.opts = opts;
    this.urls = gatewayUrls(opts.target, undefined, opts.nodeAddress);
  }

  current(): GatewayUrls {
    return this.urls;
  }

  /** Reads the Service once (its failure leaves the default URLs), then keeps reading it. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped || this.opts.target.service === undefined) return;
    this.timer = setInterval(() => {
      void this.refresh().then((changed) => {
        if (changed && !this.stopped) this.opts.onChange();
      });
    }, this.opts.pollMs ?? 15_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** True when the URLs changed. */
  private async refresh(): Promise<boolean> {
    const { target, core, nodeAddress, logger } = this.opts;
    if (target.service === undefined) return false;
    try {
      const service = await within(
        core.readNamespacedService({ name: target.service, namespace: target.namespace }),
        this.opts.readTimeoutMs ?? 10_000,
      );
      if (service === 'timeout') throw new Error('timed out');
      const next = gatewayUrls(target, service, nodeAddress);
      const changed = next.ingest !== this.urls.ingest || next.playback !== this.urls.playback;
      if (changed) logger.info({ ingest: next.ingest, playback: next.playback }, 'gateway address');
      this.urls = next;
      return changed;
    } catch (err) {
      logger.warn({ err: describeApiError(err), service: target.service }, 'gateway Service not read');
      return false;
    }
  }
}
