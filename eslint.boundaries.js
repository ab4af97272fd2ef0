// Import boundaries (docs/architecture.md): the parts meet only through contract/. contract/ imports no part; a
// part imports contract/ and itself, never another part; shipped code (*/src, outside tests) never imports test
// support, benchmarks or the hack/ scripts. Regexes, because relative specifiers ('../../transcoder/src/x.ts') are
// what has to be matched. Exported for eslint.config.js and for the test that proves the rules bite.

const parts = ['operator', 'transcoder', 'gateway', 'kubectl-plugin'];
const notShipped = String.raw`(^|/)(test|bench|hack)/|(^|/)test-support/`;
const part = (name) => String.raw`(^|/)${name}/src(/|$)`;

const restrict = (regex, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ regex, message }] }],
});

/** The rule blocks, one per boundary. Later blocks do not override earlier ones for the same file: each has its own files. */
export const boundaries = [
  {
    name: 'boundaries/contract',
    files: ['contract/src/**/*.ts'],
    ignores: ['contract/src/**/*.test.ts'],
    rules: restrict(
      String.raw`${parts.map(part).join('|')}|${notShipped}`,
      'contract/ is imported by every part and imports none of them (nor test, bench or hack code).',
    ),
  },
  {
    name: 'boundaries/contract-tests',
    files: ['contract/src/**/*.test.ts'],
    rules: restrict(parts.map(part).join('|'), 'tests of contract/ may use test/support, but no part.'),
  },
  ...parts.map((name) => ({
    name: `boundaries/${name}`,
    files: [`${name}/src/**/*.ts`],
    ignores: [`${name}/src/**/*.test.ts`],
    rules: restrict(
      String.raw`${parts
        .filter((p) => p !== name)
        .map(part)
        .join('|')}|${notShipped}`,
      `${name}/src may import only contract/ and itself: parts meet through the contract, and shipped code never imports test, bench or hack code.`,
    ),
  })),
  ...parts.map((name) => ({
    // Tests beside the code may use test/support, but still not another part's code.
    name: `boundaries/${name}-tests`,
    files: [`${name}/src/**/*.test.ts`],
    rules: restrict(
      parts
        .filter((p) => p !== name)
        .map(part)
        .join('|'),
      `tests of ${name}/src may import contract/, ${name}/src and test/support, not another part: talk to it through the contract (reports, pod contract).`,
    ),
  })),
];
