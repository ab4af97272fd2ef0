// Publishes the gateway's route table (gateway-routes.ts) while this replica leads: the Secret `target.routesSecret`
// (data routes.json.gz, the table's canonical text compressed) in the gateway's namespace, rewritten only when its bytes would change, at most once per burst
// of reconciles (debounced), then the gateway pods get the table's hash as an annotation, the kubelet-refresh trick of
// the ingest-keys step (ADR 0012), so the mounted file changes within seconds. The routing secret (the HMAC key) is
// made here once, random, when absent, and never changed: changing it would void every entry at once (ADR 0013).
// Password channels' hashes come from gateway-routes-passwords.ts; a change to a Secret one of them names triggers a
// rebuild (secretChanged, fed by the metadata-only Secret watch), and a password that cannot be read is reported
// (onPasswordProblem, a Warning event) while the channel stays locked.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Secret } from '@kubernetes/client-node';
import { EventReason, type LiveStream } from '../../../contract/src/api/index.ts';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import {
  decodeRouteTable,
  encodeRouteTable,
  parseRoutingSecret,
  routeTableFileName,
  routeTableHash,
  routeTableHashAnnotation,
  routingSecretFileName,
  serializeRouteTable,
} from '../../../contract/src/route-table.ts';
import type { GatewayTarget } from '../config.ts';
import type { EventRecorder } from '../telemetry/events.ts';
import { describeApiError, isConflict, isNotFound } from '../k8s/client.ts';
import { ingestKeysSecretName, keySetOf } from './desired/index.ts';
import { buildRouteTable, type RoutedChannel } from './gateway-routes.ts';
import { ScheduledStartWarnings } from './audience-warnings.ts';
import { ViewerPasswords, type PasswordProblem, type SecretVersion } from './gateway-routes-passwords.ts';
import { readOrMakeSecretValue } from './make-once-secret.ts';
import { childResources } from './reconcile/children.ts';
import { secretMetadataResource } from './reconcile/secrets.ts';
import { markPods } from './reconcile/ingest-keys.ts';

export type GatewayRoutesCore = Pick<
  CoreV1Api,
  | 'readNamespacedSecret'
  | 'createNamespacedSecret'
  | 'replaceNamespacedSecret'
  | 'listNamespacedPod'
  | 'patchNamespacedPod'
>;

export interface GatewayRoutesOptions {
  core: GatewayRoutesCore;
  target: GatewayTarget;
  /** Every LiveStream with its key set, from the controller's caches. */
  channels: () => RoutedChannel[];
  logger: Logger;
  /** Quiet time after the last change before the table is built (one write per burst). */
  debounceMs?: number;
  /** A rebuild without a change, a safety net (a missed trigger, an expired notAfter). */
  resyncMs?: number;
  now?: () => number;
  /** A Secret's resourceVersion in the metadata cache (password Secrets are read again only when it changes). */
  secretVersion?: SecretVersion;
  /** A password channel's password cannot be read (at each publish while it lasts; the recorder deduplicates). */
  onPasswordProblem?: (problem: PasswordProblem) => void;
  /** Every LiveStream as listed for a build (the leader's pass over all channels, e.g. audience warnings). */
  onListed?: (liveStreams: LiveStream[], nowMs: number) => void;
}

const labels = { 'app.kubernetes.io/part-of': 'livestream-operator', 'app.kubernetes.io/component': 'gateway-routes' };
/** A read that may find nothing: undefined on 404, any other failure thrown. */
async function readIfExists(read: () => Promise<V1Secret>): Promise<V1Secret | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export class GatewayRoutes {
  private readonly opts: Required<
    Omit<GatewayRoutesOptions, 'now' | 'secretVersion' | 'onPasswordProblem' | 'onListed'>
  > & {
    now: () => number;
  };
  private readonly passwords: ViewerPasswords;
  private readonly onPasswordProblem: (problem: PasswordProblem) => void;
  private readonly onListed: (liveStreams: LiveStream[], nowMs: number) => void;
  /** "namespace/name" of the Secrets that password channels named at the last publish. */
  private passwordSecrets = new Set<string>();
  private secret: Buffer | undefined;
  /** The routes Secret as last read or written (undefined: not read yet, or absent). */
  private observed: { resourceVersion: string | undefined; text: string | undefined } | undefined;
  private propagated: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private reread = false;
  private failures = 0;
  private stopped = false;
  /** Writes of the routes Secret (for tests and the log). */
  writes = 0;

  constructor(options: GatewayRoutesOptions) {
    const { secretVersion, onPasswordProblem, onListed, ...rest } = options;
    this.opts = { debounceMs: 500, resyncMs: 30_000, now: Date.now, ...rest };
    this.passwords = new ViewerPasswords(options.core, secretVersion);
    this.onPasswordProblem = onPasswordProblem ?? (() => {});
    this.onListed = onListed ?? (() => {});
  }

  /** A Secret changed (any, from the Secret watch): a rebuild when a password channel names it. */
  secretChanged(namespace: string, name: string): void {
    if (this.passwordSecrets.has(`${namespace}/${name}`)) this.changed();
  }

  /** scrypt runs so far (for tests and the log). */
  get passwordHashes(): number {
    return this.passwords.hashes;
  }

  start(): void {
    this.resync = setInterval(() => {
      this.reread = true; // a routes Secret edited or deleted by hand is put right
      this.changed();
    }, this.opts.resyncMs);
    this.resync.unref();
    this.changed();
  }

  /** Something a route depends on may have changed: publish after the debounce. */
  changed(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), this.opts.debounceMs);
  }

  private run(): void {
    this.timer = undefined;
    this.running = this.publish().then(
      () => {
        this.failures = 0;
        this.settle(this.again ? this.opts.debounceMs : undefined);
      },
      (err: unknown) => {
        this.failures++;
        const delay = backoffDelay(this.failures, { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 });
        this.opts.logger.warn({ err: describeApiError(err), retryInMs: delay }, 'gateway route table not published');
        this.settle(delay);
      },
    );
  }

  private settle(retryInMs: number | undefined): void {
    this.running = undefined;
    this.again = false;
    if (retryInMs !== undefined && !this.stopped) this.timer = setTimeout(() => this.run(), retryInMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resync);
    await this.running;
  }

  private async publish(): Promise<void> {
    this.secret ??= await this.routingSecret();
    if (this.reread) this.observed = undefined;
    this.reread = false;
    this.observed ??= await this.readRoutes();
    const listed = this.opts.channels();
    this.onListed(
      listed.map((c) => c.ls),
      this.opts.now(),
    );
    this.passwordSecrets = new Set(
      listed.flatMap(({ ls }) => {
        const ref = ls.spec.audience?.password;
        return ref ? [`${ls.metadata.namespace ?? ''}/${ref.secretName}`] : [];
      }),
    );
    const { channels, problems } = await this.passwords.resolve(listed, this.secret);
    for (const problem of problems) this.onPasswordProblem(problem);
    const plan = buildRouteTable(channels, this.secret, this.opts.now());
    if (plan.conflicts.length > 0) {
      this.opts.logger.warn({ channels: plan.conflicts }, 'channels share a stream key: none is routed by it');
    }
    const table = serializeRouteTable(plan.table);
    if (table !== this.observed.text) await this.writeRoutes(table, plan.table.entries.length);
    await this.propagate(routeTableHash(table));
  }

  /** The routing secret, made once when absent (make-once-secret.ts). */
  private async routingSecret(): Promise<Buffer> {
    const { namespace, routingSecret: name } = this.opts.target;
    const make = () => randomBytes(48).toString('base64url');
    const secret = { namespace, name, key: routingSecretFileName, labels, make };
    return parseRoutingSecret(Buffer.from(await readOrMakeSecretValue(this.opts.core, secret, this.opts.logger)));
  }

  private async readRoutes(): Promise<{ resourceVersion: string | undefined; text: string | undefined }> {
    const { namespace, routesSecret: name } = this.opts.target;
    const secret = await readIfExists(() => this.opts.core.readNamespacedSecret({ name, namespace }));
    const data = secret?.data?.[routeTableFileName];
    // A value that does not decode is rewritten, as one edited by hand is.
    let text: string | undefined;
    try {
      text = data === undefined ? undefined : decodeRouteTable(Buffer.from(data, 'base64'));
    } catch {
      text = undefined;
    }
    return { resourceVersion: secret?.metadata?.resourceVersion, text };
  }

  private async writeRoutes(table: string, entries: number): Promise<void> {
    const { namespace, routesSecret: name } = this.opts.target;
    const { resourceVersion } = this.observed ?? {};
    const body: V1Secret = {
      metadata: { name, namespace, labels, ...(resourceVersion !== undefined && { resourceVersion }) },
      type: 'Opaque',
      data: { [routeTableFileName]: encodeRouteTable(table).toString('base64') },
    };
    try {
      const written =
        resourceVersion === undefined
          ? await this.opts.core.createNamespacedSecret({ namespace, body })
          : await this.opts.core.replaceNamespacedSecret({ name, namespace, body });
      this.observed = { resourceVersion: written.metadata?.resourceVersion, text: table };
    } catch (err) {
      // Someone else wrote it (or deleted it) since we read: read again and rebuild on the retry.
      if (isConflict(err) || isNotFound(err)) this.observed = undefined;
      throw err;
    }
    this.writes++;
    this.opts.logger.info({ secret: name, entries }, 'gateway route table published');
  }

  /** The table's hash onto every gateway pod, once per table; the kubelet's periodic sync is the fallback. */
  private async propagate(hash: string): Promise<void> {
    const { namespace, podSelector: labelSelector } = this.opts.target;
    if (labelSelector === undefined || this.propagated === hash) return;
    try {
      await markPods(this.opts.core, namespace, labelSelector, routeTableHashAnnotation, hash);
    } catch (err) {
      this.opts.logger.warn(
        { err: describeApiError(err) },
        'could not mark the gateway pods for a prompt table reload',
      );
    }
    this.propagated = hash;
  }
}

/** What the runner reads of the controller: the LiveStreams and each one's "<name>-ingest-keys" from the caches. */
export interface ChannelCache {
  list(): readonly LiveStream[];
  cached<T extends KubernetesObject>(resource: string, namespace: string, name: string): T | undefined;
}

export function cachedChannels(cache: ChannelCache): RoutedChannel[] {
  return cache.list().map((ls) => ({
    ls,
    keySet: keySetOf(
      cache.cached<V1Secret>(childResources.secrets, ls.metadata.namespace ?? '', ingestKeysSecretName(ls)),
    ),
  }));
}

/** A Secret's resourceVersion from the controller's metadata-only Secret cache (null: no such Secret). */
export const cachedSecretVersion =
  (cache: Pick<ChannelCache, 'cached'>): SecretVersion =>
  (namespace, name) =>
    cache.cached(secretMetadataResource, namespace, name)?.metadata?.resourceVersion ?? null;

/** The leader's publisher, started; `changed()` after every reconcile, `stop()` with the controller. */
export function startGatewayRoutes(deps: {
  kc: KubeConfig;
  target: GatewayTarget;
  cache: ChannelCache;
  logger: Logger;
  /** Where a password that cannot be read (ViewerPasswordMissing) and a stale scheduled start (ScheduledStartIgnored)
   * are reported, as Warning events on the LiveStream. */
  events?: Pick<EventRecorder, 'record'>;
}) {
  const { events } = deps;
  const scheduled = events && new ScheduledStartWarnings(events);
  const routes = new GatewayRoutes({
    core: deps.kc.makeApiClient(CoreV1Api),
    target: deps.target,
    channels: () => cachedChannels(deps.cache),
    logger: deps.logger,
    secretVersion: cachedSecretVersion(deps.cache),
    ...(events && {
      onPasswordProblem: (p: PasswordProblem) =>
        events.record(p.ls, 'Warning', EventReason.ViewerPasswordMissing, p.message),
    }),
    ...(scheduled && { onListed: (ls: LiveStream[], nowMs: number) => scheduled.check(ls, nowMs) }),
  });
  routes.start();
  return routes;
}

/**
 * The watch specs with the metadata-only Secret watch also telling `onSecret` of every Secret event (its key mapping
 * unchanged): a password Secret is named by no child and may be referenced by no reconciled field, so the table
 * would otherwise see a changed password only at its resync.
 */
export function notifySecretEvents<
  T extends { resource: string; keyFor: (obj: KubernetesObject) => string | undefined },
>(specs: T[], onSecret: (namespace: string, name: string) => void): T[] {
  return specs.map((spec) =>
    spec.resource !== secretMetadataResource
      ? spec
      : {
          ...spec,
          keyFor: (obj: KubernetesObject) => {
            onSecret(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
            return spec.keyFor(obj);
          },
        },
  );
}
