// The HLS directory of a session: cleared for a new session, ENDLIST appended when the session ends, the master
// playlist written atomically, and the variant playlists read back to count segments (the m3u8 text itself is
// read and written by hls/playlists.ts).
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { playlistPosition, withEndlist, type PlaylistPosition } from '../hls/playlists.ts';

export async function clearDirectory(dir: string): Promise<void> {
  // Empty it rather than remove it: in the pod it is the mount point of an emptyDir.
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  // Hidden entries survive: the recording spool lives there and outlasts sessions.
  await Promise.all(
    entries.filter((e) => !e.startsWith('.')).map((e) => rm(path.join(dir, e), { recursive: true, force: true })),
  );
}

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

// Mark a live playlist finished. Players then stop polling and can play the window they have.
export async function appendEndlist(playlist: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(playlist, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const ended = withEndlist(text);
  if (ended === undefined) return false;
  await writeFileAtomic(playlist, ended);
  return true;
}

export async function readPlaylistPosition(playlist: string): Promise<PlaylistPosition | null> {
  try {
    return playlistPosition(await readFile(playlist, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
