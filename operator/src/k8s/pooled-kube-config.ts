// client-node 2.0.1 gives every request a new undici Agent (KubeConfig.applySecurityAuthentication creates one per
// call), so every API call opens its own TCP connection and does a TLS handshake: 200 sequential reads, 200
// handshakes (pooled-kube-config.test.ts). At fleet size that is most of a reconcile's latency and a share of the API
// server's CPU. This KubeConfig keeps the Agent of its first request and hands it to the requests after it, so they
// share its keep-alive connections. It is renewed every `maxAgeMs`, so TLS material that changes on disk (a rotated
// CA bundle or client certificate) is read again; the old Agent closes once its requests, watches included, end.
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** How long one Agent serves before the next request's own replaces it. */
export const defaultAgentMaxAgeMs = 10 * 60_000;

export class PooledKubeConfig extends KubeConfig {
  private pooled: { context: string; dispatcher: Dispatcher; since: number } | undefined;
  private readonly maxAgeMs: number;

  constructor(maxAgeMs = defaultAgentMaxAgeMs) {
    super();
    this.maxAgeMs = maxAgeMs;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    // Headers (a token read again from its file each time), then the per-request Agent this replaces.
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    // No TLS options (plain HTTP): client-node sets none and undici's global dispatcher pools already.
    if (fresh === undefined) return;
    const now = Date.now();
    const current = this.currentContext;
    const pooled = this.pooled;
    if (pooled && pooled.context === current && now - pooled.since < this.maxAgeMs) {
      context.setDispatcher(pooled.dispatcher);
      return;
    }
    if (pooled) void pooled.dispatcher.close().catch(() => {});
    this.pooled = { context: current, dispatcher: fresh, since: now };
  }
}
