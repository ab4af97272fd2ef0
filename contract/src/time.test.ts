import { expect, it } from 'vitest';
import { rfc3339 } from './time.ts';

it('drops the fraction of a second and keeps UTC', () => {
  expect(rfc3339(Date.UTC(2026, 11, 1, 21, 48, 1, 987))).toBe('2026-12-01T21:48:01Z');
  expect(rfc3339(new Date('2026-12-01T21:48:01.000Z'))).toBe('2026-12-01T21:48:01Z');
});
