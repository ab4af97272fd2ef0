import { expect, it } from 'vitest';
import { bucketCount, bucketQuantile, parseBuckets } from './histogram.ts';

const scrape = (counts: [string, number][]) =>
  [
    '# HELP x_seconds help',
    '# TYPE x_seconds histogram',
    ...counts.map(([le, n]) => `x_seconds_bucket{le="${le}"} ${n}`),
    `x_seconds_sum 1.5`,
    `x_seconds_count ${counts.at(-1)?.[1] ?? 0}`,
    'x_seconds_other_bucket{le="1"} 99',
  ].join('\n');

it('bounds the quantiles of what was observed between two scrapes by the buckets they fell in', () => {
  const before = parseBuckets(
    scrape([
      ['0.1', 5],
      ['1', 5],
      ['5', 5],
      ['+Inf', 5],
    ]),
    'x_seconds',
  );
  // Then 100 more: 90 within 0.1 s, 6 within 1 s, 3 within 5 s, 1 beyond.
  const after = parseBuckets(
    scrape([
      ['0.1', 95],
      ['1', 101],
      ['5', 104],
      ['+Inf', 105],
    ]),
    'x_seconds',
  );
  expect(before.get(Infinity)).toBe(5);
  expect(bucketCount(before, after)).toBe(100);
  expect(bucketQuantile(before, after, 0.5)).toBe(0.1);
  expect(bucketQuantile(before, after, 0.9)).toBe(0.1);
  expect(bucketQuantile(before, after, 0.95)).toBe(1);
  expect(bucketQuantile(before, after, 0.99)).toBe(5);
  expect(bucketQuantile(before, after, 1)).toBe(Infinity);
});

it('has no quantile when nothing was observed, or the metric is absent', () => {
  const none = parseBuckets('y_seconds_bucket{le="1"} 3', 'x_seconds');
  expect(none.size).toBe(0);
  expect(bucketQuantile(none, none, 0.5)).toBeUndefined();
  const same = parseBuckets(
    scrape([
      ['1', 3],
      ['+Inf', 3],
    ]),
    'x_seconds',
  );
  expect(bucketQuantile(same, same, 0.95)).toBeUndefined();
});
