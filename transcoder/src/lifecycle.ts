// How the pod's processes start and stop: SIGTERM/SIGINT run one graceful close with a deadline, and a failed start
// exits with a one-line reason (code 2 for the user's configuration, 1 otherwise).
import { ConfigError } from './config/livestream-spec.ts';
import type { Logger } from '../../contract/src/logger.ts';

export function onStopSignals(logger: Logger, what: string, close: () => Promise<void>, deadlineMs: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `shutting down: ${what}`);
    const guard = setTimeout(() => {
      logger.error(`shutdown took more than ${deadlineMs / 1000} s: exiting`);
      process.exit(1);
    }, deadlineMs);
    guard.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export function runMain(component: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    // Configuration and file-system errors are the user's to fix: the message says what; a stack would only bury it.
    const expected = err instanceof ConfigError || typeof (err as NodeJS.ErrnoException).code === 'string';
    const message = err instanceof Error ? (expected ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`${component}: ${message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
