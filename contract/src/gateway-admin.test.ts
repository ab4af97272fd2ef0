import { describe, expect, it } from 'vitest';
import { bearerToken, parseAdminToken, parseViewersAnswer, tokenMatches } from './gateway-admin.ts';

describe('gateway admin contract', () => {
  it('reads the token file without surrounding whitespace, refusing a short one', () => {
    expect(parseAdminToken(Buffer.from(`  ${'t'.repeat(32)}\n`))).toBe('t'.repeat(32));
    expect(() => parseAdminToken('short\n')).toThrow(/at least 32 characters/);
  });

  it('reads a bearer token and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer   abc ')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('compares tokens of any lengths', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abcd')).toBe(false);
    expect(tokenMatches('', 'abc')).toBe(false);
  });

  it('parses a viewers answer and refuses a malformed one naming the field', () => {
    const answer = {
      replica: 'gw-1',
      at: '2026-12-02T08:00:00Z',
      channels: [{ namespace: 'a', name: 'b', viewers: 3 }],
    };
    expect(parseViewersAnswer(answer)).toEqual(answer);
    const bad = { ...answer, channels: [{ namespace: 'a', name: 'b', viewers: -1 }] };
    expect(() => parseViewersAnswer(bad)).toThrow(/channels\.0\.viewers/);
    expect(() => parseViewersAnswer({ ...answer, channels: [{ namespace: 'A B', name: 'b', viewers: 1 }] })).toThrow(
      /channels\.0\.namespace/,
    );
    expect(() => parseViewersAnswer(null)).toThrow(/malformed/);
  });
});
