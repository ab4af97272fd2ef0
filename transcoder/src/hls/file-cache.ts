// In-memory cache of HLS files keyed by path, validated by mtime + size. Live viewers all ask for the same few
// files (the playlists and the newest segment of each rendition), so serving them from memory saves an open/read per
// request; a stat is done at most once per revalidation interval per file, and concurrent misses share one read.
// Bounded by total bytes (least recently used first out); files above maxFileBytes are streamed, not cached.
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileInfo {
  size: number;
  mtimeMs: number;
  etag: string;
  lastModified: string;
}

export interface CachedFile extends FileInfo {
  body: Buffer | undefined; // undefined: too large to cache, stream it from disk
  // Small files (playlists) also as a latin1 string (byte-exact): Node then writes headers and body in one write()
  // instead of a writev() of two buffers, about a quarter less CPU per response.
  text: string | undefined;
  checkedAt: number;
  diskSize: number; // the file's size on disk (size is what is served: after transform)
}

const textMaxBytes = 16 * 1024;

export interface FileCacheOptions {
  root?: string; // keys are paths relative to it (default: keys are absolute paths)
  maxBytes?: number; // default 64 MiB
  maxFileBytes?: number; // default 8 MiB
  now?: () => number;
  // What is served instead of a cached file's bytes (a playlist with a tag added): applied once per file version.
  transform?: (path: string, body: Buffer) => Buffer;
}

export function fileInfo(size: number, mtimeMs: number): FileInfo {
  return {
    size,
    mtimeMs,
    etag: `"${Math.trunc(mtimeMs).toString(16)}-${size.toString(16)}"`,
    lastModified: new Date(mtimeMs).toUTCString(),
  };
}

export class FileCache {
  private entries = new Map<string, CachedFile>();
  private loading = new Map<string, Promise<CachedFile | undefined>>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly maxFileBytes: number;
  private readonly now: () => number;
  private readonly root: string | undefined;
  private readonly transform: FileCacheOptions['transform'];

  constructor(options: FileCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.maxFileBytes = options.maxFileBytes ?? 8 * 1024 * 1024;
    this.now = options.now ?? (() => performance.now());
    this.root = options.root;
    this.transform = options.transform;
  }

  get cachedBytes(): number {
    return this.bytes;
  }

  // Resolves undefined when the file does not exist (or is not a regular file). `path` is relative to root if set.
  get(path: string, revalidateMs: number): Promise<CachedFile | undefined> | CachedFile {
    const hit = this.entries.get(path);
    if (hit && this.now() - hit.checkedAt < revalidateMs) {
      // refresh LRU position
      this.entries.delete(path);
      this.entries.set(path, hit);
      return hit;
    }
    let pending = this.loading.get(path);
    if (!pending) {
      pending = this.load(path, hit).finally(() => this.loading.delete(path));
      this.loading.set(path, pending);
    }
    return pending;
  }

  private async load(path: string, previous: CachedFile | undefined): Promise<CachedFile | undefined> {
    let handle;
    try {
      handle = await open(this.root === undefined ? path : join(this.root, path), 'r');
    } catch (err) {
      if (isMissing(err)) {
        this.forget(path);
        return undefined;
      }
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        this.forget(path);
        return undefined;
      }
      const checkedAt = this.now();
      if (previous && previous.diskSize === stat.size && previous.mtimeMs === stat.mtimeMs) {
        previous.checkedAt = checkedAt;
        return previous;
      }
      this.forget(path);
      const info = fileInfo(stat.size, stat.mtimeMs);
      if (stat.size > this.maxFileBytes) {
        return { ...info, body: undefined, text: undefined, checkedAt, diskSize: stat.size };
      }
      const read = await handle.readFile();
      const body = this.transform === undefined ? read : this.transform(path, read);
      // A writer appending between fstat and read: trust the bytes read, keep the mtime (revalidated soon).
      const text = body.length <= textMaxBytes ? body.toString('latin1') : undefined;
      const entry: CachedFile = {
        ...fileInfo(body.length, stat.mtimeMs),
        body,
        text,
        checkedAt,
        diskSize: read.length,
      };
      this.entries.set(path, entry);
      this.bytes += body.length;
      this.evict();
      return entry;
    } finally {
      await handle.close();
    }
  }

  private forget(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    this.bytes -= entry.body?.length ?? 0;
  }

  private evict(): void {
    for (const [path, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(path);
      this.bytes -= entry.body?.length ?? 0;
    }
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
