// Delay before reconnecting a relay: exponential from `baseMs`, capped at `capMs`, with ±20 % jitter so relays that
// failed together (a network blip) do not all retry in the same instant. Never above the cap.
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 1_000, capMs: 30_000 };

export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponential = policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 20);
  const base = Math.min(exponential, policy.capMs);
  return Math.round(Math.min(base * (0.8 + random() * 0.4), policy.capMs));
}
