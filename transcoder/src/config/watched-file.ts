// Watches a mounted file (ConfigMap or Secret) and calls back when its content changes. Kubernetes updates these
// mounts by swapping a `..data` symlink, which inotify on the file itself does not follow, so this polls stat()
// (which follows symlinks) and compares content: cheap at one small file per second, and correct on every volume.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';

export interface WatchedFile {
  close(): void;
}

export interface WatchOptions {
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

export function watchFile(path: string, onChange: (content: Buffer) => void, options: WatchOptions = {}): WatchedFile {
  const intervalMs = options.intervalMs ?? 1000;
  let lastDigest: string | undefined;
  let lastStamp = '';
  let busy = false;
  let closed = false;

  const check = async (): Promise<void> => {
    const st = await stat(path);
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp === lastStamp) return;
    const content = await readFile(path);
    lastStamp = stamp;
    const digest = createHash('sha256').update(content).digest('hex');
    if (digest === lastDigest) return;
    const first = lastDigest === undefined;
    lastDigest = digest;
    if (!first) onChange(content);
  };

  const tick = (): void => {
    if (busy || closed) return;
    busy = true;
    check()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
