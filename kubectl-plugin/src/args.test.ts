import { describe, expect, it } from 'vitest';
import { UsageError, durationSeconds, helpText, parseArgs, positiveInt, rfc3339, type FlagSpec } from './args.ts';

const specs: FlagSpec[] = [
  { name: 'namespace', short: 'n', value: 'NS', help: 'ns' },
  { name: 'origin', value: 'URL', repeatable: true, help: 'o' },
  { name: 'all', help: 'a' },
];

describe('parseArgs', () => {
  it('takes --flag value, --flag=value, -n value, switches and positionals in any order', () => {
    const p = parseArgs(['x', '-n', 'team', '--origin=https://a', '--all', '--origin', 'https://b'], specs);
    expect(p.positionals).toEqual(['x']);
    expect(p.values.get('namespace')).toEqual(['team']);
    expect(p.values.get('origin')).toEqual(['https://a', 'https://b']);
    expect([...p.switches]).toEqual(['all']);
  });
  it('treats everything after -- as positionals', () => {
    expect(parseArgs(['--', '-n', 'x'], specs).positionals).toEqual(['-n', 'x']);
  });
  it.each([
    [['--bogus'], 'unknown flag: --bogus'],
    [['-x'], 'unknown flag: -x'],
    [['-n'], 'flag --namespace needs a value'],
    [['--namespace='], 'flag --namespace needs a value'],
    [['-n', 'a', '-n', 'b'], 'flag --namespace given twice'],
    [['--all=yes'], 'flag --all takes no value'],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseArgs(argv, specs)).toThrow(UsageError);
    expect(() => parseArgs(argv, specs)).toThrow(message);
  });
});

describe('values', () => {
  it.each([
    ['1h', 3600],
    ['10m', 600],
    ['1h30m', 5400],
    ['90s', 90],
    ['0s', 0],
  ])('duration %s is %d s', (text, s) => expect(durationSeconds(text, 'ttl')).toBe(s));
  it.each(['', '1d', '10', 'h', '1.5h', '-1m', '1m1h'])('duration %j is refused naming the flag', (text) => {
    expect(() => durationSeconds(text, 'ttl')).toThrow('--ttl must be a duration');
  });
  it('normalizes RFC 3339 times to UTC and refuses others', () => {
    expect(rfc3339('2026-12-01T10:00:00+01:00', 'from')).toBe('2026-12-01T09:00:00Z');
    expect(rfc3339('2026-12-01', 'from')).toBe('2026-12-01T00:00:00Z');
    for (const bad of ['yesterday', '2026-12-01T10:00:00', '12/01/2026', '2026-13-01T00:00:00Z']) {
      expect(() => rfc3339(bad, 'from')).toThrow('--from must be an RFC 3339 time');
    }
  });
  it('takes whole numbers in range only', () => {
    expect(positiveInt('50', 'limit', 500)).toBe(50);
    for (const bad of ['0', '501', '1.5', '-1', 'ten']) expect(() => positiveInt(bad, 'limit', 500)).toThrow('--limit');
  });
  it('aligns the help of the flags', () => {
    const text = helpText('kubectl livestream x', 'About.', specs);
    expect(text).toContain('  -n, --namespace NS  ns\n');
    expect(text).toContain('      --all           a\n');
  });
});
