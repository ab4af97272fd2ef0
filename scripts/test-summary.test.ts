import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = await mkdtemp(path.join(tmpdir(), 'lso-summary-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const report = (results: object[], counts: { passed: number; failed: number }) => ({
  numPassedTests: counts.passed,
  numFailedTests: counts.failed,
  numPendingTests: 1,
  numTodoTests: 0,
  testResults: results,
});

async function summarize(...reports: (object | undefined)[]) {
  const files = await Promise.all(
    reports.map(async (r, i) => {
      const file = path.join(dir, `r${i}-${Math.random()}.json`);
      if (r !== undefined) await writeFile(file, JSON.stringify(r));
      return file;
    }),
  );
  return run(process.execPath, ['scripts/test-summary.ts', ...files]).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
  );
}

it('sums the reports and names each failed test with the head of its message, without colours or stack', async () => {
  const failed = {
    name: path.join(process.cwd(), 'test/e2e/x.e2e.test.ts'),
    status: 'failed',
    assertionResults: [
      { status: 'passed', fullName: 'a passes' },
      {
        status: 'failed',
        fullName: 'b waits',
        failureMessages: [
          '\u001b[31mError: timed out waiting for b\u001b[39m\n    at waitFor (wait-for.ts:31:13)\nlast: Idle',
        ],
      },
    ],
  };
  const broken = { name: '/abs/y.test.ts', status: 'failed', message: 'Cannot find module z', assertionResults: [] };
  const { code, stdout } = await summarize(
    report([failed], { passed: 1, failed: 1 }),
    report([broken], { passed: 2, failed: 0 }),
  );
  expect(code).toBe(1);
  const lines = stdout.trimEnd().split('\n');
  expect(lines.at(-1)).toBe('3 passed, 2 failed, 2 skipped');
  expect(stdout).toContain(
    'FAILED test/e2e/x.e2e.test.ts > b waits\n    Error: timed out waiting for b\n    last: Idle\n',
  );
  expect(stdout).toContain('Cannot find module z');
  expect(stdout).not.toContain('\u001b');
  expect(stdout).not.toContain('wait-for.ts:31');
});

it('counts a missing report as a failure and exits 0 only when nothing failed', async () => {
  expect((await summarize(undefined)).stdout.trimEnd()).toBe('0 passed, 1 failed, 0 skipped');
  const clean = await summarize(report([], { passed: 4, failed: 0 }));
  expect(clean).toEqual({ code: 0, stdout: '4 passed, 0 failed, 1 skipped\n' });
});
