// The one backoff of the project: capped exponential delay with downward jitter, so clients that failed together
// (a Redis restart, a network blip) do not retry in the same instant. Pure; `random` is injectable for tests.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** 0..1: the delay is drawn uniformly from [d * (1 - jitter), d]; never above maxMs. */
  jitter: number;
}

/** The delay before retry number `failures` (1-based; 0 and below count as 1). */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, failures - 1), 30);
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(exp * (1 - policy.jitter * random()));
}
