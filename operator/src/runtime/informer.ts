// A self-healing informer over client-node's ListWatch: client-node stops an informer on any error other than 410
// or a client timeout, so this wrapper restarts it with capped backoff (resuming from the last resourceVersion) and
// tracks whether the cache has synced. Callbacks must only enqueue keys: a throw there would crash the process.
//
// A metadata-only informer (a list made with metadataOnly) asks the API server for PartialObjectMetadata, as
// controller-runtime's metadata watches do, so that watching every Secret puts no Secret's data in memory: the
// Accept header reaches client-node's Watch through the config's applySecurityAuthentication, the only place it takes
// headers from. Annotations and managedFields are dropped too (kubectl apply copies a Secret's whole data into its
// last-applied-configuration annotation).
//
// Any other informer may keep less of each object too: a transform (cache-transform.ts) applied to every listed and
// watched object before the cache holds it, as client-go's SetTransform does.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { KubernetesListObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';

export const partialObjectMetadataList = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const partialObjectMetadata = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

const metadataOnlyList = Symbol('metadataOnly');
type Lister<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;
/** What the cache keeps of an object (client-go's transform): applied to every listed and watched object. */
export type CacheTransform<T extends KubernetesObject> = (obj: T) => T;

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
  return Object.assign(transformedList(list, strippedMetadata), { [metadataOnlyList]: true });
}

const isMetadataOnly = (list: Lister<KubernetesObject>): boolean =>
  (list as { [metadataOnlyList]?: boolean })[metadataOnlyList] === true;

/**
 * An item of a list, with the apiVersion and kind the API server leaves out of list items (the list carries them:
 * "v1", "ConfigMapList"), as watch events have them: change detection compares them with the desired object's.
 */
export function withListKind<T extends KubernetesObject>(list: KubernetesListObject<T>, item: T): T {
  if (item.apiVersion !== undefined && item.kind !== undefined) return item;
  const kind = list.kind?.endsWith('List') ? list.kind.slice(0, -'List'.length) : undefined;
  return { ...item, apiVersion: item.apiVersion ?? list.apiVersion, kind: item.kind ?? kind };
}

/** `list` with every item given its kind and transformed. */
function transformedList<T extends KubernetesObject>(list: Lister<T>, transform?: CacheTransform<T>): Lister<T> {
  return async () => {
    const result = await list();
    // An empty PartialObjectMetadataList comes as `"items": null` (the API server's nil slice), not [].
    const items = ((result.items as T[] | null | undefined) ?? []).map((item) => withListKind(result, item));
    return { ...result, items: transform ? items.map(transform) : items };
  };
}

/** `kc` with an Accept header on every request (client-node's Watch takes headers from nowhere else). */
function accepting(kc: KubeConfig, accept: string): KubeConfig {
  const config = Object.create(kc) as KubeConfig;
  config.applySecurityAuthentication = async (context) => {
    await kc.applySecurityAuthentication(context);
    context.setHeaderParam('Accept', accept);
  };
  return config;
}

/** client-node's Watch with each object transformed before the cache sees it (and, for metadata, its Accept). */
class TransformingWatch<T extends KubernetesObject> extends Watch {
  private readonly transform: CacheTransform<T>;

  constructor(kc: KubeConfig, transform: CacheTransform<T>, accept?: string) {
    super(accept === undefined ? kc : accepting(kc, accept));
    this.transform = transform;
  }

  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): Promise<AbortController> {
    return super.watch(
      path,
      query,
      (phase, obj: T, raw) =>
        callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : this.transform(obj), raw),
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
  /** What the cache keeps of each object; undefined: all of it (a metadata-only list strips by itself). */
  transform?: CacheTransform<T>;
}

/** The watch of an informer: metadata-only, transformed, or plain. */
function cacheWatch<T extends KubernetesObject>(opts: InformerOptions<T>): Watch {
  if (isMetadataOnly(opts.list)) return new TransformingWatch(opts.kc, strippedMetadata, partialObjectMetadata);
  return opts.transform ? new TransformingWatch(opts.kc, opts.transform) : new Watch(opts.kc);
}

/** The list of an informer, its items transformed as the watch's objects are (a metadata-only list already is). */
function cacheList<T extends KubernetesObject>(opts: InformerOptions<T>): Lister<T> {
  return isMetadataOnly(opts.list) ? opts.list : transformedList(opts.list, opts.transform);
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
    this.inner = new ListWatch<T>(opts.path, cacheWatch(opts), cacheList(opts), false, opts.labelSelector);
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
