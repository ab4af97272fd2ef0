// The playback token keys as the gateway sees them: a directory (a mounted Secret) of `<kid>.key` files, each a
// PKCS#8 PEM P-256 private key, polled and reloaded when anything in it changes (a Secret update swaps the whole
// ..data link, so the files are read together). A file that does not parse is logged by kid (never its content) and
// left out; the others stay in force. A missing directory is no keys: private channels then answer 403.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../contract/src/logger.ts';
import {
  playbackJwks,
  playbackKeyFromPem,
  playbackKeyStore,
  type PlaybackKey,
  type PlaybackKeyStore,
} from '../../../contract/src/playback-token.ts';

const keyFile = /^([A-Za-z0-9_-]{1,64})\.key$/;
const maxKeys = 32;
const maxKeyBytes = 16 * 1024;

export class PlaybackKeys {
  private store: PlaybackKeyStore = new Map();
  private jwksBody = '{"keys":[]}';
  private digest = '';
  private readonly timer: NodeJS.Timeout;
  private busy = false;
  /** Resolves once the first read is done (a test, and start-up, can wait for it). */
  readonly loaded: Promise<void>;

  private readonly dir: string | undefined;
  private readonly logger: Logger;

  constructor(dir: string | undefined, logger: Logger, pollMs: number) {
    this.dir = dir;
    this.logger = logger;
    this.loaded = this.poll();
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
  }

  current(): PlaybackKeyStore {
    return this.store;
  }

  /** The JWKS document's text (public parts only). */
  jwks(): string {
    return this.jwksBody;
  }

  private async read(): Promise<{ kid: string; pem: string }[]> {
    if (this.dir === undefined) return [];
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => keyFile.test(n)).sort();
    const files = await Promise.all(
      names.slice(0, maxKeys).map(async (n) => ({
        kid: keyFile.exec(n)![1]!,
        pem: await readFile(path.join(this.dir!, n), 'utf8').catch(() => ''),
      })),
    );
    return files.filter((f) => f.pem !== '' && f.pem.length <= maxKeyBytes);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const files = await this.read();
      const digest = createHash('sha256').update(JSON.stringify(files)).digest('hex');
      if (digest === this.digest) return;
      this.digest = digest;
      const keys: PlaybackKey[] = [];
      for (const f of files) {
        try {
          keys.push(playbackKeyFromPem(f.kid, f.pem));
        } catch (err) {
          this.logger.error({ kid: f.kid, err: (err as Error).message }, 'playback key refused');
        }
      }
      this.store = playbackKeyStore(keys);
      this.jwksBody = JSON.stringify(await playbackJwks(this.store));
      this.logger.info({ kids: keys.map((k) => k.kid) }, 'playback keys loaded');
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
