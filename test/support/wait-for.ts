// The one polling helper of the tests, the benchmarks and the cluster scripts: every wait has a deadline and says what
// it was waiting for. `probe` returns the value waited for (anything but undefined, false or null) or throws; the
// last error is in the timeout message. `abort` ends the wait at once with its message (a daemon that died).

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Checked before each probe: a message ends the wait with that error (no point waiting any longer). */
  abort?: () => string | undefined;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = options.abort?.();
    if (aborted !== undefined) throw new Error(`stopped waiting for ${what}: ${aborted}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
