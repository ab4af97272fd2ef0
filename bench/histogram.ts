// A Prometheus histogram read from two scrapes of /metrics: how many observations fell between them, and the
// quantiles histogram_quantile() would bound them by (the upper bound of the bucket a rank falls in, not
// interpolated: "at most").

/** Upper bound (`le`, +Inf as Infinity) -> cumulative count, of one unlabelled histogram. */
export type Buckets = ReadonlyMap<number, number>;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function parseBuckets(text: string, metric: string): Buckets {
  const line = new RegExp(`^${escape(metric)}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm');
  const buckets = new Map<number, number>();
  for (const [, le = '', count = ''] of text.matchAll(line)) {
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(count));
  }
  return buckets;
}

/** Observations between the two readings. */
export function bucketCount(before: Buckets, after: Buckets): number {
  return (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
}

/** The smallest bucket bound holding the q-quantile (0..1) of what was observed between the readings. */
export function bucketQuantile(before: Buckets, after: Buckets, q: number): number | undefined {
  const total = bucketCount(before, after);
  if (total <= 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  for (const le of [...after.keys()].sort((a, b) => a - b)) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= rank) return le;
  }
  return Infinity;
}
