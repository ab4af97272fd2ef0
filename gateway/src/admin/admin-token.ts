// The admin token as the gateway holds it: a mounted file (LSO_GATEWAY_ADMIN_TOKEN_FILE) from the Secret the
// operator makes once, watched and reloaded (contract/src/watched-file.ts). No file yet: no token, and the admin
// endpoints answer 503; a file that does not parse leaves no token either. A file that becomes unreadable keeps the
// last token (as the route table does): rotating it means writing a new one. The token is never logged.
import { parseAdminToken } from '../../../contract/src/gateway-admin.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import { watchFile, type WatchedFile } from '../../../contract/src/watched-file.ts';

export class AdminToken {
  private token: string | undefined;
  private readonly watcher: WatchedFile;

  constructor(path: string, logger: Logger, pollMs = 1_000) {
    this.watcher = watchFile(
      path,
      (content) => {
        try {
          this.token = parseAdminToken(content);
          logger.info('admin token loaded');
        } catch (err) {
          this.token = undefined;
          logger.error({ err: (err as Error).message }, 'admin token refused; the admin endpoints answer 503');
        }
      },
      {
        intervalMs: pollMs,
        onError: (err) =>
          logger.warn({ code: (err as NodeJS.ErrnoException).code ?? 'error' }, 'cannot read the admin token'),
      },
    );
  }

  current(): string | undefined {
    return this.token;
  }

  close(): void {
    this.watcher.close();
  }
}
