// Per-address limits on refused attempts (publishes with a wrong key, wrong viewer passwords): a token bucket (pure)
// and the table of buckets by client address. Only refusals take a token, so a streamer whose encoder reconnects
// with a valid key is never slowed down (not even right after a typo), while guessing from one address runs dry after
// `burst` tries and then gets one try per `refillMs`. An empty bucket refuses before the secret is even looked at.
// The one limiter of the project: the gateway's RTMP ingest, the transcoder's ingest and the gateway's password form.

export interface BucketPolicy {
  burst: number; // tokens a fresh address has
  refillMs: number; // one token back per this many milliseconds
}

/** Ten refused tries a minute per address, after a burst of ten. */
export const defaultRefusalPolicy: BucketPolicy = { burst: 10, refillMs: 6_000 };

export interface Bucket {
  tokens: number;
  atMs: number; // when `tokens` was computed
}

/** The bucket as it is at `nowMs` (refilled, capped at the burst). */
export function refill(bucket: Bucket | undefined, nowMs: number, policy: BucketPolicy): Bucket {
  if (bucket === undefined) return { tokens: policy.burst, atMs: nowMs };
  const elapsed = Math.max(0, nowMs - bucket.atMs);
  return { tokens: Math.min(policy.burst, bucket.tokens + elapsed / policy.refillMs), atMs: nowMs };
}

/** Whether an attempt may go on at `nowMs`: a whole token is there. */
export function allows(bucket: Bucket | undefined, nowMs: number, policy: BucketPolicy): boolean {
  return refill(bucket, nowMs, policy).tokens >= 1;
}

/** The bucket after one refusal at `nowMs`. */
export function takeToken(bucket: Bucket | undefined, nowMs: number, policy: BucketPolicy): Bucket {
  const b = refill(bucket, nowMs, policy);
  return { tokens: Math.max(0, b.tokens - 1), atMs: nowMs };
}

/** The buckets by client address, bounded: full buckets are forgotten (they equal a fresh one). */
export class RefusalLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly policy: BucketPolicy;
  private readonly maxAddresses: number;

  constructor(policy: BucketPolicy, maxAddresses = 100_000) {
    this.policy = policy;
    this.maxAddresses = maxAddresses;
  }

  allows(address: string, nowMs: number): boolean {
    return allows(this.buckets.get(address), nowMs, this.policy);
  }

  refused(address: string, nowMs: number): void {
    if (this.buckets.size >= this.maxAddresses) this.prune(nowMs);
    this.buckets.set(address, takeToken(this.buckets.get(address), nowMs, this.policy));
  }

  get size(): number {
    return this.buckets.size;
  }

  prune(nowMs: number): void {
    for (const [address, bucket] of this.buckets) {
      if (refill(bucket, nowMs, this.policy).tokens >= this.policy.burst) this.buckets.delete(address);
    }
    // Still full (a flood from many addresses): forget the oldest half rather than grow without bound.
    if (this.buckets.size >= this.maxAddresses) {
      let n = Math.ceil(this.buckets.size / 2);
      for (const address of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(address);
      }
    }
  }
}
