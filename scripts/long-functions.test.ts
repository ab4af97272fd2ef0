import { expect, it } from 'vitest';
import { longFunctions } from './long-functions.ts';

const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');

it('lists functions over the limit with their name, line and length, and exempts one-template pages', () => {
  const text = [
    `export function short() {\n${body(3)}\n}`,
    `export function long() {\n${body(10)}\n}`,
    'export const arrow = () => {',
    body(12),
    '};',
    'export function page(title: string) {',
    '  return `<html>',
    ...Array.from({ length: 12 }, () => '<p>${title}</p>'),
    '</html>`;',
    '}',
  ].join('\n');
  expect(longFunctions('x.ts', text, 8)).toEqual([
    { file: 'x.ts', line: 6, name: 'long', lines: 12 },
    { file: 'x.ts', line: 18, name: 'arrow', lines: 14 },
  ]);
});
