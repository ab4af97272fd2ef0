// A self-healing informer over client-node's ListWatch: client-node stops an informer on any error other than 410
// or a client timeout, so this wrapper restarts it with capped backoff (resuming from the last resourceVersion) and
// tracks whether the cache has synced. Callbacks must only enqueue keys: a throw there would crash the process.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { KubernetesListObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';

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
    this.inner = new ListWatch<T>(opts.path, new Watch(opts.kc), opts.list, false, opts.labelSelector);
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
