// A self-healing informer over client-node's ListWatch: client-node stops an informer on any error other than 410
// or a client timeout, so this wrapper restarts it with capped backoff (resuming from the last resourceVersion) and
// tracks whether the cache has synced. Callbacks must only enqueue keys: a throw there would crash the process.
//
// A metadata-only informer (a list made with metadataOnly) asks the API server for PartialObjectMetadata, as
// controller-runtime's metadata watches do, so that watching every Secret puts no Secret's data in memory: the
// Accept header reaches client-node's Watch through the config's applySecurityAuthentication, the only place it takes
// headers from. Annotations and managedFields are dropped too (kubectl apply copies a Secret's whole data into its
// last-applied-configuration annotation).
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { KubernetesListObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';

export const partialObjectMetadataList = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const partialObjectMetadata = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

const metadataOnlyList = Symbol('metadataOnly');
type Lister<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;

/** Name, namespace, resourceVersion, uid, labels, owners: what a metadata informer keeps of an object. */
export function strippedMetadata<T extends KubernetesObject>(obj: T): T {
  const { annotations: _annotations, managedFields: _managedFields, ...metadata } = obj.metadata ?? {};
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata } as T;
}

/**
 * Marks `list` (which must send `Accept: partialObjectMetadataList`) as the list of a metadata-only informer: its
 * items are stripped, and the informer's watch asks for PartialObjectMetadata.
 */
export function metadataOnly<T extends KubernetesObject>(list: Lister<T>): Lister<T> {
  const wrapped = async () => {
    const result = await list();
    // An empty PartialObjectMetadataList comes as `"items": null` (the API server's nil slice), not [].
    const items = (result.items as T[] | null | undefined) ?? [];
    return { ...result, items: items.map(strippedMetadata) };
  };
  return Object.assign(wrapped, { [metadataOnlyList]: true });
}

const isMetadataOnly = (list: Lister<KubernetesObject>): boolean =>
  (list as { [metadataOnlyList]?: boolean })[metadataOnlyList] === true;

/** client-node's Watch asking for PartialObjectMetadata, with each object stripped before the cache sees it. */
class MetadataWatch extends Watch {
  constructor(kc: KubeConfig) {
    const accepting = Object.create(kc) as KubeConfig;
    accepting.applySecurityAuthentication = async (context) => {
      await kc.applySecurityAuthentication(context);
      context.setHeaderParam('Accept', partialObjectMetadata);
    };
    super(accepting);
  }

  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    return super.watch(
      path,
      query,
      (phase, obj: KubernetesObject, raw) =>
        callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : strippedMetadata(obj), raw),
      done,
    );
  }
}

export interface InformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The watch path, e.g. /apis/apps/v1/deployments. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  onChange: (obj: T, kind: 'add' | 'update' | 'delete') => void;
  onError?: (err: unknown, retryInMs: number) => void;
  backoff?: BackoffPolicy;
}

const restartBackoff: BackoffPolicy = { baseMs: 500, maxMs: 30_000, jitter: 0.3 };

export class ResilientInformer<T extends KubernetesObject> {
  private readonly inner: ListWatch<T>;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private synced = false;

  private readonly opts: InformerOptions<T>;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    const watch = isMetadataOnly(opts.list) ? new MetadataWatch(opts.kc) : new Watch(opts.kc);
    this.inner = new ListWatch<T>(opts.path, watch, opts.list, false, opts.labelSelector);
    this.inner.on('add', (o) => this.emit(o, 'add'));
    this.inner.on('update', (o) => this.emit(o, 'update'));
    this.inner.on('delete', (o) => this.emit(o, 'delete'));
    this.inner.on('error', (err: unknown) => this.scheduleRestart(err));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.inner.stop();
  }

  /** Resolves when the first list has filled the cache (ListWatch records the list's resourceVersion then). */
  async waitForSync(): Promise<void> {
    while (!this.stopped && this.inner.latestResourceVersion() === '') await sleep(50);
    this.synced = true;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace);
  }

  private run(): void {
    this.inner.start().then(
      () => {
        this.failures = 0;
      },
      (err: unknown) => this.scheduleRestart(err),
    );
  }

  private emit(obj: T, kind: 'add' | 'update' | 'delete'): void {
    this.failures = 0;
    try {
      this.opts.onChange(obj, kind);
    } catch (err) {
      this.opts.onError?.(err, 0);
    }
  }

  private scheduleRestart(err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.opts.backoff ?? restartBackoff);
    this.opts.onError?.(err, delay);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.run();
    }, delay);
  }
}
