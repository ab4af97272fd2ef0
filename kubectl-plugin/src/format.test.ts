import { describe, expect, it } from 'vitest';
import { bytes, figure, hms, outputFormat, serialized, table } from './format.ts';
import { parse } from 'yaml';

describe('table', () => {
  it('pads every column but the last to its widest cell, three spaces apart, like kubectl get', () => {
    expect(
      table(
        ['NAME', 'URL'],
        [
          ['a-long-name', 'x'],
          ['b', 'yy'],
        ],
      ),
    ).toBe('NAME          URL\na-long-name   x\nb             yy\n');
  });
  it('prints only the headers for no rows', () => {
    expect(table(['A', 'B'], [])).toBe('A   B\n');
  });
});

describe('figures', () => {
  it.each([
    [0, '0:00:00'],
    [59.6, '0:01:00'],
    [3599, '0:59:59'],
    [3600, '1:00:00'],
    [100 * 3600 + 61, '100:01:01'],
    [-5, '0:00:00'],
  ])('%d s is %s', (s, text) => expect(hms(s)).toBe(text));
  it.each([
    [0, '0B'],
    [1023, '1023B'],
    [1024, '1.0KiB'],
    [1536, '1.5KiB'],
    [10 * 1024 * 1024, '10MiB'],
    [3.25 * 1024 ** 3, '3.3GiB'],
    [2 * 1024 ** 6, '2048PiB'],
  ])('%d bytes is %s', (n, text) => expect(bytes(n)).toBe(text));
  it('prints counts without needless decimals', () => {
    expect([figure(12), figure(12.5), figure(1 / 3)]).toEqual(['12', '12.5', '0.33']);
  });
});

describe('output', () => {
  it('takes json and yaml, a table by default, and names the flag for anything else', () => {
    expect([outputFormat(undefined), outputFormat('json'), outputFormat('yaml')]).toEqual(['table', 'json', 'yaml']);
    expect(() => outputFormat('xml')).toThrow('--output must be json or yaml');
  });
  it('serializes the same object in both', () => {
    const doc = { a: 1, b: ['x'], c: { d: null } };
    expect(JSON.parse(serialized(doc, 'json')!)).toEqual(doc);
    expect(parse(serialized(doc, 'yaml')!)).toEqual(doc);
    expect(serialized(doc, 'table')).toBeUndefined();
  });
});
