// Who may publish: the right path, the right key, one publisher at a time; an address that keeps failing runs out of
// tries (contract/src/refusal-limiter.ts) so a key cannot be guessed at line rate, while one typo costs nothing.
import type { RefusalLimiter } from '../../../contract/src/refusal-limiter.ts';
import type { PublishRefusedReason } from '../telemetry/metrics.ts';

export interface PublishAttempt {
  address: string;
  app: string;
  name: string;
}

export interface GuardState {
  app: string; // the configured RTMP app
  keyMatches: (candidate: string) => boolean;
  busy: boolean; // a publisher is already live
}

export type PublishDecision = { accept: true } | { accept: false; reason: PublishRefusedReason };

// Order matters: an address out of tries is refused before its key is even compared; the key is checked before
// "busy" so that a second publisher learns nothing about the stream unless it holds the key.
export function decidePublish(
  attempt: PublishAttempt,
  state: GuardState,
  limiter: RefusalLimiter,
  nowMs: number,
): PublishDecision {
  if (!limiter.allows(attempt.address, nowMs)) return { accept: false, reason: 'rate_limited' };
  if (attempt.app !== state.app) {
    limiter.refused(attempt.address, nowMs);
    return { accept: false, reason: 'wrong_path' };
  }
  if (!state.keyMatches(attempt.name)) {
    limiter.refused(attempt.address, nowMs);
    return { accept: false, reason: 'bad_key' };
  }
  if (state.busy) return { accept: false, reason: 'busy' };
  return { accept: true };
}

// "1.2.3.4:5678" -> "1.2.3.4", "::ffff:1.2.3.4:5678" -> "::ffff:1.2.3.4", "::1:5678" -> "::1"
export function addressOf(ipAndPort: string): string {
  const i = ipAndPort.lastIndexOf(':');
  return i > 0 ? ipAndPort.slice(0, i) : ipAndPort;
}

export function isLoopback(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
