// Waiting with a bound, for the places where the process must move on (step down, exit) whatever the work does.

/** `work`'s value, or 'timeout' when it has not settled after `ms`. The work goes on: abort it if it must stop. */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
