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

export interface Spool {
  dir: string;
  load(): Promise<SpoolEntry[]>; // entries left by an earlier process, oldest first
  add(source: string, meta: SegmentMeta): Promise<{ result: AddResult; entry?: SpoolEntry }>;
  remove(entry: SpoolEntry): Promise<void>;
  prune(keepSession: string): Promise<void>;
  bytes(): number;
}

const pad = (n: number): string => String(n).padStart(10, '0');
const safeName = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

export function entryOrder(a: SegmentMeta, b: SegmentMeta): number {
  return a.completedAt - b.completedAt || a.sequence - b.sequence || a.track.localeCompare(b.track);
}

export function createSpool(dir: string, maxBytes: number): Spool {
  let total = 0;
  const entryPath = (m: Pick<SegmentMeta, 'session' | 'track' | 'sequence'>): string =>
    path.join(dir, m.session, m.track, pad(m.sequence));

  const load = async (): Promise<SpoolEntry[]> => {
    await mkdir(dir, { recursive: true });
    const entries: SpoolEntry[] = [];
    total = 0;
    for (const session of await readdir(dir)) {
      if (!safeName.test(session) || !(await stat(path.join(dir, session))).isDirectory()) continue;
      for (const track of await readdir(path.join(dir, session))) {
        const trackDir = path.join(dir, session, track);
        if (!(await stat(trackDir)).isDirectory()) continue;
        const files = new Set(await readdir(trackDir));
        for (const f of files) {
          const full = path.join(trackDir, f);
          if (f.endsWith('.tmp')) {
            await rm(full, { force: true }); // interrupted mid-add
            continue;
          }
          if (!f.endsWith('.json')) continue;
          const base = f.slice(0, -'.json'.length);
          if (!files.has(`${base}.ts`)) {
            await rm(full, { force: true });
            continue;
          }
          const meta = JSON.parse(await readFile(full, 'utf8')) as SegmentMeta;
          const bytes = (await stat(`${path.join(trackDir, base)}.ts`)).size;
          total += bytes;
          entries.push({ ...meta, bytes, path: `${path.join(trackDir, base)}.ts` });
        }
      }
      await removeEmptyDirs(path.join(dir, session));
    }
    return entries.sort(entryOrder);
  };

  const add = async (source: string, meta: SegmentMeta): Promise<{ result: AddResult; entry?: SpoolEntry }> => {
    if (!safeName.test(meta.session) || !safeName.test(meta.track)) throw new Error('unsafe session or track name');
    let size: number;
    try {
      size = (await stat(source)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { result: 'missing' };
      throw err;
    }
    // ffmpeg stopped before a segment's first write (a publish of under a second) still lists it, empty: nothing to
    // keep, and an empty object would only make the session's finalization fail.
    if (size === 0) return { result: 'empty' };
    if (total + size > maxBytes) return { result: 'dropped' };
    const base = entryPath(meta);
    await mkdir(path.dirname(base), { recursive: true });
    const tmp = `${base}.ts.tmp`;
    await rm(tmp, { force: true });
    try {
      await link(source, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { result: 'missing' };
      if (code !== 'EXDEV' && code !== 'EPERM') throw err;
      await copyFile(source, tmp);
    }
    await writeFile(`${base}.json.tmp`, JSON.stringify(meta));
    await rename(`${base}.json.tmp`, `${base}.json`);
    await rename(tmp, `${base}.ts`);
    total += size;
    return { result: 'added', entry: { ...meta, bytes: size, path: `${base}.ts` } };
  };

  const remove = async (entry: SpoolEntry): Promise<void> => {
    const base = entryPath(entry);
    // Segment first: a sidecar alone is cleaned at load, a segment alone would never be.
    await rm(`${base}.ts`, { force: true });
    await rm(`${base}.json`, { force: true });
    total = Math.max(0, total - entry.bytes);
  };

  // Empty directories of sessions no longer captured (never the current one: an add may be between mkdir and link).
  const prune = async (keep: string): Promise<void> => {
    for (const session of await readdir(dir).catch(() => [] as string[])) {
      if (session !== keep && safeName.test(session)) await removeEmptyDirs(path.join(dir, session));
    }
  };

  return { dir, load, add, remove, prune, bytes: () => total };
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
