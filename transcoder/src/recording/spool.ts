// The recording spool: completed segments wait here, on disk, until they are uploaded.
//
// Layout: <dir>/<session>/<track>/<sequence>.ts plus <sequence>.json (what the upload needs: file name, duration,
// discontinuity). A segment is hard-linked from the HLS directory (no copy, and it survives ffmpeg deleting it from
// the live window), or copied when the spool is on another file system. Each entry is written as link -> .tmp,
// sidecar, rename: after a crash an entry is either whole or cleaned up at load. The total size is bounded: a segment
// that does not fit is dropped (counted by the caller), never an older one, so what is kept stays in order.
import { copyFile, link, mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SegmentMeta {
  session: string;
  track: string; // rendition name, or 'audio'
  sequence: number;
  file: string; // seg_00012.ts
  duration: number;
  discontinuity: boolean;
  completedAt: number; // ms epoch, when the recorder saw it complete
}

export interface SpoolEntry extends SegmentMeta {
  bytes: number;
  path: string; // the spooled segment
}

export type AddResult = 'added' | 'dropped' | 'missing' | 'empty';

export interface AddOutcome {
  result: AddResult;
  entry?: SpoolEntry;
}

const pad = (n: number): string => String(n).padStart(10, '0');
const safeName = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export function entryOrder(a: SegmentMeta, b: SegmentMeta): number {
  return a.completedAt - b.completedAt || a.sequence - b.sequence || a.track.localeCompare(b.track);
}

export function createSpool(dir: string, maxBytes: number): Spool {
  return new Spool(dir, maxBytes);
}

export class Spool {
  readonly dir: string;
  private readonly maxBytes: number;
  private total = 0;

  constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  bytes(): number {
    return this.total;
  }

  // Entries left by an earlier process, oldest first; interrupted entries are cleaned up on the way.
  async load(): Promise<SpoolEntry[]> {
    await mkdir(this.dir, { recursive: true });
    const entries: SpoolEntry[] = [];
    this.total = 0;
    for (const session of await readdir(this.dir)) {
      const sessionDir = path.join(this.dir, session);
      if (!safeName.test(session) || !(await stat(sessionDir)).isDirectory()) continue;
      for (const track of await readdir(sessionDir)) {
        const trackDir = path.join(sessionDir, track);
        if ((await stat(trackDir)).isDirectory()) entries.push(...(await this.loadTrack(trackDir)));
      }
      await removeEmptyDirs(sessionDir);
    }
    return entries.sort(entryOrder);
  }

  async add(source: string, meta: SegmentMeta): Promise<AddOutcome> {
    if (!safeName.test(meta.session) || !safeName.test(meta.track)) throw new Error('unsafe session or track name');
    const size = await sizeOf(source);
    if (size === undefined) return { result: 'missing' };
    // ffmpeg stopped before a segment's first write (a publish of under a second) still lists it, empty: nothing to
    // keep, and an empty object would only make the session's finalization fail.
    if (size === 0) return { result: 'empty' };
    if (this.total + size > this.maxBytes) return { result: 'dropped' };
    const base = this.entryPath(meta);
    await mkdir(path.dirname(base), { recursive: true });
    const tmp = `${base}.ts.tmp`;
    await rm(tmp, { force: true });
    if (!(await linkOrCopy(source, tmp))) return { result: 'missing' };
    await writeFile(`${base}.json.tmp`, JSON.stringify(meta));
    await rename(`${base}.json.tmp`, `${base}.json`);
    await rename(tmp, `${base}.ts`);
    this.total += size;
    return { result: 'added', entry: { ...meta, bytes: size, path: `${base}.ts` } };
  }

  async remove(entry: SpoolEntry): Promise<void> {
    const base = this.entryPath(entry);
    // Segment first: a sidecar alone is cleaned at load, a segment alone would never be.
    await rm(`${base}.ts`, { force: true });
    await rm(`${base}.json`, { force: true });
    this.total = Math.max(0, this.total - entry.bytes);
  }

  // Empty directories of sessions no longer captured (never the current one: an add may be between mkdir and link).
  async prune(keepSession: string): Promise<void> {
    for (const session of await readdir(this.dir).catch(() => [] as string[])) {
      if (session !== keepSession && safeName.test(session)) await removeEmptyDirs(path.join(this.dir, session));
    }
  }

  private entryPath(m: Pick<SegmentMeta, 'session' | 'track' | 'sequence'>): string {
    return path.join(this.dir, m.session, m.track, pad(m.sequence));
  }

  // The whole entries of one track directory; a .tmp (interrupted mid-add) or a sidecar without its segment is removed.
  private async loadTrack(trackDir: string): Promise<SpoolEntry[]> {
    const entries: SpoolEntry[] = [];
    const files = new Set(await readdir(trackDir));
    for (const f of files) {
      const full = path.join(trackDir, f);
      if (f.endsWith('.tmp')) {
        await rm(full, { force: true });
        continue;
      }
      if (!f.endsWith('.json')) continue;
      const base = f.slice(0, -'.json'.length);
      if (!files.has(`${base}.ts`)) {
        await rm(full, { force: true });
        continue;
      }
      const meta = JSON.parse(await readFile(full, 'utf8')) as SegmentMeta;
      const segment = `${path.join(trackDir, base)}.ts`;
      const bytes = (await stat(segment)).size;
      this.total += bytes;
      entries.push({ ...meta, bytes, path: segment });
    }
    return entries;
  }
}

// The size of a file, undefined when it does not exist (ffmpeg already deleted it from the live window).
async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// Hard link (no copy), or a copy when the spool is on another file system. false: the source vanished meanwhile.
async function linkOrCopy(source: string, target: string): Promise<boolean> {
  try {
    await link(source, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code !== 'EXDEV' && code !== 'EPERM') throw err;
    await copyFile(source, target);
  }
  return true;
}

// Remove <session>/<track> directories once empty (ENOTEMPTY is the common, expected case).
async function removeEmptyDirs(sessionDir: string): Promise<void> {
  const tryRmdir = (d: string): Promise<boolean> =>
    rmdir(d).then(
      () => true,
      () => false,
    );
  if (!(await stat(sessionDir).catch(() => undefined))?.isDirectory()) return;
  const tracks = await readdir(sessionDir).catch(() => [] as string[]);
  for (const t of tracks) await tryRmdir(path.join(sessionDir, t));
  await tryRmdir(sessionDir);
}
