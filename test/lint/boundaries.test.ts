// The import boundaries of eslint.boundaries.js bite: each forbidden import is an error at the place it is written,
// each allowed one is not. Linted with the very rule blocks eslint.config.js uses, on virtual files.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { boundaries } from '../../eslint.boundaries.js';

const eslint = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfigFile: true,
  overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, ...boundaries],
});

async function restricted(filePath: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport const y = x;\n`, { filePath });
  return (result?.messages ?? []).some((m) => m.ruleId === 'no-restricted-imports');
}

describe('import boundaries', () => {
  it.each([
    ['operator/src/controller/x.ts', '../../../transcoder/src/report/reporter.ts'],
    ['operator/src/x.ts', '../../gateway/src/routes.ts'],
    ['transcoder/src/session/x.ts', '../../../operator/src/api/index.ts'],
    ['contract/src/x.ts', '../operator/src/main.ts'],
    ['contract/src/api/x.ts', '../../../transcoder/src/main.ts'],
    ['operator/src/controller/x.ts', '../../../test/support/wait-for.ts'],
    ['transcoder/src/ladder/x.ts', '../../../bench/ladder.ts'],
    ['transcoder/src/x.ts', '../../hack/cluster/tools.ts'],
    ['operator/src/controller/x.test.ts', '../../../transcoder/src/report/reporter.ts'],
  ])('%s may not import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(true);
  });

  it.each([
    ['operator/src/controller/x.ts', '../../../contract/src/reports.ts'],
    ['operator/src/controller/x.ts', './status.ts'],
    ['transcoder/src/session/x.ts', '../../../contract/src/pod-contract.ts'],
    ['contract/src/api/x.ts', '../reports.ts'],
    ['operator/src/controller/x.int.test.ts', '../../../test/support/redis-process.ts'],
    ['test/contract/x.test.ts', '../../operator/src/controller/desired/index.ts'],
    ['bench/x.ts', '../transcoder/src/ladder/plan-ladder.ts'],
  ])('%s may import %s', async (file, specifier) => {
    expect(await restricted(file, specifier)).toBe(false);
  });
});
