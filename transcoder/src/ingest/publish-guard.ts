// Who may publish: the right path, the right key, one publisher at a time, and an address that keeps failing is
// made to wait (exponential penalty per address) so a key cannot be guessed at line rate. The penalty table is
// bounded: the oldest entries go first, and entries expire once their penalty is long over.
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import type { PublishRefusedReason } from '../telemetry/metrics.ts';

export interface PenaltyOptions {
  baseMs?: number; // penalty after the first failure
  maxMs?: number; // cap of the exponential penalty
  maxEntries?: number; // addresses tracked at most
  now?: () => number;
}

interface Entry {
  failures: number;
  until: number;
}

export class PenaltyBox {
  private readonly entries = new Map<string, Entry>();
  private readonly policy: BackoffPolicy;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: PenaltyOptions = {}) {
    // The penalty is the one backoff's curve, without jitter: jitter spreads clients that retry together, while
    // this delay is imposed by the server on one address and must not come out shorter by chance.
    this.policy = { baseMs: options.baseMs ?? 1_000, maxMs: options.maxMs ?? 60_000, jitter: 0 };
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  blocked(address: string): boolean {
    const entry = this.entries.get(address);
    if (entry === undefined) return false;
    const now = this.now();
    // Forget an address whose last penalty ended long ago: its next failure starts from the base again.
    if (now >= entry.until + this.policy.maxMs) {
      this.entries.delete(address);
      return false;
    }
    return now < entry.until;
  }

  fail(address: string): number {
    const previous = this.entries.get(address);
    const failures = (previous?.failures ?? 0) + 1;
    const penalty = backoffDelay(failures, this.policy);
    this.entries.delete(address); // re-insert: Map order is our LRU order
    this.entries.set(address, { failures, until: this.now() + penalty });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return penalty;
  }

  forgive(address: string): void {
    this.entries.delete(address);
  }

  get size(): number {
    return this.entries.size;
  }
}

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

// Order matters: a penalised address is refused before its key is even compared; the key is checked before
// "busy" so that a second publisher learns nothing about the stream unless it holds the key.
export function decidePublish(attempt: PublishAttempt, state: GuardState, penalties: PenaltyBox): PublishDecision {
  if (penalties.blocked(attempt.address)) return { accept: false, reason: 'rate_limited' };
  if (attempt.app !== state.app) {
    penalties.fail(attempt.address);
    return { accept: false, reason: 'wrong_path' };
  }
  if (!state.keyMatches(attempt.name)) {
    penalties.fail(attempt.address);
    return { accept: false, reason: 'bad_key' };
  }
  if (state.busy) return { accept: false, reason: 'busy' };
  penalties.forgive(attempt.address);
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
