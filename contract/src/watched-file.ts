// Shared by the transcoder (mounted config and key files) and the gateway (the route table and routing secret).
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
  // The content the caller already loaded: only a difference from it is a change. Without it the first read is one.
  initialContent?: Buffer | string;
}

export function watchFile(path: string, onChange: (content: Buffer) => void, options: WatchOptions = {}): WatchedFile {
  const intervalMs = options.intervalMs ?? 1000;
  const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
  let lastDigest = options.initialContent === undefined ? undefined : sha(options.initialContent);
  let lastStamp = '';
  let busy = false;
  let closed = false;
  let lastError = ''; // report a failure once, not once per poll

  const check = async (): Promise<void> => {
    const st = await stat(path);
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp === lastStamp) return;
    const content = await readFile(path);
    lastStamp = stamp;
    lastError = '';
    const digest = sha(content);
    if (digest === lastDigest) return;
    lastDigest = digest;
    onChange(content);
  };

  const tick = (): void => {
    if (busy || closed) return;
    busy = true;
    check()
      .catch((err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        if (code === lastError) return;
        lastError = code;
        options.onError?.(err);
      })
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
